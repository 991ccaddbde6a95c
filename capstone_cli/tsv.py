"""Streaming split of a caption/URL TSV into Pachyderm-1.x-style chunks.

Pachyderm 2.x removed `put file --split line --target-file-datums N`; this is its client-side
replacement. The file is read line by line (never whole: a 3.3M-line file in bounded memory) and
every N good lines become one chunk named `/<file name>/<%016x index>`, as 1.x named them, so
re-splitting the same file gives the same chunks and a re-upload changes nothing. Malformed
lines are reported with their line numbers and skipped (or fail the split with `strict`).

Memory stays bounded whatever the file holds: a line is read at most `MAX_LINE + 1` bytes at a
time, and the rest of an over-long line (a 10 MB line, a binary file without newlines) is
skipped in small reads and reported as malformed, never loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from capstone_cli.engine.names import clean_file_path
from capstone_cli.errors import InputError
from capstone_cli.protocol.tsv_line import MAX_LINE, parse_line
from capstone_cli.results import Upload

_SKIP_READ = 1 << 16  # the rest of an over-long line is skipped this many bytes at a time
SCHEMES = ("", "file", "http", "https")  # what the images stage can fetch


@dataclass
class SplitReport:
    """What the split saw: counts and the malformed lines (number, reason)."""

    lines: int = 0
    good: int = 0
    chunks: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)
    local_paths: int = 0


def check_line(raw: bytes) -> tuple[str, str] | str:
    """(caption, url) of a good line, or the reason it is malformed: the shared line rule
    (`capstone_cli.protocol.tsv_line`), plus a URL the images stage can fetch."""
    parsed = parse_line(raw)
    if isinstance(parsed, str):
        return parsed
    url = parsed[1]
    try:
        scheme = _scheme(url)
    except ValueError as exc:  # e.g. "http://[::1" (an unclosed IPv6 host)
        return f"malformed URL ({exc})"
    if scheme not in SCHEMES:
        return f"unsupported URL scheme {scheme!r} (use http(s) or a local path)"
    return parsed


def _scheme(url: str) -> str:
    """The URL's scheme, lower case ("" for a path); raises ValueError for a malformed URL.

    The common http(s) case skips `urlsplit` (2 us a line: 7 s of a 3.3M-line split); only
    brackets (an IPv6 host) can make an http(s) URL malformed for `urlsplit`.
    """
    if url.startswith("/"):
        return ""
    head = url[:8].lower()
    if "[" not in url and "]" not in url:
        if head.startswith("https://"):
            return "https"
        if head.startswith("http://"):
            return "http"
    return urlsplit(url).scheme.lower()


def read_lines(f: BinaryIO) -> Iterator[bytes]:
    """The file's lines, each cut at `MAX_LINE + 1` bytes (so `check_line` rejects it as too
    long) with the rest of an over-long line read and dropped in small pieces."""
    while raw := f.readline(MAX_LINE + 1):
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := f.readline(_SKIP_READ)) and not rest.endswith(b"\n"):
                pass
        yield raw


def is_local(url: str) -> bool:
    return _scheme(url) in ("", "file")


def split_tsv(
    path: Path,
    *,
    lines_per_chunk: int = 5,
    strict: bool = False,
    local_root: Path | None = None,
    allow_local: bool = True,
    report: SplitReport | None = None,
) -> Iterator[Upload]:
    """Yield one Upload per chunk; fills `report` as it goes.

    Relative local image paths are rewritten to absolute paths under `local_root` (the TSV's
    folder) so the embedded engine's workers find them; a local path leading outside
    `local_root` is a `forbidden_path` line (a TSV must not publish any file of the disk). With
    `allow_local=False` (a cluster, which cannot read this machine's disk) a local path is an
    error.
    """
    if lines_per_chunk < 1:
        raise InputError("--lines-per-datum must be at least 1", hint="use e.g. 5")
    if path.is_dir():
        raise InputError(
            f"{path} is a directory, not a TSV file", hint="give the caption<TAB>url file itself"
        )
    if not path.is_file():
        if path.exists():  # /dev/zero, a FIFO: reading one could block or never end
            raise InputError(
                f"{path} is not a regular file (a device, FIFO or socket)",
                hint="give the caption<TAB>url file itself",
            )
        raise InputError(f"{path}: no such file", hint="check the path of the TSV")
    report = report if report is not None else SplitReport()
    name = clean_file_path(path.name).lstrip("/")
    buffer: list[bytes] = []
    with path.open("rb") as f:
        for number, raw in enumerate(read_lines(f), start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            report.lines += 1
            if not raw.strip(b"\r\n"):
                continue
            checked = _cr_only(raw) or check_line(raw)
            if isinstance(checked, str):
                if strict:
                    raise InputError(
                        f"{path}:{number}: malformed line: {checked}",
                        hint="fix the line, or drop --strict to skip such lines",
                    )
                report.malformed.append((number, checked))
                continue
            caption, url = checked
            if is_local(url):
                report.local_paths += 1
                if not allow_local:
                    raise InputError(
                        f"{path}:{number}: local image path {url!r} cannot be read by a cluster",
                        hint="use http(s) URLs on the pachyderm backend, or train with "
                        "--backend embedded",
                    )
                root = (local_root or path.parent).resolve()
                url = _absolute(url, root)
                if not _inside(url, root):  # /etc/shadow, ../../secret
                    reason = f"forbidden_path: {url} is outside {root}"
                    if strict:
                        raise InputError(
                            f"{path}:{number}: {reason}",
                            hint="keep images under the TSV's folder, or name their root with"
                            " --local-root",
                        )
                    report.malformed.append((number, reason))
                    continue
            buffer.append(f"{caption}\t{url}\n".encode())
            report.good += 1
            if len(buffer) == lines_per_chunk:
                yield _chunk(name, report.chunks, buffer)
                report.chunks += 1
                buffer = []
    if buffer:
        yield _chunk(name, report.chunks, buffer)
        report.chunks += 1
    if report.lines == 0:
        raise InputError(
            f"{path} is empty: no usable caption<TAB>url lines",
            hint="give a file with one caption, a tab and one URL per line",
        )
    if report.good == 0:
        raise InputError(
            f"{path} has no usable caption<TAB>url lines",
            hint="check the file format: one caption, a tab, one URL per line",
        )


def _cr_only(raw: bytes) -> str | None:
    """The reason for a line holding carriage returns inside it: CR-only line endings (classic
    Mac OS) make the whole file one line, which would otherwise read as "N columns"."""
    if b"\r" in raw.rstrip(b"\r\n"):
        return (
            "a carriage return inside the line: the file has CR-only line endings (convert to LF)"
        )
    return None


def _absolute(url: str, root: Path) -> str:
    local = url[len("file://") :] if url.startswith("file://") else url
    return os.path.normpath(root / local) if not os.path.isabs(local) else local


def _inside(local: str, root: Path) -> bool:
    """Whether the (normalised) path `local` lies under `root`.

    Lexical on purpose: what the TSV names is checked, not where the user's own symlinks in
    that folder lead (an `images` link to a dataset disk is the user's choice, not the TSV's).
    """
    return local == str(root) or local.startswith(str(root).rstrip(os.sep) + os.sep)


def _chunk(name: str, index: int, lines: list[bytes]) -> Upload:
    return Upload(f"/{name}/{index:016x}", data=b"".join(lines))

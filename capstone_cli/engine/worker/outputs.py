"""Collecting a datum's `/pfs/out` the way Pachyderm's worker uploads it.

Regular files are stored as they are. A symlink is stored as what it points to (a directory:
every file below it), as `handleSymlinks` in Pachyderm's `worker/datum/datum.go` does, with
its rules:
- a symlink into an input is stored with the input file's REAL contents, also when the input
  has `empty_files` (the file the process saw was empty) or `lazy`: this is how the `shuffle`
  pattern moves files without reading them;
- a symlink into `/pfs` whose first component is not an input (e.g. into `/pfs/out` itself, or
  a name no input has) fails the datum ("could not find input"), and so does a symlink whose
  target does not exist;
- a symlink elsewhere (e.g. `/tmp/x`) is stored with that file's contents.
Empty directories and FIFOs are not stored. A name Pachyderm would refuse fails the datum.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.engine.names import clean_file_path
from capstone_cli.errors import InvalidNameError


@dataclass(frozen=True)
class StoredBlob:
    """An output whose contents are already in the store (a symlink to an `empty_files` input)."""

    digest: bytes
    size: int


Output = tuple[str, "Path | StoredBlob"]


@dataclass(frozen=True)
class DatumView:
    """What a datum's process saw: its scratch root, the path it knew it by (`/pfs`, or the
    root itself when rewriting), its inputs' names, and the store blobs of its placeholder
    (`empty_files`) inputs by root-relative path."""

    root: Path
    pfs: Path
    inputs: frozenset[str] = frozenset()
    placeholders: Mapping[str, tuple[bytes, int]] | None = None


class OutputError(InvalidNameError):
    """An output Pachyderm's worker would refuse; it fails the datum."""


_MAX_DEPTH = 256  # a symlink loop ends here (os.walk would stop at ELOOP/ENAMETOOLONG)


def collect_outputs(out: Path, view: DatumView | None = None) -> list[Output]:
    """(repo path, local file or stored blob) for every file under `out`, sorted by path."""
    found: list[Output] = []
    _collect(str(out), "", found, 0, view, False)
    found.sort(key=lambda item: item[0])
    return found


def _collect(
    directory: str,
    prefix: str,
    found: list[Output],
    depth: int,
    view: DatumView | None,
    linked: bool,
) -> None:
    """`linked`: `directory` was reached through a symlink (only then are paths resolved)."""
    try:
        with os.scandir(directory) as entries:
            listed = list(entries)
    except OSError:
        return  # not a directory (any more), or unreadable: os.walk skips it too
    for entry in listed:
        rel = prefix + "/" + entry.name
        link = entry.is_symlink()
        local = entry.path
        if link:  # followed, as handleSymlinks' walk of the target
            _check_link(local, rel, view)
            if view is not None and view.pfs != view.root:  # `/pfs` the runner may not see
                local = _resolve(local, view)
                if (_resolve(directory, view) + "/").startswith(local + "/"):
                    continue  # a link to a directory it is in: a loop
        try:
            if entry.is_dir() if not link else os.path.isdir(local):
                if depth < _MAX_DEPTH:
                    _collect(local, rel, found, depth + 1, view, linked or link)
                continue
            if not (entry.is_file() if not link else os.path.isfile(local)):
                continue  # FIFO, socket, device
        except OSError:
            continue
        try:
            path = clean_file_path(rel)
        except InvalidNameError as exc:
            raise OutputError(
                f"cannot upload file produced by the user code: {exc.message}", hint=exc.hint
            ) from exc
        found.append((path, _source(local, view) if linked or link else Path(local)))


def _check_link(link: str, rel: str, view: DatumView | None) -> None:
    """Pachyderm's refusals for a symlink in the output: dangling, or into `/pfs` but not
    into an input."""
    target = os.path.join(os.path.dirname(link), os.readlink(link))
    if not os.path.exists(_resolve(target, view)):
        raise OutputError(
            f"output {rel} is a symlink to {os.readlink(link)}, which does not exist",
            hint="a symlink in /pfs/out must point to an existing file",
        )
    if view is None:
        return
    inner = _under(os.path.normpath(target), view)
    if inner is not None and inner.split("/", 1)[0] not in view.inputs:
        raise OutputError(
            f"output {rel} is a symlink to {os.readlink(link)}: could not find input "
            f"{inner.split('/', 1)[0]!r}",
            hint="a symlink into /pfs must point into one of the datum's inputs",
        )


def _under(path: str, view: DatumView) -> str | None:
    """`path` relative to the datum's `/pfs` (as the process or the runner names it), else None."""
    for base in {str(view.pfs), str(view.root)}:
        if path.startswith(base + "/"):
            return path[len(base) + 1 :]
    return None


def _source(path: str, view: DatumView | None) -> Path | StoredBlob:
    """The file to store: real contents behind placeholders; root paths, not `/pfs` ones (the
    runner may read it after `/pfs` shows the next datum)."""
    if view is None:
        return Path(path)
    real = _resolve(path, view)
    inner = _under(real, view)
    if inner is None:
        return Path(real)
    if view.placeholders and inner in view.placeholders:
        digest, size = view.placeholders[inner]
        return StoredBlob(digest, size)
    return view.root / inner


_MAX_LINKS = 40  # symlinks followed in one resolution, as Linux's ELOOP limit


def _resolve(path: str, view: DatumView | None) -> str:
    """`os.path.realpath(path)`, reading `/pfs` in symlink targets as the scratch root: a
    process under PRoot writes `/pfs/...` targets that only it can see (in the other modes the
    runner sees the same files either way)."""
    if view is None or view.pfs == view.root:
        return os.path.realpath(path)
    pending = _host(os.path.abspath(path), view).split("/")
    resolved = "/"
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a symlink, or missing: kept as it is, as realpath does
            resolved = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            return os.path.join(candidate, *pending)
        pending = _host(os.path.join(resolved, target), view).split("/") + pending
        resolved = "/"
    return resolved


def _host(path: str, view: DatumView) -> str:
    """`path` with a leading `/pfs` (as the process names it) replaced by the scratch root."""
    pfs = str(view.pfs)
    if path == pfs or path.startswith(pfs + "/"):
        return str(view.root) + path[len(pfs) :]
    return path

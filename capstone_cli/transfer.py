"""Moving files between the local disk and a backend: `put` sources and safe `get`.

`collect_uploads` turns local files and directories into repo paths (directories recursively,
keeping their relative layout under the target path, as `pachctl put file -r` does) and checks
every name before anything is sent. `download` writes only inside its destination: each target
is resolved and refused if it would land outside (a `..` or a symlinked directory), and every
file is written to a temporary name and renamed, so an interrupted `get` leaves no half file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.backends.base import Backend
from capstone_cli.engine.names import clean_file_path
from capstone_cli.errors import InputError, UsageError
from capstone_cli.results import Upload


@dataclass(frozen=True)
class UploadPlan:
    uploads: list[Upload]
    total_bytes: int


def plan_uploads(sources: Sequence[Path], target: str, *, sizes: bool = True) -> UploadPlan:
    """Map local `sources` to repo paths under `target`; validates everything first.

    A single file with a target that does not end in `/` is written AT the target path; other
    files go INTO the target directory under their own names; a directory's contents go
    under the target, keeping their tree (as `pachctl put file -r repo@b:/path -f dir/`).
    """
    if not sources:
        raise UsageError("nothing to put", hint="name at least one file or directory")
    target = target or "/"
    into_dir = target.endswith("/") or len(sources) > 1 or any(s.is_dir() for s in sources)
    base = clean_file_path(target)
    uploads: list[Upload] = []
    total = 0
    for src in sources:
        if not src.exists():
            raise InputError(
                f"{src}: no such file or directory", hint="check the path; nothing was uploaded"
            )
        if src.is_dir():
            for rel, file in _walk(src):
                uploads.append(Upload(clean_file_path(_join(base, rel)), source=Path(file)))
        elif src.is_file():
            dest = _join(base, src.name) if into_dir or base == "/" else base
            uploads.append(Upload(clean_file_path(dest), source=src))
        else:
            raise InputError(
                f"{src}: not a regular file or directory",
                hint="put regular files or directories only",
            )
    if sizes:  # only for a progress bar: a stat per file
        total = sum(os.stat(up.source).st_size for up in uploads if up.source is not None)
    return UploadPlan(uploads, total)


def _walk(root: str | Path, rel: str = "") -> Iterator[tuple[str, str]]:
    """(relative posix path, path) of regular files under `root`, sorted; symlinked
    directories are not followed (symlinked files are read as their target)."""
    with os.scandir(root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, name)
        elif entry.is_file():
            yield name, entry.path


def _join(*parts: str) -> str:
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


def download(backend: Backend, repo: str, ref: str, path: str, dest: Path) -> list[Path]:
    """Copy a file or a directory tree from the repo to `dest`; returns files written.

    Every target is checked before the first byte is written, so a refused download (a target
    outside `dest`, a symlink, a file where a directory is needed) writes nothing at all.
    """
    entries = list(backend.walk_files(repo, ref, path))
    if not entries:
        # an empty result: either a missing path (list_files raises) or an empty repo
        backend.list_files(repo, ref, path)
        return []
    single = len(entries) == 1 and entries[0].path == path
    if single:
        target = dest / Path(path).name if dest.is_dir() else dest
        _check_parent(target.parent)
        _check_target(target)
        _write_atomic(backend, repo, ref, path, target)
        return [target]
    if dest.exists() and not dest.is_dir():
        raise UsageError(
            f"{dest} is a file but {repo}@{ref}:{path} is a directory",
            hint="give -o a directory, or a path that does not exist yet",
        )
    root = dest.resolve()
    prefix = "" if path == "/" else path
    plan: list[tuple[str, Path]] = []
    for entry in entries:
        target = dest / entry.path[len(prefix) :].lstrip("/")
        resolved_parent = target.parent.resolve()
        if resolved_parent != root and root not in resolved_parent.parents:
            raise UsageError(
                f"refusing to write {entry.path} outside {dest}; nothing was written",
                hint="choose a destination without symlinked directories",
            )
        _check_target(target)
        folder = target.parent
        while folder != dest and dest in folder.parents:
            if folder.exists() and not folder.is_dir():
                raise UsageError(
                    f"cannot write {entry.path}: {folder} is a file; nothing was written",
                    hint="remove it or choose another destination",
                )
            folder = folder.parent
        plan.append((entry.path, target))
    written: list[Path] = []
    for repo_path, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(backend, repo, ref, repo_path, target)
        written.append(target)
    return written


def _check_parent(parent: Path) -> None:
    if not parent.exists():
        raise UsageError(
            f"destination directory {parent} does not exist",
            hint="create it first or choose another -o path",
        )


def _check_target(target: Path) -> None:
    """A file may replace a regular file, never a symlink (it could point anywhere) or a dir."""
    if target.is_symlink():
        raise UsageError(
            f"refusing to overwrite the symlink {target}",
            hint="remove it or choose another destination",
        )
    if target.is_dir():
        raise UsageError(
            f"cannot write a file over the directory {target}",
            hint="remove it or choose another destination",
        )


def _write_atomic(backend: Backend, repo: str, ref: str, path: str, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".capstone-get-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in backend.read_file(repo, ref, path):
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

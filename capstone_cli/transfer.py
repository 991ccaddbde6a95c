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


def plan_uploads(
    sources: Sequence[Path], target: str, *, sizes: bool = True, follow_symlinks: bool = False
) -> UploadPlan:
    """Map local `sources` to repo paths under `target`; validates everything first.

    A single file with a target that does not end in `/` is written AT the target path; other
    files go INTO the target directory under their own names; a directory's contents go
    under the target, keeping their tree (as `pachctl put file -r repo@b:/path -f dir/`).
    Two local files never land on one repo path (one would silently replace the other), and a
    symlink inside a directory that leads outside it is refused unless `follow_symlinks`.
    """
    if not sources:
        raise UsageError("nothing to put", hint="name at least one file or directory")
    target = target or "/"
    into_dir = target.endswith("/") or len(sources) > 1 or any(s.is_dir() for s in sources)
    base = clean_file_path(target)
    uploads: list[Upload] = []
    origin: dict[str, str] = {}  # repo path -> the local file it came from
    total = 0
    for src in sources:
        if not src.exists():
            raise InputError(
                f"{src}: no such file or directory", hint="check the path; nothing was uploaded"
            )
        if src.is_dir():
            pairs = [(_join(base, rel), file) for rel, file in _walk(src, follow_symlinks)]
        elif src.is_file():
            pairs = [(_join(base, src.name) if into_dir or base == "/" else base, str(src))]
        else:
            raise InputError(
                f"{src}: not a regular file or directory",
                hint="put regular files or directories only",
            )
        for dest, file in pairs:
            path = clean_file_path(dest)
            if path in origin:
                raise InputError(
                    f"{origin[path]} and {file} would both be stored as {path}; nothing was"
                    " uploaded",
                    hint="rename one of them, or put them under different paths",
                )
            origin[path] = file
            uploads.append(Upload(path, source=Path(file)))
    if sizes:  # only for a progress bar: a stat per file
        total = sum(os.stat(up.source).st_size for up in uploads if up.source is not None)
    return UploadPlan(uploads, total)


def _walk(root: Path, follow_symlinks: bool) -> Iterator[tuple[str, str]]:
    """(relative posix path, path) of regular files under `root`, in name order.

    Iterative (a tree thousands of levels deep is walked like a flat one). A symlink whose
    target is inside `root` is read as its target (a symlinked directory is not followed);
    one leading outside is refused, or followed with `follow_symlinks` (each real directory
    once, so a link loop ends).
    """
    real_root = os.path.realpath(root)
    seen = {real_root}
    stack: list[Iterator[tuple[str, os.DirEntry[str]]]] = [_entries(root, "")]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        name, entry = item
        if entry.is_symlink():
            real = os.path.realpath(entry.path)
            inside = real == real_root or real.startswith(real_root + os.sep)
            if not inside and not follow_symlinks:
                raise InputError(
                    f"{entry.path} is a symlink to {real}, outside {root}; nothing was uploaded",
                    hint="remove the link, or pass --follow-symlinks to upload what it points to",
                )
            if os.path.isdir(real):
                if not inside and real not in seen:
                    seen.add(real)
                    stack.append(_entries(Path(entry.path), name))
                continue
        elif entry.is_dir(follow_symlinks=False):
            stack.append(_entries(Path(entry.path), name))
            continue
        if entry.is_file():
            yield name, entry.path


def _entries(folder: Path, rel: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        yield (f"{rel}/{entry.name}" if rel else entry.name), entry


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
        folder = dest
        for part in target.relative_to(dest).parts[:-1]:  # linear in the depth, not quadratic
            folder = folder / part
            if folder.exists() and not folder.is_dir():
                raise UsageError(
                    f"cannot write {entry.path}: {folder} is a file; nothing was written",
                    hint="remove it or choose another destination",
                )
        plan.append((entry.path, target))
    written: list[Path] = []
    for repo_path, target in plan:
        _make_dirs(target.parent)
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
    """A file may replace a regular file, never a symlink (it could point anywhere), a
    directory, or a FIFO, device or socket (replacing one would break what uses it)."""
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
    if target.exists() and not target.is_file():
        raise UsageError(
            f"refusing to replace {target}: it is not a regular file (a FIFO, device or socket)",
            hint="give -o a regular file, a directory or a new path",
        )


def _make_dirs(folder: Path) -> None:
    """`mkdir -p` without recursion (pathlib's recurses once per missing level)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)


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

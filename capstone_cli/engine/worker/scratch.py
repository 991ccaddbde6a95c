"""Scratch directories laid out like Pachyderm's `/pfs`, and collecting `/pfs/out`.

A datum's scratch root holds `<input name>/<full repo path>` for each input file and an empty
`out/`. Large blobs are hard-linked (after making the blob file read-only), never copied, except
when running as root: root ignores permission bits, so a worker could then write through the
link into the store, and the blob is copied instead. Small blobs live in SQLite and are written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from capstone_cli.engine.datums.listing import Datum
from capstone_cli.engine.store.blobs import INLINE_MAX
from capstone_cli.engine.store.records import Commit
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.orphans import kill_orphans
from capstone_cli.engine.worker.outputs import DatumView

_PFS = re.compile(r"(^|[\s\"'=:(,])/pfs(?=$|[/\s\"';),])")
_LINK_SAFE = os.geteuid() != 0 if hasattr(os, "geteuid") else True
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def rewrite_pfs(text: str, root: Path) -> str:
    """Rewrite every path that starts with `/pfs` (at the start of a word) to `root`."""
    return _PFS.sub(lambda m: m.group(1) + str(root), text)


def scratch_base(home: Path) -> Path:
    return home / "scratch"


def clean_orphans(home: Path) -> int:
    """Remove scratch dirs left by killed runs (call with the run lock held), after killing
    the worker processes recorded in them that still run (`orphans`); returns the dirs."""
    base = scratch_base(home)
    if not base.is_dir():
        return 0
    children = list(base.iterdir())
    kill_orphans(c for c in children if c.is_dir() and not c.is_symlink())
    for child in children:
        remove_tree(child)
    return len(children)


def remove_tree(path: Path) -> None:
    """`rm -rf` that also removes read-only entries and tolerates absence.

    Iterative: shutil.rmtree recurses once per level, so a tree deeper than Python's recursion
    limit (a datum's input 1,100 directories deep) would stop it with RecursionError.
    """
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    pending, found = [str(path)], []
    while pending:
        folder = pending.pop()
        found.append(folder)
        _retry_writable(folder, partial(_scan_into, folder, pending))
    for folder in reversed(found):  # children before their parents
        _retry_writable(os.path.dirname(folder), partial(os.rmdir, folder))


def _scan_into(folder: str, pending: list[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                _retry_writable(folder, partial(os.unlink, entry.path))


def _retry_writable(folder: str, action: Callable[[], object]) -> None:
    """Run `action`; on failure make `folder` writable and try once more, then give up."""
    for attempt in range(2):
        try:
            action()
            return
        except FileNotFoundError:
            return
        except OSError:
            if attempt == 0:
                try:
                    os.chmod(folder, stat.S_IRWXU)
                except OSError:
                    return


def _place_blob(store: Store, digest: bytes, size: int, dest: Path) -> None:
    if size <= INLINE_MAX:  # packed in SQLite: one query, no file to link
        _write_new(dest, store.blobs.read(digest))
        return
    blob_path = store.blobs.file_path(digest)
    if blob_path is None:
        _write_new(dest, store.blobs.read(digest))
        return
    if _LINK_SAFE:
        mode = blob_path.stat().st_mode
        if mode & 0o222:
            os.chmod(blob_path, 0o444)
        try:
            os.link(blob_path, dest)
            return
        except OSError:
            pass
    shutil.copyfile(blob_path, dest)


def _write_new(dest: Path, data: bytes) -> None:
    """Write a small file with raw system calls (pathlib/io cost ~3x more per datum)."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


@dataclass
class Download:
    bytes: int
    seconds: float


class ScratchRoot:
    """A slot's fixed `/pfs` stand-in, re-populated for each datum.

    Creating and removing directories costs ~0.3-0.5 ms each on this machine's ext4, several
    times a `fork+exec`, so a root lives as long as its worker slot: between datums only the
    files are replaced, `out/` is emptied, and only directories the next datum does not need
    are removed (a datum never sees another datum's inputs, not even as empty directories).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        remove_tree(path)
        (path / "out").mkdir(parents=True)
        self.dirs: set[str] = set()
        self.files: list[Path] = []
        self.inputs: frozenset[str] = frozenset()
        # root-relative path -> (digest, size) of each `empty_files` placeholder
        self.placeholders: dict[str, tuple[bytes, int]] = {}
        self._commits: dict[int, Commit] = {}  # a job's input commits are fixed

    def populate(
        self, store: Store, datum: Datum, commits: dict[tuple[str, str], int | None]
    ) -> Download:
        """Lay out the datum's inputs under `<root>/<name>/<repo path>` and an empty `out/`."""
        t0 = time.perf_counter()
        dirs: set[str] = set()
        files: list[tuple[str, bytes, int, bool]] = []
        for inp in datum.inputs:
            dirs.add(inp.name)
            rowid = commits.get((inp.repo, inp.branch))
            if inp.s3 or rowid is None:
                continue
            commit = self._commits.get(rowid)
            if commit is None:
                commit = self._commits[rowid] = store.commit_by_rowid(rowid)
            if inp.file.is_dir:
                dirs.update(_ancestors(inp.name + inp.file.path.rstrip("/")))
            for path, digest, size in _input_files(store, commit, inp.file.path, inp.file.is_dir):
                rel = inp.name + path
                dirs.update(_ancestors(rel.rsplit("/", 1)[0]))
                files.append((rel, digest, size, inp.empty_files))
        for old in self.files:
            old.unlink(missing_ok=True)
        for stale in sorted(self.dirs - dirs, key=len, reverse=True):
            remove_tree(self.path / stale)
        for new in sorted(dirs - self.dirs, key=len):
            (self.path / new).mkdir(exist_ok=True)
        self.dirs = dirs
        self.files = []
        self.inputs = frozenset(inp.name for inp in datum.inputs)
        self.placeholders = {}
        total = 0
        seen: set[str] = set()
        for rel, digest, size, empty in files:
            if rel in seen:
                continue  # group datums may name the same file twice
            seen.add(rel)
            dest = self.path / rel
            if empty:
                dest.touch()
                self.placeholders[rel] = (digest, size)
            else:
                _place_blob(store, digest, size, dest)
                total += size
            self.files.append(dest)
        out = self.path / "out"
        with os.scandir(out) as entries:
            for entry in entries:
                remove_tree(Path(entry.path))
        return Download(total, time.perf_counter() - t0)

    def view(self, pfs: Path) -> DatumView:
        """The populated datum as its process saw it, `/pfs` being `pfs` (for its outputs)."""
        return DatumView(self.path, pfs, self.inputs, self.placeholders)

    def close(self) -> None:
        remove_tree(self.path)


def _input_files(
    store: Store, commit: Commit, path: str, is_dir: bool
) -> list[tuple[str, bytes, int]]:
    """(path, digest, size) of the files of one datum input: a file is one primary-key lookup
    (most datums are one file, and a range scan per datum made a job quadratic)."""
    if not is_dir:
        row = store.file_row(commit, path)
        if row is not None:
            return [(path, row[0], row[1])]
    return [(p, digest, size) for p, digest, size, _d in store.iter_files(commit, path)]


def _ancestors(rel: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`, `a/b/c`] (relative directory paths)."""
    parts = rel.strip("/").split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts)) if parts[i]]

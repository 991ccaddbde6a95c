"""An in-memory `FileSource`: repos of files held in Python objects, one branch each.

Datum computation only needs "every file and directory of a branch head, in path order" (the
`FileSource` protocol of `inputs.py`). Tests, benchmarks and `capstone datums` dry runs want that
without a store on disk, so this builds it from plain `{repo: {path: bytes}}` data, deriving the
directories and their hashes the way `inputs.FileInfo` documents (file: sha256 of the content;
directory: sha256 over its children's hashes in path order, names not included; size: sum).

It is built for size, since the benchmark holds millions of files: paths, hashes and sizes are kept
in parallel lists (equal contents share one hash string), and `FileInfo` records are made only
while walking. `walk_to_depth` lets datum listing skip everything below the deepest level a glob
can match.
"""

from __future__ import annotations

import hashlib
import itertools
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from capstone_cli.engine.datums.glob import clean_path
from capstone_cli.engine.inputs import FileInfo
from capstone_cli.errors import NotFoundError

__all__ = ["MemorySource", "path_depth"]

FileData = Mapping[str, bytes] | Iterable[tuple[str, bytes]]


def path_depth(path: str) -> int:
    """Segments in a repo path: `/` is 0, `/a` and `/a/` are 1, `/a/b` is 2."""
    return path.rstrip("/").count("/")


@dataclass
class _Branch:
    """One branch head, stored compactly: every entry (dirs end with `/`) in path order.

    Entry `i` is `text[offsets[i]:offsets[i + 1]]`, its hash `hash_table[hash_index[i]]` and its
    size `sizes[i]`: a few bytes per entry instead of a Python object or two.
    """

    commit: str | None
    text: str
    offsets: array[int]
    hash_table: list[str]
    hash_index: array[int]
    sizes: array[int]
    depths: bytes  # per entry, capped at 255
    by_depth: dict[int, array[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sizes)

    def indices_to_depth(self, max_depth: int) -> array[int]:
        """Positions of the entries no deeper than `max_depth` (cached: built once per depth)."""
        cached = self.by_depth.get(max_depth)
        if cached is None:
            keep = bytes(1 if depth <= max_depth else 0 for depth in range(256))
            cached = array("L", itertools.compress(range(len(self)), self.depths.translate(keep)))
            self.by_depth[max_depth] = cached
        return cached


class _OutOfOrder(Exception):
    """The files did not arrive in path order: the builder falls back to sorting them."""


class _Builder:
    """Builds a `_Branch` from files arriving in path order, in one streaming pass.

    Directories are inserted just before their first file, as Pachyderm's `dirInserter` does;
    entries under a directory are contiguous in path order, so a directory is complete (and its
    hash known) when the next file is not under it. Nothing per file is kept but a few array
    slots, so millions of files fit in little memory.
    """

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pending: list[str] = []
        self.offsets = array("Q", [0])
        self.hash_table: dict[str, int] = {}
        self.hash_index = array("L")
        self.sizes = array("q")
        self.depths = bytearray()
        self.last_file = ""
        # open directories: (path, entry index, hasher over children's hashes, [size])
        self.stack: list[tuple[str, int, hashlib._Hash, list[int]]] = []
        self._open_dir("/")

    def _append(self, path: str, digest: str, size: int) -> int:
        self.pending.append(path)
        if len(self.pending) >= 4096:
            self.chunks.append("".join(self.pending))
            self.pending.clear()
        self.offsets.append(self.offsets[-1] + len(path))
        self.hash_index.append(self.hash_table.setdefault(digest, len(self.hash_table)))
        self.sizes.append(size)
        self.depths.append(min(len(self.stack), 255))  # open dirs = ancestors, root included
        return len(self.sizes) - 1

    def _open_dir(self, path: str) -> None:
        index = self._append(path, "", 0)
        self.stack.append((path, index, hashlib.sha256(), [0]))

    def _close_dir(self) -> None:
        _, index, hasher, size = self.stack.pop()
        digest = hasher.hexdigest()
        self.hash_index[index] = self.hash_table.setdefault(digest, len(self.hash_table))
        self.sizes[index] = size[0]
        if self.stack:
            self.stack[-1][2].update(digest.encode())
            self.stack[-1][3][0] += size[0]

    def add_file(self, path: str, digest: str, size: int) -> None:
        if path <= self.last_file:
            if path == self.last_file:
                raise ValueError(f"duplicate file path {path}")
            raise _OutOfOrder
        self.last_file = path
        while not path.startswith(self.stack[-1][0]):
            self._close_dir()
        start = len(self.stack[-1][0])
        while (slash := path.find("/", start)) >= 0:
            self._open_dir(path[: slash + 1])
            start = slash + 1
        self._append(path, digest, size)
        self.stack[-1][2].update(digest.encode())
        self.stack[-1][3][0] += size

    def files(self) -> list[tuple[str, str, int]]:
        """The files added so far (to restart in sorted order)."""
        text = "".join(self.chunks) + "".join(self.pending)
        table = list(self.hash_table)
        found = []
        for i in range(len(self.sizes)):
            path = text[self.offsets[i] : self.offsets[i + 1]]
            if not path.endswith("/"):
                found.append((path, table[self.hash_index[i]], self.sizes[i]))
        return found

    def finish(self, commit_id: str | None) -> _Branch:
        while self.stack:
            self._close_dir()
        text = "".join(self.chunks) + "".join(self.pending)
        table = list(self.hash_table)
        depths = bytes(self.depths)
        return _Branch(commit_id, text, self.offsets, table, self.hash_index, self.sizes, depths)


def _hashed_files(files: FileData) -> Iterator[tuple[str, str, int]]:
    """(clean path, sha256 hex, size) per file; equal contents are hashed once."""
    items = files.items() if isinstance(files, Mapping) else files
    content_hashes: dict[bytes, str] = {}
    for raw_path, data in items:
        digest = content_hashes.get(data)
        if digest is None:
            digest = content_hashes.setdefault(data, hashlib.sha256(data).hexdigest())
        yield clean_path(raw_path), digest, len(data)


def _build_branch(files: FileData, commit_id: str | None) -> _Branch:
    """Stream the files into a branch; if they are not in path order, sort them and restart."""
    builder = _Builder()
    entries = _hashed_files(files)
    for entry in entries:
        try:
            builder.add_file(*entry)
        except _OutOfOrder:
            everything = [*builder.files(), entry, *entries]
            everything.sort()
            builder = _Builder()
            for ordered in everything:
                builder.add_file(*ordered)
            break
    return builder.finish(commit_id)


class MemorySource:
    """A real `FileSource` over in-memory data; every repo has one branch (default `master`).

    `repos` maps repo name to its files (`{path: bytes}` or an iterable of `(path, bytes)` pairs,
    which avoids holding a second copy of a large repo). Repos named in `uncommitted` exist with a
    branch that has no commit (they walk as just the root). Commit IDs are derived from the content.
    """

    def __init__(
        self,
        repos: Mapping[str, FileData] | None = None,
        *,
        uncommitted: Iterable[str] = (),
        branch: str = "master",
    ) -> None:
        self._branches: dict[tuple[str, str], _Branch] = {}
        self.default_branch = branch
        for repo, files in (repos or {}).items():
            self.add_repo(repo, files, branch=branch)
        for repo in uncommitted:
            self._branches[(repo, branch)] = _build_branch({}, None)

    def add_repo(self, repo: str, files: FileData, *, branch: str | None = None) -> None:
        """Set the head of `repo@branch` to exactly `files` (a new commit)."""
        branch_name = branch or self.default_branch
        built = _build_branch(files, None)
        identity = f"{repo}@{branch_name}:{built.hash_table[built.hash_index[0]]}"
        built.commit = hashlib.sha256(identity.encode()).hexdigest()
        self._branches[(repo, branch_name)] = built

    def _branch(self, repo: str, branch: str) -> _Branch:
        found = self._branches.get((repo, branch))
        if found is None:
            known = sorted({r for r, _ in self._branches})
            raise NotFoundError(
                f"branch {repo}@{branch} not found",
                hint=f"known repos: {', '.join(known) or '(none)'}; create it or fix the input",
            )
        return found

    def head_commit(self, repo: str, branch: str) -> str | None:
        return self._branch(repo, branch).commit

    def walk(self, repo: str, branch: str) -> Iterator[FileInfo]:
        """Every file and directory of the branch head, root included, in path order.

        A missing repo or branch raises `NotFoundError` here, not at the first iteration.
        """
        head = self._branch(repo, branch)
        return _entries(head, range(len(head)))

    def walk_to_depth(self, repo: str, branch: str, max_depth: int) -> Iterator[FileInfo]:
        """`walk`, limited to entries at most `max_depth` segments deep (the root is 0)."""
        head = self._branch(repo, branch)
        return _entries(head, head.indices_to_depth(max_depth))


def _entries(head: _Branch, indices: Iterable[int]) -> Iterator[FileInfo]:
    text, offsets, table, hash_index, sizes = (
        head.text,
        head.offsets,
        head.hash_table,
        head.hash_index,
        head.sizes,
    )
    for i in indices:
        path = text[offsets[i] : offsets[i + 1]]
        yield FileInfo(path, path.endswith("/"), table[hash_index[i]], sizes[i])

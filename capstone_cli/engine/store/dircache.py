"""Directory entries of a commit: derived from its file rows once, cached in `dir_cache`.

Directories are implicit in the store (a file row `/a/b/c` makes `/a/` and `/a/b/` exist), but
datum listing needs them with a hash (BLAKE2b-256 over the children's hashes in path order,
names excluded: the definition `tree.walk_tree` implements) and a size. Computing them reads
every file of the commit, which for a 3-million-file repo is most of a listing's cost, so the
result is stored per commit: a finished commit never changes, so it stays valid until the commit
is deleted. It is filled lazily, by the first walk of a finished commit, in one short
transaction. A walk that cannot write (read-only store, another writer holding the lock)
keeps what it computed in memory and never waits.

The directories are stored column-packed, in chunks of `CHUNK` directories (path order): one
row per chunk with the paths' text and lengths, the raw hashes, sizes, depths and direct file
counts as arrays. Measured against one row per directory (594,000 directories): writing costs
a few large inserts instead of 0.8 s, and reading them back is a few blob reads.

With the directories known, a walk limited to depth `d` reads only what it yields: the
directories down to `d` and the files below the (few) directories at depth < `d` that hold
files directly, merged in one pass in path order.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import sys
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from capstone_cli.engine.inputs import FileInfo

__all__ = ["Dirs", "build", "cached_commits", "delete_rows", "load", "walk"]

CHUNK = 1 << 16  # directories per stored row
# Above this many directories holding files directly, one scan with a depth filter beats one
# range query per directory.
MAX_RANGES = 256
_DEPTH_SQL = "length(path) - length(replace(path, '/', ''))"
_BIG_ENDIAN = sys.byteorder == "big"
SCAN_CACHE_KIB = -4096  # SQLite's page cache while walking (negative: KiB)


@dataclass
class Dirs:
    """Directories (`/`, `/a/`, ...) in path order, one array slot each.

    Directory `i` is `text[offset:offset + lengths[i]]` (offsets accumulate the lengths), its
    hash `hashes[32 * i:32 * i + 32]`, its total size `sizes[i]`, its depth `depths[i]` (`/` is
    0) and its number of files directly inside `files[i]`.
    """

    text: str
    lengths: array[int]
    hashes: bytes
    sizes: array[int]
    depths: array[int]
    files: array[int]

    def __len__(self) -> int:
        return len(self.lengths)

    def _offsets(self) -> array[int]:
        return array("q", itertools.accumulate(self.lengths, initial=0))

    def _selected(self, max_depth: int | None) -> Iterable[int]:
        if max_depth is None:
            return range(len(self))
        return itertools.compress(range(len(self)), map(max_depth.__ge__, self.depths))

    def entries(self, max_depth: int | None) -> Iterator[tuple[str, str, int]]:
        """(path, hex hash, size) of the directories at most `max_depth` deep, in path order."""
        text, offsets, hexes, sizes = self.text, self._offsets(), self.hashes.hex(), self.sizes
        for i in self._selected(max_depth):
            yield text[offsets[i] : offsets[i + 1]], hexes[64 * i : 64 * i + 64], sizes[i]

    def holders(self, max_depth: int | None) -> list[str]:
        """Directories whose direct files a walk to `max_depth` yields (those above it)."""
        if max_depth is None:
            return ["/"]
        above = itertools.compress(range(len(self)), map(max_depth.__gt__, self.depths))
        text, offsets, files = self.text, self._offsets(), self.files
        return [text[offsets[i] : offsets[i + 1]] for i in above if files[i]]

    def chunks(self) -> Iterator[Dirs]:
        """This listing cut into pieces of at most `CHUNK` directories."""
        offsets = self._offsets()
        for start in range(0, len(self), CHUNK):
            end = min(start + CHUNK, len(self))
            yield Dirs(
                self.text[offsets[start] : offsets[end]],
                self.lengths[start:end],
                self.hashes[32 * start : 32 * end],
                self.sizes[start:end],
                self.depths[start:end],
                self.files[start:end],
            )


def build(files: Iterable[tuple[str, bytes, int]]) -> Dirs:
    """The directories of path-sorted (path, digest, size) file rows, in one streaming pass.

    A directory's slot is taken when its first file arrives (so slots are in path order) and
    filled when the next file lies outside it: entries under a directory are contiguous in path
    order. Only the open directories (one per level) hold a hasher.
    """
    blake = hashlib.blake2b
    # one slot per directory, filled when it closes (plain lists: cheaper to grow than arrays)
    paths: list[str] = ["/"]
    digests: list[bytes] = [b""]
    sizes, depths, counts = [0], [0], [0]
    # enclosing directories of the current one: (path, slot, hasher, size, direct files)
    stack: list[tuple[str, int, hashlib.blake2b, int, int]] = []
    top, slot, hasher, size, count = "/", 0, blake(digest_size=32), 0, 0
    top_length, update = 1, hasher.update
    for path, digest, file_size in files:
        cut = path.rfind("/") + 1
        if cut != top_length or not path.startswith(top):
            parent = path[:cut]
            while not parent.startswith(top):  # close the directories the file is not in
                done = hasher.digest()
                digests[slot], sizes[slot], counts[slot] = done, size, count
                inner = size
                top, slot, hasher, size, count = stack.pop()
                hasher.update(done)
                size += inner
            start = len(top)
            while (slash := parent.find("/", start)) >= 0:  # open the new ones
                stack.append((top, slot, hasher, size, count))
                start = slash + 1
                top, slot, hasher, size, count = (
                    parent[:start], len(paths), blake(digest_size=32), 0, 0,
                )  # fmt: skip
                paths.append(top)
                digests.append(b"")
                sizes.append(0)
                depths.append(len(stack))
                counts.append(0)
            top_length, update = len(top), hasher.update
        update(digest)
        size += file_size
        count += 1
    while True:
        done = hasher.digest()
        digests[slot], sizes[slot], counts[slot] = done, size, count
        if not stack:
            break
        inner = size
        top, slot, hasher, size, count = stack.pop()
        hasher.update(done)
        size += inner
    return Dirs(
        "".join(paths),
        array("L", map(len, paths)),
        b"".join(digests),
        array("q", sizes),
        array("L", depths),
        array("q", counts),
    )


def _file_rows(db: sqlite3.Connection, commit_rowid: int) -> Iterator[tuple[str, bytes, int]]:
    return db.execute(  # type: ignore[no-any-return]
        "SELECT path, blob, size FROM files WHERE commit_id=? ORDER BY path", (commit_rowid,)
    )


def _blob(values: array[int]) -> bytes:
    """Little-endian bytes of an array (the store file stays portable)."""
    if _BIG_ENDIAN:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _array(typecode: str, data: bytes) -> array[int]:
    values = array(typecode)
    values.frombytes(data)
    if _BIG_ENDIAN:
        values.byteswap()
    return values


def load(db: sqlite3.Connection, commit_rowid: int) -> list[Dirs] | None:
    """The cached directories of a commit (chunks in path order), or None when not cached."""
    rows = db.execute(
        "SELECT paths, lengths, hashes, sizes, depths, files FROM dir_cache WHERE commit_id=? "
        "ORDER BY chunk",
        (commit_rowid,),
    ).fetchall()
    if not rows:
        return None
    return [
        Dirs(
            text,
            _array("L", lengths),
            bytes(hashes),
            _array("q", sizes),
            _array("L", depths),
            _array("q", files),
        )
        for text, lengths, hashes, sizes, depths, files in rows
    ]


def ensure(db: sqlite3.Connection, commit_rowid: int, finished: bool) -> list[Dirs]:
    """The commit's directories: from the cache, or computed (and cached when finished)."""
    cached = load(db, commit_rowid)
    if cached is not None:
        return cached
    dirs = build(_file_rows(db, commit_rowid))
    if finished:
        try:
            _store(db, commit_rowid, dirs)
        except sqlite3.OperationalError:
            pass  # read-only or locked by another writer: keep them in memory only
    return [dirs]


def _store(db: sqlite3.Connection, commit_rowid: int, dirs: Dirs) -> None:
    """Insert the commit's rows: inside the caller's transaction if one is open (they then
    share its fate), else in a transaction of their own that gives up at once when busy. All
    chunks land in one transaction, so any row of a commit means all of them are there."""
    rows = [
        (
            commit_rowid,
            number,
            chunk.text,
            _blob(chunk.lengths),
            chunk.hashes,
            _blob(chunk.sizes),
            _blob(chunk.depths),
            _blob(chunk.files),
        )
        for number, chunk in enumerate(dirs.chunks())
    ]
    insert = (
        "INSERT OR REPLACE INTO dir_cache(commit_id, chunk, paths, lengths, hashes, sizes, "
        "depths, files) VALUES(?,?,?,?,?,?,?,?)"
    )
    if db.in_transaction:
        db.executemany(insert, rows)
        return
    timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout=0")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM dir_cache WHERE commit_id=?", (commit_rowid,))
            db.executemany(insert, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    finally:
        db.execute(f"PRAGMA busy_timeout={int(timeout)}")


def delete_rows(db: sqlite3.Connection, commit_rowid: int) -> None:
    """Forget a commit's cached directories (the commit is deleted or its files change)."""
    db.execute("DELETE FROM dir_cache WHERE commit_id=?", (commit_rowid,))


def cached_commits(db: sqlite3.Connection) -> list[int]:
    """Commits that have cached directories."""
    return [row[0] for row in db.execute("SELECT DISTINCT commit_id FROM dir_cache")]


def walk(
    db: sqlite3.Connection, commit_rowid: int, finished: bool, max_depth: int | None = None
) -> Iterator[FileInfo]:
    """Every file and directory of the commit at most `max_depth` deep (the root is 0; None:
    all), root included, in path order. Directories end with `/`."""
    with _small_page_cache(db):
        chunks = ensure(db, commit_rowid, finished)
    holders = [path for chunk in chunks for path in chunk.holders(max_depth)]
    dirs = itertools.chain.from_iterable(chunk.entries(max_depth) for chunk in chunks)
    return _lean(db, _merge(dirs, _files(db, commit_rowid, max_depth, _topmost(holders))))


@contextmanager
def _small_page_cache(db: sqlite3.Connection) -> Iterator[None]:
    """Shrink SQLite's page cache while scanning: a walk reads every page once, so the cache
    only adds its size (64 MiB, measured) to the peak memory of a listing."""
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size={SCAN_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size={int(previous)}")


def _lean(db: sqlite3.Connection, items: Iterator[FileInfo]) -> Iterator[FileInfo]:
    with _small_page_cache(db):
        yield from items


def _topmost(paths: list[str]) -> list[str]:
    """Path-sorted directories with those inside another dropped; `/` alone when too many."""
    out: list[str] = []
    for path in paths:
        if not out or not path.startswith(out[-1]):
            out.append(path)
    return ["/"] if len(out) > MAX_RANGES else out


def _files(
    db: sqlite3.Connection, commit_rowid: int, max_depth: int | None, ranges: list[str]
) -> Iterator[tuple[str, str, int]]:
    """Files under each range directory (disjoint, in path order), at most `max_depth` deep."""
    depth = "" if max_depth is None else f" AND {_DEPTH_SQL}<=?"
    sql = (
        "SELECT path, lower(hex(blob)), size FROM files WHERE commit_id=? AND path>? AND path<?"
        f"{depth} ORDER BY path"
    )
    for prefix in ranges:
        # every path below `/x/` sorts between `/x/` and `/x0` ('0' follows '/')
        args: list[object] = [commit_rowid, prefix, prefix[:-1] + "0"]
        if max_depth is not None:
            args.append(max_depth)
        yield from db.execute(sql, args)


def _merge(
    dirs: Iterable[tuple[str, str, int]], files: Iterable[tuple[str, str, int]]
) -> Iterator[FileInfo]:
    """Two path-sorted streams as one (a directory path never equals a file path)."""
    dir_iter = iter(dirs)
    pending = next(dir_iter, None)
    for path, digest, size in files:
        while pending is not None and pending[0] < path:
            yield FileInfo(pending[0], True, pending[1], pending[2])
            pending = next(dir_iter, None)
        yield FileInfo(path, False, digest, size)
    while pending is not None:
        yield FileInfo(pending[0], True, pending[1], pending[2])
        pending = next(dir_iter, None)

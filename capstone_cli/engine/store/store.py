"""The versioned file store: `Store` writes and reads commits' file trees.

Repos, branches and commits themselves are `commits.CommitStore`, which `Store` extends; the
records are in `records.py`.

Every commit holds its full file tree as rows of `files` (path -> blob), copied from its parent
with one `INSERT ... SELECT`, so reads never walk a commit chain. A commit is written in ONE
SQLite transaction together with the branch-head move: until it commits, readers see the old
head, and a process killed half-way leaves nothing behind but unreferenced large-blob files
(which `fsck` reports and `gc` removes). Directories are implicit, as in Pachyderm: they exist
when a file below them does.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from capstone_cli.engine import faults
from capstone_cli.engine.inputs import FileInfo
from capstone_cli.engine.names import (
    RepoRef,
    check_branch_name,
    clean_file_path,
    parent_dirs,
)
from capstone_cli.engine.store import db as dbmod
from capstone_cli.engine.store import dircache
from capstone_cli.engine.store.commits import CommitStore, checked_key
from capstone_cli.engine.store.ioerrors import translate_error
from capstone_cli.engine.store.records import Commit, Entry, NewFile
from capstone_cli.errors import ConflictError, NotFoundError, UsageError

BATCH = 2000


class _Unchanged(Exception):
    """Raised inside the put transaction to roll it back when nothing changed."""

    def __init__(self, head: Commit) -> None:
        super().__init__("unchanged")
        self.head = head


class Store(CommitStore):
    """An embedded store rooted at a directory (CAPSTONE_HOME): commits and their file trees."""

    # -- writing files -------------------------------------------------------------------
    def put_files(
        self,
        repo: str | RepoRef,
        branch: str,
        files: Iterable[NewFile],
        *,
        delete_paths: Iterable[str] = (),
        description: str = "",
        create_repo: bool = True,
        on_bytes: Callable[[int], None] | None = None,
        on_commit: Callable[[Commit], None] | None = None,
        skip_unchanged: bool = False,
    ) -> Commit:
        """Write `files` (after deleting `delete_paths`) as ONE new commit on `repo@branch`.

        All or nothing: the transaction holds the commit, its file rows and the head move.
        `on_commit` runs inside the same transaction (used to start downstream jobs). With
        `skip_unchanged`, a tree equal to the parent's is rolled back and the head returned.
        """
        try:
            return self._put_files(
                checked_key(repo),
                branch,
                files,
                delete_paths,
                description,
                create_repo,
                on_bytes,
                on_commit,
                skip_unchanged,
            )
        except _Unchanged as unchanged:
            return unchanged.head

    def _put_files(
        self,
        repo: str,
        branch: str,
        files: Iterable[NewFile],
        delete_paths: Iterable[str],
        description: str,
        create_repo: bool,
        on_bytes: Callable[[int], None] | None,
        on_commit: Callable[[Commit], None] | None,
        skip_unchanged: bool,
    ) -> Commit:
        check_branch_name(branch)
        if not create_repo:
            self.get_repo(repo)
        with dbmod.transaction(self.db):
            if create_repo and self._repo_or_none(repo) is None:
                # in the commit's transaction: a put that fails leaves no empty repo behind
                self._insert_repo(repo, "user", "")
            commit = self.start_commit(repo, branch, description=description)
            faults.checkpoint("store.put.started")
            for path in delete_paths:
                self.delete_path(commit.rowid, clean_file_path(path))
            small: list[tuple[str, bytes]] = []
            for item, data in _prefetch(files, self.blobs.read_small):
                path = clean_file_path(item.path)
                if path == "/":
                    raise UsageError(
                        "cannot write a file at the repo root '/'",
                        hint="give a file path such as /data/file.txt",
                    )
                if data is not None:
                    small.append((path, data))
                    if on_bytes:
                        on_bytes(len(data))
                    if len(small) >= BATCH:
                        self._write_small(commit.rowid, small)
                        small = []
                        faults.checkpoint("store.put.batch")
                elif item.source is not None:
                    digest, size = self.blobs.put_file(Path(item.source), on_bytes)
                    self._write_rows([(commit.rowid, path, digest, size)])
                    faults.checkpoint("store.put.large_file")
                else:
                    raise ValueError("NewFile needs data or source")
            self._write_small(commit.rowid, small)
            faults.checkpoint("store.put.rows_written")
            self.check_collisions(commit.rowid)
            if (
                skip_unchanged
                and commit.parent is not None
                and self._same_tree(commit.rowid, commit.parent)
            ):
                raise _Unchanged(self.commit_by_rowid(commit.parent))
            commit = self.finish_commit(commit)
            if on_commit:
                on_commit(commit)
        return commit

    def _same_tree(self, a: int, b: int) -> bool:
        """Whether two commits hold exactly the same (path, blob) rows."""
        row = self.db.execute(
            "SELECT EXISTS(SELECT path, blob FROM files WHERE commit_id=? EXCEPT "
            "SELECT path, blob FROM files WHERE commit_id=?) OR "
            "EXISTS(SELECT path, blob FROM files WHERE commit_id=? EXCEPT "
            "SELECT path, blob FROM files WHERE commit_id=?)",
            (a, b, b, a),
        ).fetchone()
        return not row[0]

    def _write_small(self, commit_rowid: int, items: list[tuple[str, bytes]]) -> None:
        digests = self.blobs.put_many(data for _path, data in items)
        self._write_rows(
            [
                (commit_rowid, path, d, len(data))
                for (path, data), d in zip(items, digests, strict=True)
            ]
        )

    def _write_rows(self, rows: list[tuple[int, str, bytes, int]]) -> None:
        if rows:
            self.db.executemany(
                "INSERT OR REPLACE INTO files(commit_id, path, blob, size, datum) "
                "VALUES(?,?,?,?,'')",
                rows,
            )

    def write_file_rows(
        self, commit_rowid: int, rows: Iterable[tuple[str, bytes, int, str]]
    ) -> None:
        """Insert (path, blob digest, size, datum) rows into an open commit."""
        self.db.executemany(
            "INSERT OR REPLACE INTO files(commit_id, path, blob, size, datum) VALUES(?,?,?,?,?)",
            ((commit_rowid, p, b, s, d) for p, b, s, d in rows),
        )

    def delete_path(self, commit_rowid: int, path: str) -> int:
        """Delete a file or a whole directory from an open commit; returns rows deleted."""
        if path == "/":
            return self.db.execute("DELETE FROM files WHERE commit_id=?", (commit_rowid,)).rowcount
        n = self.db.execute(
            "DELETE FROM files WHERE commit_id=? AND path=?", (commit_rowid, path)
        ).rowcount
        n += self.db.execute(
            "DELETE FROM files WHERE commit_id=? AND path>=? AND path<?",
            (commit_rowid, path + "/", path + "0"),
        ).rowcount
        return int(n)

    def check_collisions(self, commit_rowid: int) -> None:
        """Refuse a tree where a path is both a file and a directory."""
        files: set[str] = set()
        for (path,) in self.db.execute(
            "SELECT path FROM files WHERE commit_id=? ORDER BY path", (commit_rowid,)
        ):
            for d in parent_dirs(path):
                if d in files:
                    raise ConflictError(
                        f"file / directory path collision: {d} is a file and {path} is below it",
                        hint="rename one of them; nothing was committed",
                    )
            files.add(path)

    # -- reading files -------------------------------------------------------------------
    def file_row(self, commit: Commit, path: str) -> tuple[bytes, int] | None:
        row = self.db.execute(
            "SELECT blob, size FROM files WHERE commit_id=? AND path=?", (commit.rowid, path)
        ).fetchone()
        return (bytes(row[0]), int(row[1])) if row else None

    def iter_files(self, commit: Commit, path: str = "/") -> Iterator[tuple[str, bytes, int, str]]:
        """(path, digest, size, datum) of every file at or under `path`, in path order."""
        path = clean_file_path(path)
        if path == "/":
            cur = self.db.execute(
                "SELECT path, blob, size, datum FROM files WHERE commit_id=? ORDER BY path",
                (commit.rowid,),
            )
        else:
            # one primary-key range ['/a', '/a0') holds '/a' and '/a/...' ('/' < '0'); an OR of
            # the two made SQLite scan the whole commit per call (quadratic over datums)
            cur = self.db.execute(
                "SELECT path, blob, size, datum FROM files WHERE commit_id=? AND path>=? AND "
                "path<? AND (path=? OR substr(path, ?, 1)='/') ORDER BY path",
                (commit.rowid, path, path + "0", path, len(path) + 1),
            )
        for p, b, s, d in cur:
            yield p, bytes(b), int(s), d

    def list_dir(self, commit: Commit, path: str = "/") -> list[Entry]:
        """Entries directly under `path`; a file path lists the file itself."""
        path = clean_file_path(path)
        row = self.file_row(commit, path) if path != "/" else None
        if row is not None:
            return [Entry(path, "file", row[1])]
        prefix = "/" if path == "/" else path + "/"
        entries: dict[str, Entry] = {}
        for p, _b, size, _d in self.iter_files(commit, path):
            rest = p[len(prefix) :]
            head, sep, _tail = rest.partition("/")
            child = prefix + head
            if sep:
                prev = entries.get(child)
                entries[child] = Entry(child, "dir", size + (prev.size if prev else 0))
            else:
                entries[child] = Entry(child, "file", size)
        if not entries and path != "/":
            raise NotFoundError(
                f"path {path} not found in {commit.repo}@{commit.id[:12]}",
                hint=f"list the repo with `capstone ls {commit.repo}@{commit.branch}`",
            )
        return sorted(entries.values(), key=lambda e: e.path)

    def read_file(self, commit: Commit, path: str) -> Iterator[bytes]:
        path = clean_file_path(path)
        row = self.file_row(commit, path)
        if row is None:
            raise NotFoundError(
                f"file {path} not found in {commit.repo}@{commit.branch}",
                hint=f"list files with `capstone ls {commit.repo}@{commit.branch}:{path}`",
            )
        return self.blobs.read_chunks(row[0])

    # -- FileSource (for datums) ---------------------------------------------------------
    def walk(self, repo: str, branch: str) -> Iterator[FileInfo]:
        """Every file and directory of the branch head, root included, in path order."""
        return self._walk_head(repo, branch, None)

    def walk_to_depth(self, repo: str, branch: str, max_depth: int) -> Iterator[FileInfo]:
        """`walk` limited to entries at most `max_depth` segments deep (`/` is 0, `/a/` 1).

        Reads only the rows it yields (see `dircache`): a `/*` glob over a repo of a million
        files in directories reads the directories alone.
        """
        return self._walk_head(repo, branch, max_depth)

    def _walk_head(self, repo: str, branch: str, max_depth: int | None) -> Iterator[FileInfo]:
        head = self.head(repo, branch)  # raises NotFoundError now, not at the first item
        if head is None:
            return iter([FileInfo("/", True, hashlib.sha256(b"").hexdigest(), 0)])
        return self.walk_commit(head, max_depth)

    def walk_commit(self, commit: Commit, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Every file and directory of `commit` (at most `max_depth` deep), in path order.

        Directory hashes and sizes are those of `tree.walk_tree`; a finished commit's are computed
        by its first walk and cached, an open commit's are computed on each walk.
        """
        return dircache.walk(self.db, commit.rowid, commit.finished is not None, max_depth)

    def head_commit(self, repo: str, branch: str) -> str | None:
        head = self.head(repo, branch)
        return head.id if head else None


def _prefetch(
    files: Iterable[NewFile], read_small: Callable[[str | Path], bytes | None]
) -> Iterator[tuple[NewFile, bytes | None]]:
    """Each file with its content when small, read by a few threads ahead of the writer.

    Reading many small local files is I/O-latency bound (measured: 5 s of 12 s for 100,000
    files on a cold cache), so a batch is read concurrently while SQLite stays on this thread.
    Memory stays bounded: one batch in flight.
    """
    from concurrent.futures import ThreadPoolExecutor

    def load(item: NewFile) -> bytes | None:
        if item.data is not None:
            return item.data
        return read_small(item.source) if item.source is not None else None

    it = iter(files)
    with ThreadPoolExecutor(max_workers=8) as pool:
        while batch := list(itertools.islice(it, BATCH)):
            yield from zip(batch, pool.map(load, batch), strict=True)


def open_store(home: Path) -> Store:
    """Open the store at `home`, translating SQLite failures."""
    try:
        return Store(home)
    except (sqlite3.Error, OSError) as exc:
        raise translate_error(exc, home) from exc

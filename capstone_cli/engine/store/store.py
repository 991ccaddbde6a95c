"""The versioned file store: repos, branches, commits, commit sets and files.

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
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from capstone_cli.engine import faults
from capstone_cli.engine.inputs import FileInfo
from capstone_cli.engine.names import (
    check_branch_name,
    check_repo_name,
    clean_file_path,
    parent_dirs,
)
from capstone_cli.engine.store import db as dbmod
from capstone_cli.engine.store import dircache
from capstone_cli.engine.store.blobs import BlobStore
from capstone_cli.engine.store.ioerrors import translate_error
from capstone_cli.errors import ConflictError, InputError, NotFoundError, UsageError

BATCH = 2000


def now() -> str:
    """RFC 3339 UTC timestamp with microseconds (sortable as text)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """A commit-set (global) ID: 32 hex characters, like Pachyderm's."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Repo:
    id: int
    name: str
    type: str
    description: str
    created: str


@dataclass(frozen=True)
class Commit:
    """A commit; `id` is its commit-set (global) ID, `rowid` the internal key."""

    rowid: int
    repo: str
    branch: str
    id: str
    parent: int | None
    origin: str
    description: str
    started: str
    finished: str | None
    error: str
    size: int
    parent_id: str | None = None  # the parent's commit-set ID


@dataclass(frozen=True)
class Entry:
    """A file or an implicit directory under a listed path."""

    path: str
    type: str  # "file" | "dir"
    size: int


@dataclass(frozen=True)
class NewFile:
    """A file to write into a commit: content from bytes or a local path."""

    path: str
    data: bytes | None = None
    source: str | Path | None = None


_COMMIT_COLS = (
    "c.id, r.name, c.branch, c.commit_set, c.parent, c.origin, c.description, c.started, "
    "c.finished, c.error, c.size, (SELECT p.commit_set FROM commits p WHERE p.id=c.parent)"
)


def _commit(row: tuple[object, ...]) -> Commit:
    return Commit(*row)  # type: ignore[arg-type]


class _Unchanged(Exception):
    """Raised inside the put transaction to roll it back when nothing changed."""

    def __init__(self, head: Commit) -> None:
        super().__init__("unchanged")
        self.head = head


class Store:
    """An embedded store rooted at a directory (CAPSTONE_HOME)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the store directory {home}: {exc.strerror}",
                hint="set CAPSTONE_HOME to a writable directory",
            ) from exc
        self.db = dbmod.connect(home / "store.db")
        self.blobs = BlobStore(self.db, home / "blobs")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write on this store (see `db.transaction`)."""
        return dbmod.transaction(self.db)

    # -- repos ---------------------------------------------------------------------------
    def create_repo(
        self, name: str, *, type: str = "user", description: str = "", exist_ok: bool = False
    ) -> Repo:
        check_repo_name(name)
        with dbmod.transaction(self.db):
            existing = self._repo_or_none(name)
            if existing is not None:
                if exist_ok:
                    return existing
                raise ConflictError(
                    f"repo {name!r} already exists",
                    hint=f"use it as it is, or `capstone repo delete {name}` first",
                )
            repo = self._insert_repo(name, type, description)
        return repo

    def _insert_repo(self, name: str, type: str, description: str) -> Repo:
        """Insert a repo with an empty master branch (inside the caller's transaction)."""
        self.db.execute(
            "INSERT INTO repos(name, type, description, created) VALUES(?,?,?,?)",
            (name, type, description, now()),
        )
        repo = self.get_repo(name)
        self.db.execute(
            "INSERT INTO branches(repo_id, name, head) VALUES(?, 'master', NULL)", (repo.id,)
        )
        return repo

    def _repo_or_none(self, name: str) -> Repo | None:
        row = self.db.execute(
            "SELECT id, name, type, description, created FROM repos WHERE name=?", (name,)
        ).fetchone()
        return Repo(*row) if row else None

    def get_repo(self, name: str) -> Repo:
        repo = self._repo_or_none(name)
        if repo is None:
            raise NotFoundError(
                f"repo {name!r} not found",
                hint="list repos with `capstone repo list`, or create it with "
                f"`capstone repo create {name}`",
            )
        return repo

    def list_repos(self, include_hidden: bool = False) -> list[Repo]:
        rows = self.db.execute(
            "SELECT id, name, type, description, created FROM repos ORDER BY created DESC, name"
        ).fetchall()
        repos = [Repo(*r) for r in rows]
        return repos if include_hidden else [r for r in repos if r.type == "user"]

    def delete_repo(self, name: str) -> None:
        """Delete a repo with its branches, commits and file rows (blobs are GC'd later)."""
        with dbmod.transaction(self.db):
            repo = self.get_repo(name)
            commit_ids = [
                r[0] for r in self.db.execute("SELECT id FROM commits WHERE repo_id=?", (repo.id,))
            ]
            for cid in commit_ids:
                self.db.execute("DELETE FROM files WHERE commit_id=?", (cid,))
                dircache.delete_rows(self.db, cid)
            self.db.execute("DELETE FROM branches WHERE repo_id=?", (repo.id,))
            self.db.execute("UPDATE commits SET parent=NULL WHERE repo_id=?", (repo.id,))
            self.db.execute("DELETE FROM commits WHERE repo_id=?", (repo.id,))
            self.db.execute("DELETE FROM repos WHERE id=?", (repo.id,))

    def repo_size(self, name: str, branch: str = "master") -> int:
        head = self.head(name, branch)
        return head.size if head else 0

    # -- branches and commits ------------------------------------------------------------
    def branches(self, repo: str) -> list[str]:
        r = self.get_repo(repo)
        return [
            row[0]
            for row in self.db.execute(
                "SELECT name FROM branches WHERE repo_id=? ORDER BY name", (r.id,)
            )
        ]

    def ensure_branch(self, repo: str, branch: str) -> None:
        """Create an empty branch when missing (inside or outside a transaction)."""
        check_branch_name(branch)
        r = self.get_repo(repo)
        self.db.execute(
            "INSERT OR IGNORE INTO branches(repo_id, name, head) VALUES(?,?,NULL)", (r.id, branch)
        )

    def head(self, repo: str, branch: str = "master") -> Commit | None:
        r = self.get_repo(repo)
        row = self.db.execute(
            "SELECT head FROM branches WHERE repo_id=? AND name=?", (r.id, branch)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"branch {branch!r} not found in repo {repo!r}",
                hint=f"list branches with `capstone repo inspect {repo}`",
            )
        return self.commit_by_rowid(row[0]) if row[0] is not None else None

    def commit_by_rowid(self, rowid: int) -> Commit:
        row = self.db.execute(
            f"SELECT {_COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id WHERE c.id=?",
            (rowid,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"commit #{rowid} not found")
        return _commit(row)

    def resolve(self, repo: str, ref: str) -> Commit:
        """A commit from a branch name (its head) or a commit-set ID (or unique prefix)."""
        r = self.get_repo(repo)
        row = self.db.execute(
            "SELECT head FROM branches WHERE repo_id=? AND name=?", (r.id, ref)
        ).fetchone()
        if row is not None:
            if row[0] is None:
                raise NotFoundError(
                    f"branch {repo}@{ref} has no commits yet",
                    hint=f"put files with `capstone put {repo}@{ref} FILE...`",
                )
            return self.commit_by_rowid(row[0])
        rows = self.db.execute(
            f"SELECT {_COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE c.repo_id=? AND c.commit_set LIKE ? LIMIT 2",
            (r.id, ref.lower() + "%"),
        ).fetchall()
        if len(rows) == 1 and len(ref) >= 6:
            return _commit(rows[0])
        raise NotFoundError(
            f"no branch or commit {ref!r} in repo {repo!r}",
            hint=f"list commits with `capstone commits {repo}`",
        )

    def list_commits(self, repo: str, branch: str | None = None, limit: int = 0) -> list[Commit]:
        r = self.get_repo(repo)
        sql = (
            f"SELECT {_COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id WHERE c.repo_id=?"
        )
        args: list[object] = [r.id]
        if branch is not None:
            sql += " AND c.branch=?"
            args.append(branch)
        sql += " ORDER BY c.id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [_commit(row) for row in self.db.execute(sql, args)]

    def commits_in_set(self, commit_set: str) -> list[Commit]:
        rows = self.db.execute(
            f"SELECT {_COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE c.commit_set=? ORDER BY c.id",
            (commit_set,),
        ).fetchall()
        return [_commit(row) for row in rows]

    def start_commit(
        self,
        repo: str,
        branch: str = "master",
        *,
        commit_set: str | None = None,
        origin: str = "USER",
        description: str = "",
        parent: int | str | None = "head",
    ) -> Commit:
        """Open a commit (must run inside a transaction); its tree starts as the parent's.

        `parent="head"` uses the branch head; the branch head moves only in `finish_commit`.
        """
        r = self.get_repo(repo)
        self.ensure_branch(repo, branch)
        if parent == "head":
            head = self.head(repo, branch)
            parent_id: int | None = head.rowid if head else None
        else:
            parent_id = parent  # type: ignore[assignment]
        cur = self.db.execute(
            "INSERT INTO commits(repo_id, branch, commit_set, parent, origin, description, started)"
            " VALUES(?,?,?,?,?,?,?)",
            (r.id, branch, commit_set or new_id(), parent_id, origin, description, now()),
        )
        rowid = int(cur.lastrowid or 0)
        if parent_id is not None:
            self.db.execute(
                "INSERT INTO files(commit_id, path, blob, size, datum) "
                "SELECT ?, path, blob, size, datum FROM files WHERE commit_id=?",
                (rowid, parent_id),
            )
        return self.commit_by_rowid(rowid)

    def finish_commit(self, commit: Commit, *, error: str = "", move_head: bool = True) -> Commit:
        """Finish a commit (inside a transaction): size, finished time, branch head."""
        faults.checkpoint("store.finish_commit")
        size = self.db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE commit_id=?", (commit.rowid,)
        ).fetchone()[0]
        self.db.execute(
            "UPDATE commits SET finished=?, error=?, size=? WHERE id=?",
            (now(), error, size, commit.rowid),
        )
        dircache.delete_rows(self.db, commit.rowid)  # none expected: only finished ones cache
        if move_head:
            self.db.execute(
                "UPDATE branches SET head=? WHERE repo_id=(SELECT repo_id FROM commits WHERE id=?)"
                " AND name=?",
                (commit.rowid, commit.rowid, commit.branch),
            )
        faults.checkpoint("store.head_moved")
        return self.commit_by_rowid(commit.rowid)

    # -- writing files -------------------------------------------------------------------
    def put_files(
        self,
        repo: str,
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
                repo,
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
        check_repo_name(repo)
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

        Directory hashes and sizes are those of `walk_tree`; a finished commit's are computed
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


def walk_tree(files: Iterable[tuple[str, bytes, int]]) -> Iterator[FileInfo]:
    """Turn sorted (path, digest, size) file rows into FileInfos with directories.

    Directories come before their contents (`/a/` < `/a/x`) and carry a hash over their
    children's hashes in path order (names excluded, as in Pachyderm) and the total size. The
    whole listing is materialised once because a directory's hash needs all its children.
    """
    rows = list(files)
    # per directory, its children in path order: (True, dir path) or (False, file digest)
    dir_children: dict[str, list[tuple[bool, bytes | str]]] = {"/": []}
    dir_size: dict[str, int] = {"/": 0}
    order: list[tuple[str, bytes | None, int]] = []
    for path, digest, size in rows:
        parts = path.strip("/").split("/")
        parent = "/"
        for i in range(len(parts) - 1):
            d = "/" + "/".join(parts[: i + 1]) + "/"
            if d not in dir_children:
                dir_children[d] = []
                dir_size[d] = 0
                dir_children[parent].append((True, d))
                order.append((d, None, 0))
            parent = d
        dir_children[parent].append((False, digest))
        order.append((path, digest, size))
        for d in _ancestors_with_slash(path):
            dir_size[d] += size
    dir_hash: dict[str, str] = {}
    for d in sorted(dir_children, key=len, reverse=True):
        h = hashlib.blake2b(digest_size=32)
        for is_dir, key in dir_children[d]:
            h.update(bytes.fromhex(dir_hash[key]) if is_dir else key)  # type: ignore[index,arg-type]
        dir_hash[d] = h.hexdigest()
    out = [FileInfo("/", True, dir_hash["/"], dir_size["/"])]
    for path, file_digest, size in order:
        if file_digest is None:
            out.append(FileInfo(path, True, dir_hash[path], dir_size[path]))
        else:
            out.append(FileInfo(path, False, file_digest.hex(), size))
    out.sort(key=lambda f: f.path)
    yield from out


def _ancestors_with_slash(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/"] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def open_store(home: Path) -> Store:
    """Open the store at `home`, translating SQLite failures."""
    try:
        return Store(home)
    except (sqlite3.Error, OSError) as exc:
        raise translate_error(exc, home) from exc

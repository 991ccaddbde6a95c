"""`capstone fsck`: check an embedded store, and repair what is safe to repair.

Problems (the store is wrong, data may be lost): a file row whose blob is missing or does not
match its hash, a branch head on an unfinished commit, SQLite corruption. Repairable leftovers
(nothing refers to them): blob files or rows no commit references, temporary upload files
whose writer is gone (a running put's are not leftovers; the next write removes a killed put's
anyway, see `blobs`), and scratch directories of killed runs (whose recorded worker processes
are killed first, as a runner does: `orphans`). `fix=True` removes only leftovers, never data
that a commit refers to, and only while no run holds the store's run lock. It also moves
DAMAGED blobs (content not matching the hash) aside to `blobs/quarantine/`: they stay problems,
but putting the original file again then restores the blob, and a job stopped on it resumes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from capstone_cli.engine.names import clean_file_path
from capstone_cli.engine.store.blobs import tmp_writer_alive
from capstone_cli.engine.store.ioerrors import salvage_note
from capstone_cli.engine.store.locks import run_in_progress, run_lock
from capstone_cli.engine.store.space import (
    ensure_reserve,
    give_back_pages,
    on_full_disk_release_reserve,
)
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.orphans import kill_orphans
from capstone_cli.engine.worker.scratch import remove_tree
from capstone_cli.errors import InvalidNameError


@dataclass
class FsckReport:
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    checked_blobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def fsck(store: Store, *, fix: bool = False, deep: bool = True) -> FsckReport:
    """Check every invariant of the store; with `fix`, remove unreferenced leftovers."""
    report = FsckReport()
    db = store.db
    damage = _database_damage(db)
    if damage:  # nothing else can be trusted, and nothing is "fixed" on a damaged database
        report.problems += [f"store.db is damaged (SQLite integrity_check): {damage}"]
        report.problems += [salvage_note(store.home / "store.db")]
        return report
    for repo, branch, commit_set in db.execute(
        "SELECT r.name, b.name, c.commit_set FROM branches b JOIN repos r ON r.id=b.repo_id "
        "JOIN commits c ON c.id=b.head WHERE c.finished IS NULL"
    ):
        report.problems.append(f"branch {repo}@{branch} points at unfinished commit {commit_set}")
    for (path,) in db.execute("SELECT DISTINCT path FROM files"):
        if not _valid_path(path):
            report.problems.append(f"file row with an invalid path {path!r} (never written so)")
    referenced = [bytes(row[0]) for row in db.execute("SELECT DISTINCT blob FROM files")]
    damaged: list[bytes] = []
    for digest in referenced:
        report.checked_blobs += 1
        problem = store.blobs.verify(digest) if deep else _exists(store, digest)
        if problem:
            if "does not match its hash" in problem:
                damaged.append(digest)
            users = db.execute(
                "SELECT r.name, c.commit_set, f.path FROM files f JOIN commits c ON "
                "c.id=f.commit_id JOIN repos r ON r.id=c.repo_id WHERE f.blob=? LIMIT 1",
                (digest,),
            ).fetchone()
            where = f" (used by {users[0]}@{users[1][:12]}:{users[2]})" if users else ""
            report.problems.append(problem + where)
    _leftovers(store, set(referenced), report, fix)
    if fix and damaged:
        _quarantine(store, damaged, report)
    return report


def _valid_path(path: str) -> bool:
    """Whether a stored path is one `clean_file_path` would have produced (no `..`, `//`)."""
    try:
        return path != "/" and clean_file_path(path) == path
    except InvalidNameError:
        return False


def _database_damage(db: sqlite3.Connection) -> str | None:
    """SQLite's own verdict on the database file: None when intact, else its first findings."""
    try:
        rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    return None if rows == ["ok"] else "; ".join(rows)


def _quarantine(store: Store, damaged: list[bytes], report: FsckReport) -> None:
    """Move damaged blobs to blobs/quarantine/<sha256> so a re-put can restore them."""
    qdir = store.blobs.root / "quarantine"
    qdir.mkdir(parents=True, exist_ok=True)
    with run_lock(store.home, timeout=0), store.transaction():
        for digest in damaged:
            if store.blobs.verify(digest) is None:
                continue  # repaired meanwhile
            target = qdir / digest.hex()
            row = store.db.execute("SELECT data FROM blobs WHERE hash=?", (digest,)).fetchone()
            if row is not None and row[0] is not None:
                target.write_bytes(bytes(row[0]))
                store.db.execute("DELETE FROM blobs WHERE hash=?", (digest,))
            else:
                store.blobs.path_of(digest).replace(target)
    report.fixed.append(f"{len(damaged)} damaged blob(s) moved to {qdir}")


def _move_to_quarantine(store: Store, files: list[Path]) -> None:
    """Blob files the database does not know, moved to blobs/quarantine/ (kept, not deleted)."""
    if not files:
        return
    qdir = store.blobs.root / "quarantine"
    qdir.mkdir(exist_ok=True)
    for path in files:
        path.replace(qdir / (path.parent.name + path.name))


def _exists(store: Store, digest: bytes) -> str | None:
    row = store.db.execute("SELECT data IS NULL FROM blobs WHERE hash=?", (digest,)).fetchone()
    if row is None:
        return f"blob {digest.hex()[:16]} is missing from the blob table"
    if row[0] and not store.blobs.path_of(digest).exists():
        return f"blob file {digest.hex()[:16]} is missing"
    return None


@dataclass
class _Leftovers:
    rows: list[bytes]
    orphan_files: list[Path]
    tmp_files: list[Path]
    scratch_dirs: list[Path]

    def describe(self) -> list[str]:
        parts: list[tuple[list[bytes] | list[Path], str]] = [
            (self.rows, "unreferenced blob(s)"),
            (self.orphan_files, "blob file(s) not in the blob table (fix: to quarantine)"),
            (self.tmp_files, "temporary upload file(s)"),
            (self.scratch_dirs, "scratch dir(s) from earlier runs"),
        ]
        return [f"{len(items)} {what}" for items, what in parts if items]


def _scan(store: Store, referenced: set[bytes], live_run: bool = False) -> _Leftovers:
    """What nothing refers to; `live_run`: scratch directories belong to a run in progress."""
    db = store.db
    staged = _staged_blobs(store)
    rows = [
        bytes(row[0])
        for row in db.execute("SELECT hash FROM blobs")
        if bytes(row[0]) not in referenced and bytes(row[0]) not in staged
    ]
    root = store.blobs.root
    known = {bytes(row[0]) for row in db.execute("SELECT hash FROM blobs WHERE data IS NULL")}
    orphans: list[Path] = []
    if root.exists():
        for sub in root.iterdir():
            if len(sub.name) != 2 or not sub.is_dir():
                continue  # tmp/, quarantine/
            for f in sub.iterdir():
                try:
                    digest = bytes.fromhex(sub.name + f.name)
                except ValueError:
                    digest = b""
                if digest not in known:
                    orphans.append(f)
    # a temporary file whose writer still runs is a put in progress, not a leftover
    tmp = [
        p
        for p in ((root / "tmp").iterdir() if (root / "tmp").exists() else [])
        if tmp_writer_alive(p.name) is not True
    ]
    scratch = store.home / "scratch"
    dirs = list(scratch.iterdir()) if scratch.exists() and not live_run else []
    return _Leftovers(rows, orphans, tmp, dirs)


def _lost_database(store: Store, orphan_files: list[Path]) -> str | None:
    """A problem when blob files predate a database that holds no commit at all.

    A killed put leaves blob files the database does not know, written AFTER the database was
    created; files older than the database itself mean that `store.db` was deleted or emptied
    (and recreated by the next command): the commits that referred to them are gone.
    """
    if not orphan_files or store.db.execute("SELECT EXISTS(SELECT 1 FROM commits)").fetchone()[0]:
        return None
    created = store.db.execute("SELECT MIN(applied) FROM _migrations").fetchone()[0]
    born = datetime.strptime(created, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    older = [p for p in orphan_files if p.stat().st_mtime < born - 1]
    if not older:
        return None
    return (
        f"store.db holds no commits but {len(older)} blob file(s) are older than it: the"
        " database was deleted or emptied, and their commits are lost (`fsck --fix` moves the"
        " files to blobs/quarantine/, it never deletes them)"
    )


def _leftovers(store: Store, referenced: set[bytes], report: FsckReport, fix: bool) -> None:
    found = _scan(store, referenced, live_run=run_in_progress(store.home))
    lost = _lost_database(store, found.orphan_files)
    if lost:
        report.problems.append(lost)
    report.leftovers = found.describe()
    if not fix or not report.leftovers:
        return
    with run_lock(store.home, timeout=0):  # a full disk must not stop a repair: see `space`
        on_full_disk_release_reserve(store.home, lambda: _fix(store, referenced, report))
    give_back_pages(store.db)
    ensure_reserve(store.home)


def _fix(store: Store, referenced: set[bytes], report: FsckReport) -> None:
    # Under the run lock (no job running) and the write lock (no put half-way: a put writes
    # its blob files inside its transaction), nothing unreferenced can be about to be used.
    with store.transaction():
        found = _scan(store, referenced | _referenced(store))
        store.db.executemany(
            "DELETE FROM blobs WHERE hash=? AND NOT EXISTS (SELECT 1 FROM files WHERE blob=?)",
            [(d, d) for d in found.rows],
        )
        for digest in found.rows:
            store.blobs.path_of(digest).unlink(missing_ok=True)
        # a blob file the database does not know may be the only copy of data whose rows were
        # lost: it is moved aside, never deleted (a killed put's file costs only its space)
        _move_to_quarantine(store, found.orphan_files)
        for path in found.tmp_files:
            path.unlink(missing_ok=True)
        # a killed run's workers may still write there: kill them first, as a runner does
        kill_orphans(p for p in found.scratch_dirs if p.is_dir() and not p.is_symlink())
        for path in found.scratch_dirs:
            remove_tree(path)
        report.fixed = found.describe()


def _referenced(store: Store) -> set[bytes]:
    return {bytes(row[0]) for row in store.db.execute("SELECT DISTINCT blob FROM files")}


def _staged_blobs(store: Store) -> set[bytes]:
    """Blobs referenced by datum outputs staged for an unfinished job (not garbage)."""
    try:
        rows = store.db.execute("SELECT DISTINCT blob FROM datum_outputs").fetchall()
    except Exception:
        return set()
    return {bytes(r[0]) for r in rows}

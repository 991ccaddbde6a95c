"""The SQLite connection of an embedded store: pragmas, transactions, migrations.

WAL mode lets readers (`capstone status`) see the last committed state while a writer works;
`BEGIN IMMEDIATE` makes writers queue on the write lock instead of failing half-way. The schema
changes only through the append-only MIGRATIONS list; a shipped migration is never edited.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from capstone_cli.errors import StoreBusyError, StoreWriteError

BUSY_TIMEOUT_S = 60.0

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def m001_store(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE repos(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL DEFAULT 'user',
            description TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL
        );
        CREATE TABLE branches(
            repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            head INTEGER REFERENCES commits(id),
            PRIMARY KEY(repo_id, name)
        );
        CREATE TABLE commits(
            id INTEGER PRIMARY KEY,
            repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
            branch TEXT NOT NULL,
            commit_set TEXT NOT NULL,
            parent INTEGER REFERENCES commits(id),
            origin TEXT NOT NULL DEFAULT 'USER',
            description TEXT NOT NULL DEFAULT '',
            started TEXT NOT NULL,
            finished TEXT,
            error TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL DEFAULT 0,
            UNIQUE(repo_id, commit_set)
        );
        CREATE INDEX commits_by_set ON commits(commit_set);
        CREATE TABLE blobs(
            hash BLOB PRIMARY KEY,
            size INTEGER NOT NULL,
            data BLOB
        ) WITHOUT ROWID;
        CREATE TABLE files(
            commit_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            blob BLOB NOT NULL,
            size INTEGER NOT NULL,
            datum TEXT NOT NULL DEFAULT '',
            PRIMARY KEY(commit_id, path)
        ) WITHOUT ROWID;
        """
    )


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations(name TEXT PRIMARY KEY, applied TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    pending = [m for m in MIGRATIONS if m.__name__ not in done]
    if not pending:
        return
    with transaction(db):
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for m in MIGRATIONS:
            if m.__name__ in done:
                continue
            m(db)
            db.execute("INSERT INTO _migrations VALUES(?, datetime('now'))", (m.__name__,))


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and create or migrate) the store database."""
    try:
        if readonly:
            db = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None
            )
        else:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute("PRAGMA foreign_keys=ON")
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            _migrate(db)
        db.execute("PRAGMA cache_size=-65536")
        return db
    except sqlite3.OperationalError as exc:
        raise translate_error(exc, path) from exc


def translate_error(exc: sqlite3.Error, path: Path | None = None) -> Exception:
    """Turn SQLite's errors into capstone errors a user can act on."""
    text = str(exc).lower()
    where = f" ({path})" if path else ""
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"the store is busy: another capstone process is writing{where}",
            hint="wait for it to finish (see `capstone status`) and run the command again",
        )
    if "readonly" in text or "read-only" in text:
        return StoreWriteError(
            f"the store is read-only{where}",
            hint="check the permissions of CAPSTONE_HOME or point it at a writable directory",
        )
    if "disk is full" in text or "full" in text:
        return StoreWriteError(
            f"no space left on the device holding the store{where}",
            hint="free some disk space; nothing was committed",
        )
    if "unable to open" in text:
        return StoreWriteError(
            f"cannot open the store database{where}",
            hint="check that CAPSTONE_HOME exists and is writable",
        )
    return StoreWriteError(f"store error: {exc}{where}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise translate_error(exc) from exc
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise translate_error(exc) from exc

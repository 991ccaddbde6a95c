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

from capstone_cli.engine import faults
from capstone_cli.engine.store.ioerrors import translate_error

BUSY_TIMEOUT_S = 60.0

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def m001_store(db: sqlite3.Connection) -> None:
    _script(
        db,
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
        """,
    )


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run `;`-separated DDL inside the caller's transaction (executescript would commit)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


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
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from exc
    try:
        db.execute("PRAGMA foreign_keys=ON")
        if not readonly:
            if db.execute("PRAGMA page_count").fetchone()[0] == 0:  # new: deletes free pages
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            _migrate(db)
        db.execute("PRAGMA cache_size=-65536")
        return db
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlite3.Error):
            raise translate_error(exc, path) from exc
        raise


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise translate_error(exc) from exc
    try:
        yield db
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, (sqlite3.Error, OSError)):  # "database or disk is full", EIO, ...
            raise translate_error(exc) from exc
        raise
    try:
        faults.checkpoint("db.commit")
        db.execute("COMMIT")
    except (sqlite3.Error, OSError) as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise translate_error(exc) from exc
    try:
        faults.checkpoint("db.committed")
    except OSError as exc:
        raise translate_error(exc, committed=True) from exc


@migration
def m002_pipelines_jobs(db: sqlite3.Connection) -> None:
    """Pipelines, jobs, per-datum results (with staged outputs) and logs of the engine.

    A datum's result and its staged output rows are written together in one short transaction
    the moment the datum finishes, so a killed run resumes without re-running it; the job's
    output commit is assembled from `datum_outputs` in one transaction at the end of the job.
    """
    _script(
        db,
        """
        CREATE TABLE pipelines(
            name TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            spec TEXT NOT NULL,
            effective TEXT NOT NULL,
            salt TEXT NOT NULL,
            stopped INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE jobs(
            seq INTEGER PRIMARY KEY,
            pipeline TEXT NOT NULL,
            id TEXT NOT NULL,
            pipeline_version INTEGER NOT NULL,
            output_commit INTEGER,
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            data_total INTEGER NOT NULL DEFAULT 0,
            data_processed INTEGER NOT NULL DEFAULT 0,
            data_skipped INTEGER NOT NULL DEFAULT 0,
            data_failed INTEGER NOT NULL DEFAULT 0,
            data_recovered INTEGER NOT NULL DEFAULT 0,
            download_bytes INTEGER NOT NULL DEFAULT 0,
            upload_bytes INTEGER NOT NULL DEFAULT 0,
            download_seconds REAL NOT NULL DEFAULT 0,
            process_seconds REAL NOT NULL DEFAULT 0,
            upload_seconds REAL NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            started TEXT,
            finished TEXT,
            UNIQUE(pipeline, id)
        );
        CREATE INDEX jobs_by_id ON jobs(id);
        CREATE TABLE job_inputs(
            job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
            repo TEXT NOT NULL,
            branch TEXT NOT NULL,
            commit_id INTEGER,
            PRIMARY KEY(job_seq, repo, branch)
        ) WITHOUT ROWID;
        CREATE TABLE job_datums(
            job_seq INTEGER NOT NULL,
            datum TEXT NOT NULL,
            state TEXT NOT NULL,
            hash TEXT NOT NULL,
            files TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            download_seconds REAL NOT NULL DEFAULT 0,
            process_seconds REAL NOT NULL DEFAULT 0,
            upload_seconds REAL NOT NULL DEFAULT 0,
            download_bytes INTEGER NOT NULL DEFAULT 0,
            upload_bytes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY(job_seq, datum)
        ) WITHOUT ROWID;
        CREATE TABLE datum_outputs(
            job_seq INTEGER NOT NULL,
            datum TEXT NOT NULL,
            path TEXT NOT NULL,
            blob BLOB NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY(job_seq, datum, path)
        ) WITHOUT ROWID;
        CREATE TABLE logs(
            id INTEGER PRIMARY KEY,
            pipeline TEXT NOT NULL,
            job TEXT NOT NULL,
            datum TEXT NOT NULL DEFAULT '',
            ts TEXT NOT NULL,
            stream TEXT NOT NULL DEFAULT 'stdout',
            master INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL
        );
        CREATE INDEX logs_by_job ON logs(job, pipeline);
        """,
    )


@migration
def m003_dir_cache(db: sqlite3.Connection) -> None:
    """Per-commit directory entries (hash, size, depth, direct files), see `dircache`.

    Derived data, written once by a finished commit's first walk and deleted with the commit:
    the directories in path order, column-packed in chunks (paths' text and lengths, raw
    hashes, sizes, depths and file counts as little-endian arrays). All chunks of a commit are
    written in one transaction: any row means the whole set is there.
    """
    _script(
        db,
        """
        CREATE TABLE dir_cache(
            commit_id INTEGER NOT NULL,
            chunk INTEGER NOT NULL,
            paths TEXT NOT NULL,
            lengths BLOB NOT NULL,
            hashes BLOB NOT NULL,
            sizes BLOB NOT NULL,
            depths BLOB NOT NULL,
            files BLOB NOT NULL,
            PRIMARY KEY(commit_id, chunk)
        );
        """,
    )


@migration
def m004_job_datum_progress(db: sqlite3.Connection) -> None:
    """The running datum's advisory progress (`protocol.progress`, JSON), NULL when none.

    Written by the runner while a long datum runs and cleared in the transaction that persists
    the datum's result; only a RUNNING job's value is shown.
    """
    db.execute("ALTER TABLE jobs ADD COLUMN datum_progress TEXT")


@migration
def m005_projects(db: sqlite3.Connection) -> None:
    """Projects (Pachyderm 2.5+); `default` always exists and holds every older repo.

    A repo's key in `repos.name` stays its bare name in `default` and is `project/name`
    elsewhere (see `names.RepoRef`), so older stores need no rewrite of their keys.
    """
    _script(
        db,
        """
        CREATE TABLE projects(
            name TEXT PRIMARY KEY,
            description TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL
        );
        INSERT INTO projects(name, description, created)
            VALUES('default', '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        """,
    )


@migration
def m006_branch_triggers(db: sqlite3.Connection) -> None:
    """A branch's trigger (`records.Trigger` as JSON), NULL when it has none."""
    db.execute("ALTER TABLE branches ADD COLUMN trigger TEXT")


@migration
def m007_job_seq_never_reused(db: sqlite3.Connection) -> None:
    """Job sequence numbers are never reused (AUTOINCREMENT).

    Without it SQLite hands out max(seq)+1, so deleting the newest job (pachd's DeleteJob)
    while its last datum was still being persisted let the next job inherit that datum's rows:
    a one-file job listed two datums. Rebuilt as SQLite's documented table change: new tables,
    copy, drop, rename (renaming rewrites job_inputs' foreign key to the new table).
    """
    columns = (
        "seq, pipeline, id, pipeline_version, output_commit, state, reason, data_total, "
        "data_processed, data_skipped, data_failed, data_recovered, download_bytes, "
        "upload_bytes, download_seconds, process_seconds, upload_seconds, created, started, "
        "finished, datum_progress"
    )
    _script(
        db,
        f"""
        CREATE TABLE jobs_v7(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline TEXT NOT NULL,
            id TEXT NOT NULL,
            pipeline_version INTEGER NOT NULL,
            output_commit INTEGER,
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            data_total INTEGER NOT NULL DEFAULT 0,
            data_processed INTEGER NOT NULL DEFAULT 0,
            data_skipped INTEGER NOT NULL DEFAULT 0,
            data_failed INTEGER NOT NULL DEFAULT 0,
            data_recovered INTEGER NOT NULL DEFAULT 0,
            download_bytes INTEGER NOT NULL DEFAULT 0,
            upload_bytes INTEGER NOT NULL DEFAULT 0,
            download_seconds REAL NOT NULL DEFAULT 0,
            process_seconds REAL NOT NULL DEFAULT 0,
            upload_seconds REAL NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            started TEXT,
            finished TEXT,
            datum_progress TEXT,
            UNIQUE(pipeline, id)
        );
        INSERT INTO jobs_v7({columns}) SELECT {columns} FROM jobs;
        CREATE TABLE job_inputs_v7(
            job_seq INTEGER NOT NULL REFERENCES jobs_v7(seq) ON DELETE CASCADE,
            repo TEXT NOT NULL,
            branch TEXT NOT NULL,
            commit_id INTEGER,
            PRIMARY KEY(job_seq, repo, branch)
        ) WITHOUT ROWID;
        INSERT INTO job_inputs_v7 SELECT job_seq, repo, branch, commit_id FROM job_inputs;
        DROP TABLE job_inputs;
        DROP TABLE jobs;
        ALTER TABLE jobs_v7 RENAME TO jobs;
        ALTER TABLE job_inputs_v7 RENAME TO job_inputs;
        CREATE INDEX jobs_by_id ON jobs(id)
        """,
    )

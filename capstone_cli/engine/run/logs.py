"""Job logs: user-code lines per datum attempt and master (orchestration) lines.

Lines are kept in the store with the job, so `capstone logs` works after the run, and written in
the same transaction as the datum result they belong to. `follow` polls for new rows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from capstone_cli.engine.store.records import now
from capstone_cli.engine.store.store import Store
from capstone_cli.results import TERMINAL_JOB_STATES, LogLine


@dataclass(frozen=True)
class Line:
    """A line to store: user output (`master=False`) or an orchestration message."""

    message: str
    stream: str = "stdout"
    master: bool = False
    ts: str = ""


def write_lines(
    db: sqlite3.Connection, pipeline: str, job: str, datum: str, lines: Iterable[Line]
) -> None:
    """Insert lines (inside the caller's transaction, or autocommit)."""
    lines = list(lines)
    if not lines:
        return  # most datums log nothing: no timestamp, no statement
    stamp = now()
    rows = [
        (pipeline, job, datum, ln.ts or stamp, ln.stream, int(ln.master), ln.message)
        for ln in lines
    ]
    db.executemany(
        "INSERT INTO logs(pipeline, job, datum, ts, stream, master, message) VALUES(?,?,?,?,?,?,?)",
        rows,
    )


def master(store: Store, pipeline: str, job: str, message: str, datum: str = "") -> None:
    """One master line in its own short transaction."""
    with store.transaction():
        write_lines(store.db, pipeline, job, datum, [Line(message, "stdout", True)])


def split_output(data: bytes, stream: str) -> list[Line]:
    text = data.decode("utf-8", errors="replace")
    return [Line(line, stream) for line in text.splitlines()]


def _query(
    db: sqlite3.Connection,
    after: int,
    pipeline: str | None,
    job: str | None,
    datum: str | None,
    master_only: bool,
) -> list[tuple[int, LogLine]]:
    clauses: list[str] = ["id>?"]
    args: list[object] = [after]
    for col, val in (("pipeline", pipeline), ("datum", datum)):
        if val is not None:
            clauses.append(f"{col}=?")
            args.append(val)
    if job is not None:
        clauses.append("job LIKE ?")
        args.append(job + "%")
    if master_only:
        clauses.append("master=1")
    rows = db.execute(
        "SELECT id, pipeline, job, datum, message, ts, master, stream FROM logs WHERE "
        + " AND ".join(clauses)
        + " ORDER BY id",
        args,
    ).fetchall()
    return [(int(i), LogLine(p, j, d, m, ts, bool(ma), s)) for i, p, j, d, m, ts, ma, s in rows]


def _active(db: sqlite3.Connection, pipeline: str | None, job: str | None) -> bool:
    clauses, args = (
        [f"state NOT IN ({','.join('?' * len(TERMINAL_JOB_STATES))})"],
        list(TERMINAL_JOB_STATES),
    )
    if pipeline is not None:
        clauses.append("pipeline=?")
        args.append(pipeline)
    if job is not None:
        clauses.append("id LIKE ?")
        args.append(job + "%")
    sql = "SELECT 1 FROM jobs WHERE " + " AND ".join(clauses) + " LIMIT 1"
    return db.execute(sql, args).fetchone() is not None


def query_logs(
    store: Store,
    pipeline: str | None = None,
    job: str | None = None,
    datum: str | None = None,
    master_only: bool = False,
    follow: bool = False,
    poll_seconds: float = 0.5,
    forever: bool = False,
    gone: Callable[[], bool] | None = None,
) -> Iterator[LogLine]:
    """Log lines oldest first; `follow` keeps polling while a matching job is unfinished,
    `forever` until the caller stops iterating (`pachctl logs -f`: Ctrl-C ends it) or `gone()`
    says it left: a server thread polling for a client that disconnected would otherwise poll
    forever, and enough of them starve the server of threads."""
    last = 0
    while not (gone is not None and gone()):
        active = follow and _active(store.db, pipeline, job)  # checked BEFORE reading lines
        batch = _query(store.db, last, pipeline, job, datum, master_only)
        for row_id, line in batch:
            last = row_id
            yield line
        if not (follow or forever) or (not forever and not active and not batch):
            return
        if not batch:
            time.sleep(poll_seconds)

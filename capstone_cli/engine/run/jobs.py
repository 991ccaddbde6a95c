"""Job rows: creation, state changes, counts, and the queries `jobs`/`datums` commands need.

A job is one pipeline's work in one commit set (job ID = commit-set ID, as in Pachyderm). Its
input commits are fixed when it is created (`job_inputs`), so later commits to an input never
change what a pending job sees. States and reasons follow Pachyderm 2.x (reference section 5).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from capstone_cli.engine import faults
from capstone_cli.engine.store.records import now
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import NotFoundError
from capstone_cli.results import TERMINAL_JOB_STATES, DatumInfo, JobInfo

CREATED = "JOB_CREATED"
STARTING = "JOB_STARTING"
RUNNING = "JOB_RUNNING"
FINISHING = "JOB_FINISHING"
SUCCESS = "JOB_SUCCESS"
FAILURE = "JOB_FAILURE"
KILLED = "JOB_KILLED"
UNRUNNABLE = "JOB_UNRUNNABLE"

# datum states as listed by `datums`; SUCCESS and SKIPPED are Pachyderm's PROCESSED
D_SUCCESS, D_SKIPPED, D_FAILED, D_RECOVERED = "SUCCESS", "SKIPPED", "FAILED", "RECOVERED"
PROCESSED_STATES = (D_SUCCESS, D_SKIPPED)

_JOB_COLS = (
    "seq, pipeline, id, pipeline_version, output_commit, state, reason, data_total, "
    "data_processed, data_skipped, data_failed, data_recovered, download_bytes, upload_bytes, "
    "download_seconds, process_seconds, upload_seconds, created, started, finished, "
    "datum_progress"
)


@dataclass(frozen=True)
class JobRow:
    seq: int
    pipeline: str
    id: str
    pipeline_version: int
    output_commit: int | None
    state: str
    reason: str
    data_total: int
    data_processed: int
    data_skipped: int
    data_failed: int
    data_recovered: int
    download_bytes: int
    upload_bytes: int
    download_seconds: float
    process_seconds: float
    upload_seconds: float
    created: str
    started: str | None
    finished: str | None
    datum_progress: str | None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_JOB_STATES

    def info(self) -> JobInfo:
        return JobInfo(
            pipeline=self.pipeline,
            id=self.id,
            state=self.state,
            data_total=self.data_total,
            data_processed=self.data_processed,
            data_skipped=self.data_skipped,
            data_failed=self.data_failed,
            data_recovered=self.data_recovered,
            reason=self.reason,
            created=self.created,
            started=self.started,
            finished=self.finished,
            download_bytes=self.download_bytes,
            upload_bytes=self.upload_bytes,
            process_seconds=self.process_seconds,
            datum_progress=(
                json.loads(self.datum_progress)
                if self.datum_progress and self.state == RUNNING
                else None
            ),
        )


def create_job(
    store: Store,
    pipeline: str,
    job_id: str,
    version: int,
    output_commit: int,
    inputs: list[tuple[str, str, int | None]],
) -> int:
    """Insert a JOB_CREATED row with its fixed input commits (inside a transaction)."""
    cur = store.db.execute(
        "INSERT INTO jobs(pipeline, id, pipeline_version, output_commit, state, created) "
        "VALUES(?,?,?,?,?,?)",
        (pipeline, job_id, version, output_commit, CREATED, now()),
    )
    seq = int(cur.lastrowid or 0)
    store.db.executemany(
        "INSERT OR IGNORE INTO job_inputs(job_seq, repo, branch, commit_id) VALUES(?,?,?,?)",
        [(seq, repo, branch, commit) for repo, branch, commit in inputs],
    )
    faults.checkpoint("jobs.created")
    return seq


def _rows(db: sqlite3.Connection, where: str, args: tuple[object, ...]) -> list[JobRow]:
    sql = f"SELECT {_JOB_COLS} FROM jobs {where}"
    return [JobRow(*r) for r in db.execute(sql, args)]


def job_exists(store: Store, seq: int) -> bool:
    return store.db.execute("SELECT 1 FROM jobs WHERE seq=?", (seq,)).fetchone() is not None


def job_by_seq(store: Store, seq: int) -> JobRow:
    rows = _rows(store.db, "WHERE seq=?", (seq,))
    if not rows:
        raise NotFoundError(f"job #{seq} not found")
    return rows[0]


def get_job(store: Store, pipeline: str, job_id: str) -> JobRow:
    """A job by pipeline and ID (a unique prefix of at least 6 characters is enough)."""
    rows = _rows(store.db, "WHERE pipeline=? AND id=?", (pipeline, job_id))
    if not rows and len(job_id) >= 6:
        rows = _rows(store.db, "WHERE pipeline=? AND id LIKE ? LIMIT 2", (pipeline, job_id + "%"))
    if len(rows) != 1:
        raise NotFoundError(
            f"job {pipeline}@{job_id} not found",
            hint=f"list jobs with `capstone jobs --pipeline {pipeline}`",
        )
    return rows[0]


def list_jobs(
    store: Store, pipeline: str | None = None, commit_set: str | None = None
) -> list[JobRow]:
    """Jobs newest first, optionally of one pipeline and/or one commit set."""
    clauses, args = [], []
    if pipeline is not None:
        clauses.append("pipeline=?")
        args.append(pipeline)
    if commit_set is not None:
        clauses.append("id=?")
        args.append(commit_set)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return _rows(store.db, f"{where} ORDER BY seq DESC", tuple(args))


def unfinished_jobs(store: Store) -> list[JobRow]:
    """Non-terminal jobs, oldest first (the order they must run in)."""
    states = tuple(TERMINAL_JOB_STATES)
    marks = ",".join("?" * len(states))
    return _rows(store.db, f"WHERE state NOT IN ({marks}) ORDER BY seq", states)


def has_unfinished(store: Store, pipeline: str) -> bool:
    return any(j.pipeline == pipeline for j in unfinished_jobs(store))


def job_inputs(store: Store, seq: int) -> dict[tuple[str, str], int | None]:
    rows = store.db.execute(
        "SELECT repo, branch, commit_id FROM job_inputs WHERE job_seq=?", (seq,)
    ).fetchall()
    return {(r, b): c for r, b, c in rows}


def last_success(store: Store, pipeline: str, before_seq: int) -> JobRow | None:
    """The base of incremental processing: the newest successful earlier job."""
    rows = _rows(
        store.db,
        "WHERE pipeline=? AND seq<? AND state=? ORDER BY seq DESC LIMIT 1",
        (pipeline, before_seq, SUCCESS),
    )
    return rows[0] if rows else None


def set_state(store: Store, seq: int, state: str, reason: str = "") -> None:
    """Move a job to `state`; stamps `started` on RUNNING and `finished` on terminal states."""
    stamp = now()
    if state == RUNNING:
        store.db.execute(
            "UPDATE jobs SET state=?, reason=?, started=COALESCE(started, ?) WHERE seq=?",
            (state, reason, stamp, seq),
        )
    elif state in TERMINAL_JOB_STATES:
        store.db.execute(
            "UPDATE jobs SET state=?, reason=?, finished=? WHERE seq=?",
            (state, reason, stamp, seq),
        )
    else:
        store.db.execute("UPDATE jobs SET state=?, reason=? WHERE seq=?", (state, reason, seq))


def set_datum_progress(store: Store, seq: int, progress: dict[str, int | str]) -> bool:
    """Record the running datum's advisory progress (`protocol.progress`); False when the row
    already holds it. The datum's persisted result clears it (`executor.persist`)."""
    value = json.dumps(progress, sort_keys=True)
    with store.transaction():
        cur = store.db.execute(
            "UPDATE jobs SET datum_progress=? WHERE seq=? AND datum_progress IS NOT ?",
            (value, seq, value),
        )
    return cur.rowcount > 0


def refresh_counts(store: Store, seq: int, total: int | None = None) -> None:
    """Recompute a job's counts and stats from its datum rows (idempotent, used on resume)."""
    (
        processed,
        skipped,
        failed,
        recovered,
        dl_bytes,
        up_bytes,
        dl_s,
        proc_s,
        up_s,
    ) = store.db.execute(
        "SELECT COALESCE(SUM(state='SUCCESS'),0), COALESCE(SUM(state='SKIPPED'),0), "
        "COALESCE(SUM(state='FAILED'),0), COALESCE(SUM(state='RECOVERED'),0), "
        "COALESCE(SUM(download_bytes),0), COALESCE(SUM(upload_bytes),0), "
        "COALESCE(SUM(download_seconds),0), COALESCE(SUM(process_seconds),0), "
        "COALESCE(SUM(upload_seconds),0) FROM job_datums WHERE job_seq=?",
        (seq,),
    ).fetchone()
    store.db.execute(
        "UPDATE jobs SET data_total=COALESCE(?, data_total), data_processed=?, data_skipped=?, "
        "data_failed=?, data_recovered=?, download_bytes=?, upload_bytes=?, "
        "download_seconds=?, process_seconds=?, upload_seconds=? WHERE seq=?",
        (total, processed, skipped, failed, recovered, dl_bytes, up_bytes, dl_s, proc_s, up_s, seq),
    )


def kill_unfinished(store: Store, pipeline: str, reason: str) -> list[str]:
    """Kill a pipeline's non-terminal jobs (inside a transaction); their output commits finish
    with the reason as error, so downstream jobs of the same commit sets become unrunnable."""
    killed = []
    for job in unfinished_jobs(store):
        if job.pipeline != pipeline:
            continue
        kill_job(store, job, reason)
        killed.append(job.id)
    return killed


def kill_job(store: Store, job: JobRow, reason: str) -> None:
    """Kill one job (inside a transaction): KILLED, its output commit finished with `reason`."""
    set_state(store, job.seq, KILLED, reason)
    if job.output_commit is not None:
        commit = store.commit_by_rowid(job.output_commit)
        if commit.finished is None:
            store.finish_commit(commit, error=reason, move_head=False)


def delete_jobs(store: Store, pipeline: str) -> None:
    for job in list_jobs(store, pipeline):
        delete_job(store, job)
    store.db.execute("DELETE FROM logs WHERE pipeline=?", (pipeline,))


def delete_job(store: Store, job: JobRow) -> None:
    """Forget one job (inside a transaction): its record, datums, staged outputs and logs.
    Its output commit stays, as pachd's DeleteJob keeps it."""
    for table in ("job_inputs", "job_datums", "datum_outputs"):
        store.db.execute(f"DELETE FROM {table} WHERE job_seq=?", (job.seq,))
    store.db.execute("DELETE FROM jobs WHERE seq=?", (job.seq,))
    store.db.execute("DELETE FROM logs WHERE pipeline=? AND job=?", (job.pipeline, job.id))


def datum_infos(store: Store, seq: int) -> list[DatumInfo]:
    """Datums of a job with their state, in datum-ID order."""
    rows = store.db.execute(
        "SELECT datum, state, files, reason, attempts, process_seconds FROM job_datums "
        "WHERE job_seq=? ORDER BY datum",
        (seq,),
    ).fetchall()
    return [
        DatumInfo(
            id=d,
            state=s,
            files=f.split("\n") if f else [],
            seconds=float(t),
            reason=r,
            attempts=int(a),
        )
        for d, s, f, r, a, t in rows
    ]

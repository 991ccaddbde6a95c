"""Running jobs: datums, skipping against the last successful job, execution, output commit.

`run_pending` takes the run lock, removes scratch dirs of killed runs, then repeatedly picks the
oldest runnable job (its pipeline is not stopped, no older job of the pipeline is unfinished,
and its input commits are finished) until none is left, so a DAG runs upstream first. A job:
1. fails as UNRUNNABLE when an input commit carries an error (an upstream job failed);
2. lists its datums on its fixed input commits and diffs them against the base (the newest
   successful job): same hash and PROCESSED -> SKIPPED, everything else runs (`executor`);
   datums finished by an earlier, killed run are not run again;
3. assembles the output commit in one transaction: base tree, minus the outputs of datums that
   are not skipped (vanished or re-run), plus the new outputs; a path written by two datums
   (or a file/directory collision) fails the job, as in Pachyderm 2.x.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator

from capstone_cli.engine import faults
from capstone_cli.engine.datums.listing import Datum, list_datums
from capstone_cli.engine.images import image_dir
from capstone_cli.engine.inputs import FileInfo
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import logs
from capstone_cli.engine.run.fanout import fan_out
from capstone_cli.engine.run.pipeline_records import PipelineRecord, find_pipeline
from capstone_cli.engine.run.propagation import heads_moved
from capstone_cli.engine.store.ioerrors import storage_errors
from capstone_cli.engine.store.locks import run_lock
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.store.tree import walk_tree
from capstone_cli.engine.worker.executor import DatumResult, JobContext, Slot, job_env, run_slot
from capstone_cli.engine.worker.pfsmount import announce_fallback, pfs_mode
from capstone_cli.engine.worker.scratch import clean_orphans
from capstone_cli.errors import ConflictError, NotFoundError, SpecError
from capstone_cli.results import JobInfo

ProgressFn = Callable[[list[JobInfo]], None]
UPSTREAM_FAILED = "unrunnable because the following upstream pipelines failed: {}"


class CommitSource:
    """A FileSource over a job's fixed input commits (not the moving branch heads)."""

    def __init__(self, store: Store, commits: dict[tuple[str, str], int | None]) -> None:
        self.store = store
        self.commits = commits

    def walk(self, repo: str, branch: str) -> Iterator[FileInfo]:
        return self._walk(repo, branch, None)

    def walk_to_depth(self, repo: str, branch: str, max_depth: int) -> Iterator[FileInfo]:
        """Only entries at most `max_depth` deep (datums.DepthLimitedSource): reads less."""
        return self._walk(repo, branch, max_depth)

    def _walk(self, repo: str, branch: str, max_depth: int | None) -> Iterator[FileInfo]:
        if (repo, branch) not in self.commits:
            if max_depth is None:
                return self.store.walk(repo, branch)
            return self.store.walk_to_depth(repo, branch, max_depth)
        rowid = self.commits[(repo, branch)]
        if rowid is None:
            return walk_tree([])
        return self.store.walk_commit(self.store.commit_by_rowid(rowid), max_depth)

    def head_commit(self, repo: str, branch: str) -> str | None:
        rowid = self.commits.get((repo, branch))
        if rowid is None:
            return (
                self.store.head_commit(repo, branch) if (repo, branch) not in self.commits else None
            )
        return self.store.commit_by_rowid(rowid).id


def effective_parallelism(record: PipelineRecord, override: int | None = None) -> int:
    """`parallelism` argument > $CAPSTONE_PARALLELISM > parallelism_spec capped by the cores."""
    if override:
        return max(1, override)
    env = os.environ.get("CAPSTONE_PARALLELISM", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(record.spec.parallelism or 1, os.cpu_count() or 1))


def _ready(store: Store, job: J.JobRow) -> tuple[bool, list[str]]:
    """(all input commits finished, upstream repos whose commit has an error)."""
    failed: list[str] = []
    for (repo, _branch), rowid in sorted(J.job_inputs(store, job.seq).items()):
        if rowid is None:
            continue
        commit = store.commit_by_rowid(rowid)
        if commit.finished is None:
            return False, []
        if commit.error and repo not in failed:
            failed.append(repo)
    return True, failed


def _next_runnable(store: Store) -> J.JobRow | None:
    blocked: set[str] = set()
    for job in J.unfinished_jobs(store):
        if job.pipeline in blocked:
            continue
        blocked.add(job.pipeline)
        rec = find_pipeline(store, job.pipeline)
        if rec is None or rec.stopped:
            continue
        if _ready(store, job)[0]:
            return job
    return None


def run_pending(
    store: Store,
    *,
    parallelism: int | None = None,
    on_progress: ProgressFn | None = None,
    lock_timeout: float | None = None,
) -> list[J.JobRow]:
    """Run every runnable job to a terminal state, in DAG order; returns the jobs run."""
    done: list[J.JobRow] = []
    # a failing disk surfaces anywhere in a run (scratch files, blob files, SQLite): one
    # translation here, so none of them reads as a bug
    with run_lock(store.home, lock_timeout), storage_errors():
        clean_orphans(store.home)
        while (job := _next_runnable(store)) is not None:
            try:
                done.append(run_job(store, job, parallelism=parallelism, on_progress=on_progress))
            except NotFoundError:
                if J.job_exists(store, job.seq):
                    raise
                # `pipeline delete` removed the job while it ran: go on with the others
    return done


def wait_commit_set(
    store: Store,
    commit_set: str,
    *,
    parallelism: int | None = None,
    on_progress: ProgressFn | None = None,
) -> list[J.JobRow]:
    """Run what is pending and return the jobs of `commit_set` (newest first)."""
    run_pending(store, parallelism=parallelism, on_progress=on_progress)
    return J.list_jobs(store, commit_set=commit_set)


def _finish_unrunnable(store: Store, job: J.JobRow, failed: list[str]) -> None:
    _end_unstarted(store, job, J.UNRUNNABLE, UPSTREAM_FAILED.format(", ".join(failed)))


def _end_unstarted(store: Store, job: J.JobRow, state: str, reason: str) -> None:
    """End a job that runs no datum (UNRUNNABLE, or FAILURE when it cannot be planned)."""
    with store.transaction():
        J.set_state(store, job.seq, state, reason)
        if job.output_commit is not None:
            store.finish_commit(store.commit_by_rowid(job.output_commit), error=reason)
        logs.write_lines(store.db, job.pipeline, job.id, "", [logs.Line(reason, master=True)])


def plan(
    store: Store, job: J.JobRow, rec: PipelineRecord, source: CommitSource
) -> tuple[int, list[tuple[Datum, str]], J.JobRow | None]:
    """Datums to run now (skips recorded as SKIPPED rows); returns (total, to_run, base)."""
    datums = list_datums(rec.spec.input, source, pipeline=rec.name) if rec.spec.input else []
    base = J.last_success(store, rec.name, job.seq)
    base_rows: dict[str, tuple[str, str]] = {}
    if base is not None:
        base_rows = {
            d: (h, s)
            for d, h, s in store.db.execute(
                "SELECT datum, hash, state FROM job_datums WHERE job_seq=?", (base.seq,)
            )
        }
    finished = {
        d for (d,) in store.db.execute("SELECT datum FROM job_datums WHERE job_seq=?", (job.seq,))
    }
    every_job = rec.spec.reprocess_spec == "every_job"
    to_run: list[tuple[Datum, str]] = []
    skipped: list[tuple[object, ...]] = []
    for datum in datums:
        if datum.id in finished:
            continue
        digest = datum.hash(rec.salt)
        prev = base_rows.get(datum.id)
        if (
            not every_job
            and prev is not None
            and prev[0] == digest
            and prev[1] in J.PROCESSED_STATES
        ):
            files = "\n".join(f"{i.name}:{i.file.path}" for i in datum.inputs)
            skipped.append((job.seq, datum.id, J.D_SKIPPED, digest, files))
        else:
            to_run.append((datum, digest))
    with store.transaction():
        store.db.executemany(
            "INSERT OR REPLACE INTO job_datums(job_seq, datum, state, hash, files) "
            "VALUES(?,?,?,?,?)",
            skipped,
        )
        J.refresh_counts(store, job.seq, total=len(datums))
    return len(datums), to_run, base


def execute(
    store: Store,
    ctx: JobContext,
    items: list[tuple[Datum, str]],
    slots: int,
    on_done: Callable[[DatumResult], None],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Run datums with up to `slots` at once (one process per datum, or batched workers).

    `on_tick` redraws progress while a datum runs; it is called on this thread only, so only
    the one-slot path (where datums run on this thread) calls it. Parallel slots record their
    datums' progress on the job row too (`capstone jobs`); the display shows it at its next
    redraw. Batched workers report theirs the same way, one datum at a time.
    """
    if ctx.spec.transform.datum_batching:
        from capstone_cli.engine.worker.batching import run_batched

        run_batched(ctx, items, slots, on_done, on_tick)
        return
    if slots <= 1 or len(items) <= 1:
        slot = Slot(ctx, "0", report=on_tick)
        pending = iter(items)
        try:
            run_slot(store, ctx, slot, lambda: next(pending, None), on_done)
        finally:
            slot.close()
        return

    def worker(
        index: int,
        take: Callable[[], tuple[Datum, str] | None],
        emit: Callable[[DatumResult], None],
    ) -> None:
        own = Store(store.home)  # SQLite connections belong to one thread
        slot = Slot(ctx, str(index))
        try:
            run_slot(own, ctx, slot, take, emit)
        finally:
            slot.close()
            own.close()

    fan_out(items, slots, worker, on_done)


def run_job(
    store: Store,
    job: J.JobRow,
    *,
    parallelism: int | None = None,
    on_progress: ProgressFn | None = None,
) -> J.JobRow:
    """Bring one job to a terminal state (resuming it if a killed run left it RUNNING)."""
    ready, failed = _ready(store, job)
    if failed:
        _finish_unrunnable(store, job, failed)
        return J.job_by_seq(store, job.seq)
    rec = find_pipeline(store, job.pipeline)
    assert ready
    if rec is None:
        raise NotFoundError(f"pipeline {job.pipeline!r} not found")
    resumed = job.state == J.RUNNING
    with store.transaction():
        faults.checkpoint("runner.job.running")
        J.set_state(store, job.seq, J.RUNNING)
    commits = J.job_inputs(store, job.seq)
    try:
        total, to_run, base = plan(store, job, rec, CommitSource(store, commits))
    except SpecError as exc:  # e.g. a glob stored before create checked it: fail, block no one
        _end_unstarted(store, job, J.FAILURE, f"cannot list the datums: {exc.message}")
        return J.job_by_seq(store, job.seq)
    faults.checkpoint("runner.job.planned")
    logs.master(
        store,
        job.pipeline,
        job.id,
        f"{'resumed' if resumed else 'started'} job: {total} datums, {len(to_run)} to process",
    )
    if on_progress:  # RUNNING with its total now, not CREATED 0/0 until its first datum ends
        on_progress([j.info() for j in J.list_jobs(store, commit_set=job.id)])
    mode = pfs_mode()
    announce_fallback(mode)  # proot: slower; rewrite: non-Python code misses `/pfs/...` paths
    logs.master(store, job.pipeline, job.id, mode.describe())
    ctx = JobContext(
        store.home,
        rec.spec,
        rec.salt,
        job.id,
        job.seq,
        commits,
        job_env(rec.spec, job.id, mode.at_pfs),
        pfs_mode=mode,
        image_dir=image_dir(store.home, rec.spec.transform.image),
    )
    last = [0.0]

    def on_done(result: DatumResult) -> None:
        if on_progress and time.monotonic() - last[0] > 0.2:
            last[0] = time.monotonic()
            on_progress([j.info() for j in J.list_jobs(store, commit_set=job.id)])

    def on_tick() -> None:  # a long datum's own progress changed (e.g. one more epoch)
        if on_progress:
            on_progress([j.info() for j in J.list_jobs(store, commit_set=job.id)])

    execute(store, ctx, to_run, effective_parallelism(rec, parallelism), on_done, on_tick)
    faults.checkpoint("runner.job.finishing")
    finish_job(store, job, base)
    final = J.job_by_seq(store, job.seq)
    faults.checkpoint("runner.job.finished")
    if on_progress:
        on_progress([j.info() for j in J.list_jobs(store, commit_set=job.id)])
    return final


def _first(rows: Iterable[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    return next(iter(rows), None)


def finish_job(store: Store, job: J.JobRow, base: J.JobRow | None) -> None:
    """Assemble and finish the output commit, set the final state, in ONE transaction."""
    out, seq = job.output_commit, job.seq
    assert out is not None
    success = "SELECT datum FROM job_datums WHERE job_seq=? AND state='SUCCESS'"
    with store.transaction():
        db = store.db
        J.set_state(store, seq, J.FINISHING)
        J.refresh_counts(store, seq)
        db.execute("DELETE FROM files WHERE commit_id=?", (out,))
        if base is not None and base.output_commit is not None:
            db.execute(
                "INSERT INTO files(commit_id, path, blob, size, datum) "
                "SELECT ?, path, blob, size, datum FROM files WHERE commit_id=?",
                (out, base.output_commit),
            )
        db.execute(
            "DELETE FROM files WHERE commit_id=? AND datum!='' AND datum NOT IN "
            "(SELECT datum FROM job_datums WHERE job_seq=? AND state='SKIPPED')",
            (out, seq),
        )
        dup = _first(
            db.execute(
                f"SELECT path, MIN(datum), MAX(datum) FROM datum_outputs WHERE job_seq=? AND datum "
                f"IN ({success}) GROUP BY path HAVING COUNT(*)>1 ORDER BY path LIMIT 1",
                (seq, seq),
            )
        )
        dup = dup or _first(
            db.execute(
                f"SELECT o.path, f.datum, o.datum FROM datum_outputs o JOIN files f ON "
                f"f.commit_id=? AND f.path=o.path WHERE o.job_seq=? AND o.datum IN ({success}) "
                "ORDER BY o.path LIMIT 1",
                (out, seq, seq),
            )
        )
        db.execute(
            "INSERT OR IGNORE INTO files(commit_id, path, blob, size, datum) SELECT ?, path, "
            f"blob, size, datum FROM datum_outputs WHERE job_seq=? AND datum IN ({success})",
            (out, seq, seq),
        )
        failed = db.execute(
            "SELECT datum FROM job_datums WHERE job_seq=? AND state='FAILED' ORDER BY datum "
            "LIMIT 1",
            (seq,),
        ).fetchone()
        reason = ""
        if failed:
            reason = f"datum {failed[0]} failed"
        elif dup:
            reason = (
                f"duplicate path output by different datums: {dup[0]} "
                f"(datums {dup[1]} and {dup[2]})"
            )
        else:
            try:
                store.check_collisions(out)
            except ConflictError as exc:
                reason = exc.message
        finished = store.finish_commit(store.commit_by_rowid(out), error=reason)
        J.set_state(store, seq, J.FAILURE if reason else J.SUCCESS, reason)
        if not reason:  # an output branch that other branches' triggers watch
            heads_moved(store, finished, [finished.branch], started=True)
        db.execute("DELETE FROM datum_outputs WHERE job_seq=?", (seq,))
        state = "JOB_FAILURE: " + reason if reason else "JOB_SUCCESS"
        logs.write_lines(
            db, job.pipeline, job.id, "", [logs.Line(f"finished job: {state}", master=True)]
        )

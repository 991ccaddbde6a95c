"""Follow commit sets to the end, and say why a job failed.

Used by every workflow that triggers jobs (train, predict, apply, put, pipeline create). Jobs
are reported through a `Progress` in pipeline (DAG) order, empty finished jobs left out: the
0/0 job Pachyderm makes when a pipeline is created tells nobody anything, and a group made only
of such jobs is not shown at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from capstone_cli.backends.base import Backend
from capstone_cli.results import JobInfo
from capstone_cli.workflows.pipelines.diagnosis import job_failure
from capstone_cli.workflows.pipelines.status import dag_order, in_dag_order
from capstone_cli.workflows.progress import SILENT, Progress


def _nothing_to_do(job: JobInfo) -> bool:
    """Planned with no datum (running or finished 0/0, no failure): `is_empty` before it ends.
    A JOB_CREATED job is still shown: its datums are not counted yet."""
    return job.data_total == 0 and not job.reason and job.state != "JOB_CREATED"


@dataclass
class _Shown:
    """What the progress has been told. Every update is about one commit set (a job ID is its
    commit set's ID); the header names the commit set whose jobs are shown, which on the
    embedded engine may be the data's even while the caller waits on the empty job `apply`
    made (waiting runs everything pending)."""

    progress: Progress
    order: list[str]
    current: str = ""
    done: set[str] = field(default_factory=set)

    def update(self, jobs: list[JobInfo]) -> None:
        shown = [j for j in in_dag_order(jobs, self.order) if not _nothing_to_do(j)]
        if not shown or shown[0].id in self.done:
            return
        if shown[0].id != self.current:
            self.finish()
            self.current = shown[0].id
            self.progress.jobs_started(f"commit set {self.current}")
        self.progress.jobs_updated(shown)
        if all(j.terminal for j in jobs):
            self.finish()

    def finish(self) -> None:
        if self.current:
            self.progress.jobs_finished()
            self.done.add(self.current)
            self.current = ""


def follow_commit_sets(
    backend: Backend, commit_sets: Sequence[str], progress: Progress = SILENT
) -> list[JobInfo]:
    """Wait for (on the embedded backend: run) every job of the commit sets, in order.

    Raises `JobFailedError` naming the first failed job in DAG order (the cause, not a
    downstream job it left unrunnable) with what its failing datum logged last.
    """
    order = dag_order(backend.list_pipelines())
    shown = _Shown(progress, order)
    jobs: list[JobInfo] = []
    try:
        for commit_set in dict.fromkeys(commit_sets):
            done = backend.wait_commit_set(commit_set, on_progress=shown.update)
            shown.update(done)
            jobs.extend(done)
    finally:
        shown.finish()
    error = job_failure(backend, in_dag_order(jobs, order))
    if error is not None:
        raise error
    return jobs

"""Follow commit sets to the end with the live jobs display; fail on a failed job."""

from __future__ import annotations

from collections.abc import Sequence

from capstone_cli import ui
from capstone_cli.backends.base import Backend, JobInfo
from capstone_cli.errors import JobFailedError


def failed_jobs_error(jobs: Sequence[JobInfo]) -> JobFailedError | None:
    """The error for the first job that did not succeed, with where to look next."""
    for job in jobs:
        if job.state != "JOB_SUCCESS":
            return JobFailedError(
                f"{job.pipeline} job {job.id} ended in {job.state}: {job.reason or 'no reason'}",
                hint=f"see `capstone logs -p {job.pipeline} -j {job.id}` and "
                f"`capstone datum list {job.pipeline}@{job.id}`",
            )
    return None


def follow_commit_sets(backend: Backend, commit_sets: Sequence[str]) -> list[JobInfo]:
    """Wait for (on the embedded backend: run) every job of the commit sets."""
    jobs: list[JobInfo] = []
    for commit_set in dict.fromkeys(commit_sets):
        with ui.JobsDisplay(f"commit set {commit_set[:12]}") as display:
            jobs.extend(backend.wait_commit_set(commit_set, on_progress=display.update))
    error = failed_jobs_error(jobs)
    if error is not None:
        raise error
    return jobs

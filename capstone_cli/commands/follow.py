"""Follow commit sets to the end with the live jobs display; fail on a failed job."""

from __future__ import annotations

from collections.abc import Sequence

from capstone_cli import ui
from capstone_cli.backends.base import Backend
from capstone_cli.errors import CapstoneError, JobFailedError
from capstone_cli.results import JobInfo, failed_job_error

MAX_DETAIL = 300


def follow_commit_sets(backend: Backend, commit_sets: Sequence[str]) -> list[JobInfo]:
    """Wait for (on the embedded backend: run) every job of the commit sets."""
    jobs: list[JobInfo] = []
    for commit_set in dict.fromkeys(commit_sets):
        with ui.JobsDisplay(f"commit set {commit_set[:12]}") as display:
            jobs.extend(backend.wait_commit_set(commit_set, on_progress=display.update))
    error = job_failure(backend, jobs)
    if error is not None:
        raise error
    return jobs


def job_failure(backend: Backend, jobs: Sequence[JobInfo]) -> JobFailedError | None:
    """`failed_job_error` plus what the user code said last in the first failed datum.

    "datum X failed" tells nobody what to fix; the last line a failing worker logged is its
    exception (`RuntimeError: cannot load model ...`), so the one-line error carries it.
    """
    error = failed_job_error(jobs)
    if error is None:
        return None
    failed = next(j for j in jobs if j.terminal and j.state != "JOB_SUCCESS")
    detail = _last_words(backend, failed) if failed.data_failed else ""
    if not detail:
        return error
    return JobFailedError(f"{error.message}: {detail}", hint=error.hint)


def _last_words(backend: Backend, job: JobInfo) -> str:
    try:
        datum = next(
            (d for d in backend.list_datums(job.pipeline, job.id) if d.state == "FAILED"), None
        )
        if datum is None:
            return ""
        lines = [
            line.message.strip()
            for line in backend.logs(job.pipeline, job.id, datum.id, False, False)
            if line.message.strip() and not line.master
        ]
    except CapstoneError:  # the failure itself is what matters; its detail is a bonus
        return ""
    last = lines[-1] if lines else datum.reason
    return " ".join(last.split())[:MAX_DETAIL]

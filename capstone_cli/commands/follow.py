"""Follow commit sets to the end with the live jobs display; fail on a failed job."""

from __future__ import annotations

from collections.abc import Sequence

from capstone_cli import ui
from capstone_cli.backends.base import Backend, JobInfo, failed_job_error


def follow_commit_sets(backend: Backend, commit_sets: Sequence[str]) -> list[JobInfo]:
    """Wait for (on the embedded backend: run) every job of the commit sets."""
    jobs: list[JobInfo] = []
    for commit_set in dict.fromkeys(commit_sets):
        with ui.JobsDisplay(f"commit set {commit_set[:12]}") as display:
            jobs.extend(backend.wait_commit_set(commit_set, on_progress=display.update))
    error = failed_job_error(jobs)
    if error is not None:
        raise error
    return jobs

"""Why a job failed, from its logs: which job (the cause, not the jobs it left unrunnable),
which datum, and what the user code said last. Shared by `train`'s error and `status`."""

from __future__ import annotations

from collections.abc import Sequence

from capstone_cli.backends.base import Backend
from capstone_cli.errors import CapstoneError, JobFailedError
from capstone_cli.results import DatumInfo, JobInfo, failed_job_error

MAX_DETAIL = 300


def job_failure(backend: Backend, jobs: Sequence[JobInfo]) -> JobFailedError | None:
    """`failed_job_error` plus what the user code said last in the first failed datum.

    "datum X failed" tells nobody what to fix; the last line a failing worker logged is its
    exception (`RuntimeError: cannot load model ...`), so the one-line error carries it.
    """
    error = failed_job_error(jobs)
    if error is None:
        return None
    failed = next(j for j in jobs if j.terminal and j.state != "JOB_SUCCESS")
    detail = last_words(backend, failed) if failed.data_failed else ""
    if not detail:
        return error
    return JobFailedError(f"{error.message}: {detail}", hint=error.hint)


def failed_datum_tail(
    backend: Backend, job: JobInfo, tail: int
) -> list[tuple[DatumInfo, list[str]]]:
    """Each failed datum of `job` with the last `tail` lines its user code logged."""
    result = []
    for datum in backend.list_datums(job.pipeline, job.id):
        if datum.state == "FAILED":
            lines = [
                line.message.strip()
                for line in backend.logs(job.pipeline, job.id, datum.id, False, False)
                if line.message.strip() and not line.master
            ]
            result.append((datum, lines[-tail:]))
    return result


def last_words(backend: Backend, job: JobInfo) -> str:
    """The last line the first failed datum of `job` logged (or its reason)."""
    try:
        failed = failed_datum_tail(backend, job, 1)
    except CapstoneError:  # the failure itself is what matters; its detail is a bonus
        return ""
    if not failed:
        return ""
    datum, lines = failed[0]
    last = lines[-1] if lines else datum.reason
    return " ".join(last.split())[:MAX_DETAIL]

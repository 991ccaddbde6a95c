"""Names the user typed, checked before anything is listed: a typo in `-p imagse` is an error
that names what was not found and the nearest valid name (exit 4), never an empty answer."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from capstone_cli.backends.base import Backend
from capstone_cli.engine.names import key_of
from capstone_cli.errors import NotFoundError
from capstone_cli.results import JobInfo, LogLine


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `name` (difflib), or None when nothing is close."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _not_found(what: str, name: str, candidates: list[str], listing: str) -> NotFoundError:
    close = nearest(name, candidates)
    hint = f"did you mean {close!r}? " if close else ""
    return NotFoundError(f"{what} {name!r} not found", hint=f"{hint}see `{listing}`")


def check_pipeline(backend: Backend, name: str) -> None:
    names = [p.name for p in backend.list_pipelines()]
    keys = {key_of(n, backend.project) for n in names}
    if key_of(name, backend.project) not in keys:
        raise _not_found("pipeline", name, names, "capstone pipeline list")


def find_job(backend: Backend, pipeline: str | None, job_id: str) -> list[JobInfo]:
    """The jobs whose ID starts with `job_id` (of `pipeline` when given): one per pipeline of
    the commit set, as a job ID names a commit set."""
    if pipeline is not None:
        check_pipeline(backend, pipeline)
    jobs = backend.list_jobs(pipeline)
    matching = [j for j in jobs if j.id.startswith(job_id)]
    if not matching:
        where = f" of pipeline {pipeline!r}" if pipeline else ""
        raise _not_found(
            f"job{where}",
            job_id,
            list(dict.fromkeys(j.id for j in jobs)),
            f"capstone jobs{f' -p {pipeline}' if pipeline else ''}",
        )
    return matching


def check_datum(backend: Backend, jobs: list[JobInfo], datum_id: str) -> None:
    ids = [d.id for job in jobs for d in backend.list_datums(job.pipeline, job.id)]
    if datum_id not in ids:
        listing = (
            f"capstone datum list {jobs[0].pipeline}@{jobs[0].id}" if jobs else "capstone jobs"
        )
        raise _not_found("datum", datum_id, ids, listing)


def log_lines(
    backend: Backend,
    pipeline: str | None = None,
    job_id: str | None = None,
    datum_id: str | None = None,
    master: bool = False,
    follow: bool = False,
) -> Iterator[LogLine]:
    """`capstone logs`: the lines of a pipeline, job or datum, after checking each name."""
    if pipeline is not None:
        check_pipeline(backend, pipeline)
    jobs = find_job(backend, pipeline, job_id) if job_id else None
    if datum_id is not None:
        check_datum(backend, jobs if jobs is not None else backend.list_jobs(pipeline), datum_id)
    return backend.logs(pipeline, job_id, datum_id, master, follow)

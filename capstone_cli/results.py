"""The records every layer shares: repos, commits, files, pipelines, jobs, datums, log lines.

Plain dataclasses whose `to_json()` gives the stable snake_case shapes of the CLI contract, so a
command renders the same thing whichever backend answered. They live below the backends and the
engine (which builds them) so that no layer has to import a layer above it to name a result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capstone_cli.errors import JobFailedError


def _json(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


@dataclass
class RepoInfo:
    name: str
    type: str = "user"
    created: str = ""  # RFC 3339
    size: int = 0  # bytes on the master head
    description: str = ""
    branches: list[str] = field(default_factory=list)
    project: str = "default"

    def to_json(self) -> dict[str, Any]:
        return _json(self)

    @property
    def ref(self) -> str:
        """`name` in the project default, `project/name` elsewhere, as references write it."""
        return self.name if self.project == "default" else f"{self.project}/{self.name}"


@dataclass
class ProjectInfo:
    name: str
    description: str = ""
    created: str = ""  # RFC 3339
    repos: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class BranchInfo:
    """A branch: its head commit (None when empty), trigger and provenance, as pachd has them."""

    repo: str
    name: str
    head: str | None = None
    trigger: dict[str, Any] | None = None
    provenance: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class CommitInfo:
    repo: str
    branch: str
    id: str
    parent: str | None = None
    origin: str = "USER"  # USER | AUTO
    started: str = ""
    finished: str | None = None  # None while the commit is open
    size: int = 0
    description: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class FileEntry:
    path: str
    type: str  # "file" | "dir"
    size: int

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class FilePage:
    """One page of a directory listing; `next_after` resumes it (None on the last page).

    A directory entry's `size` is -1 when the backend does not know it without reading the
    whole subtree."""

    entries: list[FileEntry]
    next_after: str | None = None


@dataclass
class Upload:
    """One file to put: `path` in the repo, content from `data` or from the local `source`."""

    path: str
    data: bytes | None = None
    source: Path | None = None

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.stat().st_size


@dataclass
class PipelineInfo:
    name: str
    version: int = 1
    state: str = "PIPELINE_RUNNING"
    last_job_state: str = ""
    last_job_id: str = ""
    inputs: list[str] = field(default_factory=list)  # input repos
    created: str = ""
    description: str = ""
    parallelism: int = 1
    spec: dict[str, Any] = field(default_factory=dict)  # effective camelCase spec

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class JobInfo:
    pipeline: str
    id: str
    state: str
    data_total: int = 0
    data_processed: int = 0
    data_skipped: int = 0
    data_failed: int = 0
    data_recovered: int = 0
    reason: str = ""
    created: str = ""
    started: str | None = None
    finished: str | None = None
    download_bytes: int = 0
    upload_bytes: int = 0
    process_seconds: float = 0.0
    # the running datum's own progress (`{"done", "total", "unit"}`, e.g. epochs), or None
    datum_progress: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_JOB_STATES

    def to_json(self) -> dict[str, Any]:
        return _json(self)


TERMINAL_JOB_STATES = frozenset({"JOB_SUCCESS", "JOB_FAILURE", "JOB_KILLED", "JOB_UNRUNNABLE"})


def failed_job_error(jobs: Iterable[JobInfo]) -> JobFailedError | None:
    """The error to report for the first job that did not succeed, or None when all did."""
    for job in jobs:
        if job.terminal and job.state != "JOB_SUCCESS":
            reason = job.reason or f"{job.data_failed} datum(s) failed"
            return JobFailedError(
                f"job {job.id} of pipeline {job.pipeline} ended in {job.state}: {reason}",
                hint=f"capstone logs -p {job.pipeline} -j {job.id}",
            )
    return None


@dataclass
class DatumInfo:
    id: str
    state: str  # SUCCESS | SKIPPED | FAILED | RECOVERED | STARTING | UNKNOWN
    files: list[str] = field(default_factory=list)  # "<input>:<path>" per input file
    seconds: float = 0.0
    reason: str = ""
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class LogLine:
    pipeline: str
    job: str
    datum: str
    message: str
    ts: str = ""
    master: bool = False  # a master (orchestration) line, not user-code output
    stream: str = "stdout"

    def to_json(self) -> dict[str, Any]:
        return _json(self)


@dataclass
class ApplyResult:
    """What `apply_pipeline` did (or would do, with `dry_run`)."""

    pipeline: str
    action: str  # "created" | "updated" | "unchanged"
    diff: list[str] = field(default_factory=list)  # unified-diff lines of the effective spec
    job_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _json(self)

"""The one interface every workflow command uses, and the records it returns.

Two implementations: `embedded` (the local engine) and `pachyderm` (a cluster through
pachyderm_sdk). Records are plain dataclasses whose `to_json()` gives the stable snake_case
shapes of the CLI contract, so a command renders the same thing whichever backend answered.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
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


ProgressFn = Callable[[list[JobInfo]], None]


class Backend(ABC):
    """Operations the workflow commands need, on either backend."""

    name: str = ""

    # -- repos ---------------------------------------------------------------------------
    @abstractmethod
    def create_repo(self, name: str, description: str = "", exist_ok: bool = False) -> RepoInfo:
        """Create a repo; with `exist_ok`, return the existing one instead of failing."""

    @abstractmethod
    def list_repos(self) -> list[RepoInfo]: ...

    @abstractmethod
    def inspect_repo(self, name: str) -> RepoInfo: ...

    @abstractmethod
    def delete_repo(self, name: str, force: bool = False) -> None: ...

    # -- data ----------------------------------------------------------------------------
    @abstractmethod
    def put_files(
        self,
        repo: str,
        branch: str,
        uploads: Iterable[Upload],
        *,
        description: str = "",
        delete_paths: Iterable[str] = (),
        on_bytes: Callable[[int], None] | None = None,
        skip_unchanged: bool = False,
    ) -> CommitInfo:
        """Write all `uploads` (after deleting `delete_paths`) in ONE commit, atomically.

        Creates the repo and branch when missing. If anything fails midway nothing becomes
        visible: the branch head stays where it was. With `skip_unchanged`, a commit whose
        tree would equal its parent's is not made and the head commit is returned (the
        embedded backend; a cluster always commits, and pachd then skips every datum).
        """

    @abstractmethod
    def list_files(self, repo: str, ref: str, path: str = "/") -> list[FileEntry]:
        """Entries directly under `path` (or the file itself) at branch or commit `ref`."""

    @abstractmethod
    def walk_files(self, repo: str, ref: str, path: str = "/") -> Iterator[FileEntry]:
        """Every file under `path`, recursively, in path order."""

    @abstractmethod
    def read_file(self, repo: str, ref: str, path: str) -> Iterator[bytes]:
        """Stream one file's content in chunks."""

    @abstractmethod
    def list_commits(
        self, repo: str, branch: str | None = None, limit: int = 0
    ) -> list[CommitInfo]:
        """Commits newest first; all branches when `branch` is None; `limit` 0 means all."""

    # -- pipelines -----------------------------------------------------------------------
    @abstractmethod
    def apply_pipeline(
        self, spec: dict[str, Any], *, reprocess: bool = False, dry_run: bool = False
    ) -> ApplyResult:
        """Create the pipeline, or update it when its effective spec changed (idempotent)."""

    @abstractmethod
    def list_pipelines(self) -> list[PipelineInfo]: ...

    @abstractmethod
    def inspect_pipeline(self, name: str) -> PipelineInfo: ...

    @abstractmethod
    def delete_pipeline(self, name: str, keep_repo: bool = False) -> None: ...

    @abstractmethod
    def set_pipeline_stopped(self, name: str, stopped: bool) -> None:
        """Stop (pause: no new jobs) or start a pipeline."""

    # -- jobs ----------------------------------------------------------------------------
    @abstractmethod
    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        """Jobs newest first."""

    @abstractmethod
    def inspect_job(self, pipeline: str, job_id: str) -> JobInfo: ...

    @abstractmethod
    def wait_commit_set(
        self, commit_set: str, on_progress: ProgressFn | None = None, poll_seconds: float = 1.0
    ) -> list[JobInfo]:
        """Bring every job of a commit set to a terminal state and return them.

        The embedded backend runs the jobs here; a cluster backend polls until pachd is done.
        """

    @abstractmethod
    def list_datums(self, pipeline: str, job_id: str) -> list[DatumInfo]: ...

    @abstractmethod
    def logs(
        self,
        pipeline: str | None = None,
        job_id: str | None = None,
        datum_id: str | None = None,
        master: bool = False,
        follow: bool = False,
    ) -> Iterator[LogLine]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

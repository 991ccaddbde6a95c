"""The one interface every workflow uses, on either backend.

Two implementations: `embedded` (the local engine) and `pachyderm` (a cluster through
pachyderm_sdk). They return the records of `capstone_cli.results`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from capstone_cli.errors import UsageError
from capstone_cli.results import (
    ApplyResult,
    BranchInfo,
    CommitInfo,
    DatumInfo,
    FileEntry,
    FilePage,
    JobInfo,
    LogLine,
    PipelineInfo,
    ProjectInfo,
    RepoInfo,
    Upload,
)

if TYPE_CHECKING:  # the engine is imported only where a backend runs it
    from capstone_cli.engine.datums.explain import DatumReport
    from capstone_cli.engine.fsck import FsckReport
    from capstone_cli.engine.inputs import Input
    from capstone_cli.engine.pipeline_spec import PipelineSpec


ProgressFn = Callable[[list[JobInfo]], None]


class Backend(ABC):
    """Operations the workflow commands need, on either backend.

    Workflows never ask which backend they hold: what differs is a declared capability
    (`local_paths`) or a method that a backend refuses with a UsageError and a hint
    (`fsck`, `explain_datums` and `run_pending` need the embedded engine's store).
    """

    name: str = ""
    local_paths: bool = False
    """Whether workers read this machine's files, so a TSV line may name a local image path."""

    project: str = "default"
    """The project that bare repo and pipeline names are in (`--project`, CAPSTONE_PROJECT)."""

    # -- projects ------------------------------------------------------------------------
    def create_project(self, name: str, description: str = "") -> ProjectInfo:
        raise self._unsupported("projects")

    def list_projects(self) -> list[ProjectInfo]:
        raise self._unsupported("projects")

    def inspect_project(self, name: str) -> ProjectInfo:
        raise self._unsupported("projects")

    def delete_project(self, name: str) -> None:
        raise self._unsupported("projects")

    # -- branches ------------------------------------------------------------------------
    def create_branch(
        self, repo: str, branch: str, head: str | None = None, trigger: dict[str, Any] | None = None
    ) -> tuple[BranchInfo, str | None]:
        """Create a branch or move it to `head` (a branch or commit of the repo); `trigger`:
        {branch, size, commits, all}. Returns the branch and the commit set of the jobs a moved
        head started (None when none)."""
        raise self._unsupported("branches")

    def list_branches(self, repo: str) -> list[BranchInfo]:
        raise self._unsupported("branches")

    def delete_branch(self, repo: str, branch: str) -> None:
        raise self._unsupported("branches")

    def _unsupported(self, what: str) -> UsageError:
        """The refusal of a backend without these commands (the pachyderm one: pachctl has
        them, and `--project` and `project/repo` references work there)."""
        return UsageError(
            f"capstone's {what} commands are not implemented for the {self.name} backend",
            hint=f"use `pachctl` for {what} on a cluster, or the embedded backend",
        )

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
    def list_files_page(
        self, repo: str, ref: str, path: str = "/", after: str = "", limit: int = 200
    ) -> FilePage:
        """Up to `limit` entries directly under `path`, from the opaque cursor `after` (a
        page's `next_after`; "" for the first page), in pachd's order.

        For the dashboard: a page of a 660,000-entry directory must cost what a page of a
        small one costs, so implementations must not list the whole directory."""

    @abstractmethod
    def read_file(self, repo: str, ref: str, path: str) -> Iterator[bytes]:
        """Stream one file's content in chunks."""

    def read_file_head(self, repo: str, ref: str, path: str, limit: int) -> bytes:
        """At most the first `limit` bytes of a file (stops reading there)."""
        out = bytearray()
        chunks = self.read_file(repo, ref, path)
        for chunk in chunks:
            out += chunk
            if len(out) >= limit:
                break
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        return bytes(out[:limit])

    @abstractmethod
    def list_commits(
        self, repo: str, branch: str | None = None, limit: int = 0
    ) -> list[CommitInfo]:
        """Commits newest first; all branches when `branch` is None; `limit` 0 means all."""

    # -- pipelines -----------------------------------------------------------------------
    def check_runnable(self, spec: PipelineSpec) -> None:  # noqa: B027 (optional hook)
        """Refuse a spec this backend cannot run, before anything is written.

        A cluster runs whatever pachd accepts; the embedded engine refuses what it lacks.
        """

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

    @abstractmethod
    def run_pending(self, on_progress: ProgressFn | None = None) -> list[JobInfo]:
        """Process every pending job in DAG order (`capstone run`); a cluster runs its own."""

    # -- checks without running ----------------------------------------------------------
    @abstractmethod
    def explain_datums(self, node: Input, pipeline: str = "") -> DatumReport:
        """The datums `node` yields on the current branch heads, with unmatched files and
        warnings, computed without running anything."""

    @abstractmethod
    def fsck(self, *, fix: bool = False) -> FsckReport:
        """Check the store's invariants; with `fix`, remove unreferenced leftovers."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

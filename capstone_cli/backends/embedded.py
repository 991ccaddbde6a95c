"""The embedded backend: the Backend interface over the local engine (`capstone_cli.engine`).

Each method is a thin translation between engine records and the backend records of
`base.py`; the semantics live in the engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from capstone_cli.backends.base import Backend, ProgressFn
from capstone_cli.engine import fsck as fsckmod
from capstone_cli.engine.datums.explain import DatumReport, explain_datums
from capstone_cli.engine.inputs import Input
from capstone_cli.engine.names import DEFAULT_PROJECT, clean_file_path, key_of, ref_of
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.engine.run import branches as branchesmod
from capstone_cli.engine.run import jobs, pipeline_records, pipelines, runner
from capstone_cli.engine.run import logs as logsmod
from capstone_cli.engine.run.branches import BranchState
from capstone_cli.engine.run.propagation import on_input_commit
from capstone_cli.engine.store.pages import list_dir_page
from capstone_cli.engine.store.records import Commit, NewFile, Trigger
from capstone_cli.engine.store.store import Store, open_store
from capstone_cli.engine.unsupported import check_supported
from capstone_cli.errors import ConflictError
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
from capstone_cli.specs.parse import parse_spec


def commit_info(c: Commit) -> CommitInfo:
    return CommitInfo(
        repo=c.repo,
        branch=c.branch,
        id=c.id,
        parent=c.parent_id,
        origin=c.origin,
        started=c.started,
        finished=c.finished,
        size=c.size,
        description=c.description,
        error=c.error,
    )


def branch_info(b: BranchState) -> BranchInfo:
    trigger = dataclasses.asdict(b.trigger) if b.trigger else None
    return BranchInfo(b.repo, b.name, b.head, trigger, list(b.provenance))


class EmbeddedBackend(Backend):
    """Runs everything in-process against the store in CAPSTONE_HOME."""

    name = "embedded"
    local_paths = True

    def __init__(self, home: Path, project: str | None = None) -> None:
        self.home = home
        self.project = project or DEFAULT_PROJECT
        self.store: Store = open_store(home)

    def _key(self, name: str) -> str:
        """The store key of a repo or pipeline named `name` or `project/name` by the user
        (unchecked: a lookup of a bad name is "not found", a create checks it)."""
        return key_of(name, self.project)

    # -- projects ------------------------------------------------------------------------
    def _project_info(self, name: str) -> ProjectInfo:
        p = self.store.get_project(name)
        repos = [ref_of(k).name for k in self.store.project_repo_names(name)]
        return ProjectInfo(name=p.name, description=p.description, created=p.created, repos=repos)

    def create_project(self, name: str, description: str = "") -> ProjectInfo:
        self.store.create_project(name, description=description)
        return self._project_info(name)

    def list_projects(self) -> list[ProjectInfo]:
        return [self._project_info(p.name) for p in self.store.list_projects()]

    def inspect_project(self, name: str) -> ProjectInfo:
        return self._project_info(name)

    def delete_project(self, name: str) -> None:
        self.store.delete_project(name)

    def close(self) -> None:
        self.store.close()

    # -- branches (engine: capstone_cli.engine.run.branches) ------------------------------
    def create_branch(
        self, repo: str, branch: str, head: str | None = None, trigger: dict[str, Any] | None = None
    ) -> tuple[BranchInfo, str | None]:
        move = branchesmod.create_branch(
            self.store,
            self._key(repo),
            branch,
            head=head,
            trigger=Trigger(**trigger) if trigger else None,
        )
        return branch_info(move.branch), move.commit_set

    def list_branches(self, repo: str) -> list[BranchInfo]:
        return [branch_info(b) for b in branchesmod.list_branches(self.store, self._key(repo))]

    def delete_branch(self, repo: str, branch: str) -> None:
        branchesmod.delete_branch(self.store, self._key(repo), branch)

    # -- repos ---------------------------------------------------------------------------
    def _repo_info(self, key: str) -> RepoInfo:
        repo = self.store.get_repo(key)
        return RepoInfo(
            name=repo.ref.name,
            project=repo.ref.project,
            type=repo.type,
            created=repo.created,
            size=self.store.repo_size(key),
            description=repo.description,
            branches=self.store.branches(key),
        )

    def create_repo(self, name: str, description: str = "", exist_ok: bool = False) -> RepoInfo:
        repo = self.store.create_repo(
            ref_of(name, self.project), description=description, exist_ok=exist_ok
        )
        return self._repo_info(repo.name)

    def list_repos(self) -> list[RepoInfo]:
        """The repos of the current project, as `pachctl list repo`."""
        return [self._repo_info(r.name) for r in self.store.list_repos(project=self.project)]

    def inspect_repo(self, name: str) -> RepoInfo:
        return self._repo_info(self._key(name))

    def delete_repo(self, name: str, force: bool = False) -> None:
        """Delete a repo, refusing as pachd does: a pipeline's output repo never (delete the
        pipeline instead), a repo that pipelines read only with `force` (they lose their input).
        """
        name = self._key(name)
        self.store.get_repo(name)  # NotFoundError first
        if pipeline_records.find_pipeline(self.store, name) is not None:
            raise ConflictError(
                f"cannot delete repo {name!r}: it is the output repo of pipeline {name!r}",
                hint=f"delete the pipeline instead: `capstone pipeline delete {name}`",
            )
        readers = [
            p.name
            for p in pipeline_records.list_pipelines(self.store)
            if name in pipeline_records.input_repos(p.spec)
        ]
        if readers and not force:
            raise ConflictError(
                f"cannot delete repo {name!r}: pipeline(s) {', '.join(readers)} read it",
                hint=f"delete those pipelines first, or `capstone repo delete {name} --force`"
                " (they keep running without this input)",
            )
        self.store.delete_repo(name)

    # -- data ----------------------------------------------------------------------------
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
        files = (NewFile(u.path, data=u.data, source=u.source) for u in uploads)
        commit = self.store.put_files(
            ref_of(repo, self.project),
            branch,
            files,
            delete_paths=delete_paths,
            description=description,
            on_bytes=on_bytes,
            on_commit=on_input_commit(self.store),
            skip_unchanged=skip_unchanged,
        )
        return commit_info(commit)

    def list_files(self, repo: str, ref: str, path: str = "/") -> list[FileEntry]:
        commit = self.store.resolve(self._key(repo), ref)
        return [FileEntry(e.path, e.type, e.size) for e in self.store.list_dir(commit, path)]

    def list_files_page(
        self, repo: str, ref: str, path: str = "/", after: str = "", limit: int = 200
    ) -> FilePage:
        commit = self.store.resolve(self._key(repo), ref)
        page = list_dir_page(self.store.db, commit.rowid, path, after, limit)
        if page is None:
            self.store.list_dir(commit, path)  # raises the store's NotFoundError
            return FilePage([])
        return FilePage([FileEntry(e.path, e.type, e.size) for e in page.entries], page.next_after)

    def walk_files(self, repo: str, ref: str, path: str = "/") -> Iterator[FileEntry]:
        commit = self.store.resolve(self._key(repo), ref)
        for p, _digest, size, _datum in self.store.iter_files(commit, clean_file_path(path)):
            yield FileEntry(p, "file", size)

    def read_file(self, repo: str, ref: str, path: str) -> Iterator[bytes]:
        commit = self.store.resolve(self._key(repo), ref)
        return self.store.read_file(commit, path)

    def list_commits(
        self, repo: str, branch: str | None = None, limit: int = 0
    ) -> list[CommitInfo]:
        return [commit_info(c) for c in self.store.list_commits(self._key(repo), branch, limit)]

    # -- pipelines (engine: capstone_cli.engine.run.pipelines) -------------------------------
    def check_runnable(self, spec: PipelineSpec) -> None:
        check_supported(spec)

    def apply_pipeline(
        self, spec: dict[str, Any], *, reprocess: bool = False, dry_run: bool = False
    ) -> ApplyResult:
        typed = parse_spec(spec, spec.get("pipeline", {}).get("name", "spec"), self.project)
        return pipelines.apply_pipeline(self.store, typed, reprocess=reprocess, dry_run=dry_run)

    def list_pipelines(self) -> list[PipelineInfo]:
        """The pipelines of the current project (named by their keys), as `pachctl list
        pipeline`."""
        return [
            pipelines.pipeline_info(self.store, r)
            for r in pipeline_records.list_pipelines(self.store)
            if ref_of(r.name).project == self.project
        ]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        return pipelines.pipeline_info(
            self.store, pipeline_records.get_pipeline(self.store, self._key(name))
        )

    def delete_pipeline(self, name: str, keep_repo: bool = False) -> None:
        pipelines.delete_pipeline(self.store, self._key(name), keep_repo=keep_repo)

    def set_pipeline_stopped(self, name: str, stopped: bool) -> None:
        pipelines.set_stopped(self.store, self._key(name), stopped)

    # -- jobs (engine: capstone_cli.engine.run.jobs, runner, logs) ---------------------------
    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        key = self._key(pipeline) if pipeline else None
        return [j.info() for j in jobs.list_jobs(self.store, key)]

    def inspect_job(self, pipeline: str, job_id: str) -> JobInfo:
        return jobs.get_job(self.store, self._key(pipeline), job_id).info()

    def wait_commit_set(
        self, commit_set: str, on_progress: ProgressFn | None = None, poll_seconds: float = 1.0
    ) -> list[JobInfo]:
        done = runner.wait_commit_set(self.store, commit_set, on_progress=on_progress)
        return [j.info() for j in done]

    def run_pending(self, on_progress: ProgressFn | None = None) -> list[JobInfo]:
        return [j.info() for j in runner.run_pending(self.store, on_progress=on_progress)]

    def explain_datums(self, node: Input, pipeline: str = "") -> DatumReport:
        # a pipeline's output repo is filled by its jobs: no "put files into it" advice there
        outputs = frozenset(p.name for p in self.list_pipelines())
        return explain_datums(node, self.store, pipeline=pipeline, outputs=outputs)

    def fsck(self, *, fix: bool = False) -> fsckmod.FsckReport:
        return fsckmod.fsck(self.store, fix=fix)

    def list_datums(self, pipeline: str, job_id: str) -> list[DatumInfo]:
        return jobs.datum_infos(
            self.store, jobs.get_job(self.store, self._key(pipeline), job_id).seq
        )

    def logs(
        self,
        pipeline: str | None = None,
        job_id: str | None = None,
        datum_id: str | None = None,
        master: bool = False,
        follow: bool = False,
    ) -> Iterator[LogLine]:
        # `follow` as pachctl: keep streaming new lines until the caller stops (Ctrl-C)
        key = self._key(pipeline) if pipeline else None
        return logsmod.query_logs(self.store, key, job_id, datum_id, master, follow, forever=follow)

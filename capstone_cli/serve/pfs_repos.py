"""PFS projects, repos and branches (`/pfs_v2.API/*Project*`, `*Repo*`, `*Branch*`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pachyderm_sdk.api import pfs

from capstone_cli.engine.inputs import Trigger
from capstone_cli.engine.names import ref_of
from capstone_cli.engine.run import branches, pipeline_records, pipelines
from capstone_cli.errors import ConflictError, NotFoundError
from capstone_cli.serve.home import Home, project_of, repo_key, repo_msg, repo_ref
from capstone_cli.serve.home import timestamp as ts
from capstone_cli.serve.status import UnimplementedError

EMPTY = pfs.betterproto_lib_google_protobuf.Empty


class RepoService:
    """Projects (the default one), repos and branches over the store."""

    def __init__(self, home: Home) -> None:
        self.home = home

    # -- projects ------------------------------------------------------------------------
    def _project_info(self, name: str) -> pfs.ProjectInfo:
        project = self.home.store.get_project(name)
        return pfs.ProjectInfo(
            project=pfs.Project(name=project.name),
            description=project.description,
            created_at=ts(project.created),
        )

    def create_project(self, req: pfs.CreateProjectRequest, _ctx: Any) -> Any:
        store = self.home.store
        name = project_of(req.project)
        if req.update and store._project_or_none(name) is not None:
            with store.transaction():
                store.db.execute(
                    "UPDATE projects SET description=? WHERE name=?", (req.description, name)
                )
            return EMPTY()
        store.create_project(name, description=req.description)
        return EMPTY()

    def inspect_project(self, req: pfs.InspectProjectRequest, _ctx: Any) -> pfs.ProjectInfo:
        return self._project_info(project_of(req.project))

    def inspect_project_v2(self, req: pfs.InspectProjectV2Request, _ctx: Any) -> Any:
        info = self._project_info(project_of(req.project))
        return pfs.InspectProjectV2Response(info=info, defaults_json="{}")

    def list_project(self, _req: Any, _ctx: Any) -> Iterator[pfs.ProjectInfo]:
        for p in self.home.store.list_projects():
            yield self._project_info(p.name)

    def delete_project(self, req: pfs.DeleteProjectRequest, ctx: Any) -> Any:
        """Delete a project; with `force`, its pipelines and repos first (pachd's force)."""
        store = self.home.store
        name = project_of(req.project)
        store.get_project(name)
        if req.force:
            for rec in pipeline_records.list_pipelines(store):
                if ref_of(rec.name).project == name:
                    pipelines.delete_pipeline(store, rec.name)
            for key in store.project_repo_names(name):
                store.delete_repo(key)
        store.delete_project(name)
        return EMPTY()

    # -- repos ---------------------------------------------------------------------------
    def _repo_info(self, name: str) -> pfs.RepoInfo:
        store = self.home.store
        repo = store.get_repo(name)
        msg = repo_msg(pfs, name, repo.type)
        return pfs.RepoInfo(
            repo=msg,
            created=ts(repo.created),
            size_bytes_upper_bound=store.repo_size(name),
            description=repo.description,
            branches=[pfs.Branch(repo=msg, name=b) for b in store.branches(name)],
            metadata=self.home.metadata.get(("repo", name), {}),
        )

    def create_repo(self, req: pfs.CreateRepoRequest, _ctx: Any) -> Any:
        name = repo_key(req.repo)
        store = self.home.store
        if req.update and store._repo_or_none(name) is not None:
            with store.transaction():
                store.db.execute(
                    "UPDATE repos SET description=? WHERE name=?", (req.description, name)
                )
            return EMPTY()
        if store._repo_or_none(name) is not None:
            raise ConflictError(f"repo {name} already exists")
        store.create_repo(repo_ref(req.repo), description=req.description)
        return EMPTY()

    def inspect_repo(self, req: pfs.InspectRepoRequest, _ctx: Any) -> pfs.RepoInfo:
        return self._repo_info(repo_key(req.repo))

    def list_repo(self, req: pfs.ListRepoRequest, _ctx: Any) -> Iterator[pfs.RepoInfo]:
        projects = {project_of(p) for p in req.projects}
        for repo in self.home.store.list_repos(include_hidden=True):
            if projects and ref_of(repo.name).project not in projects:
                continue
            if req.type in ("", "all") or repo.type == req.type:
                yield self._repo_info(repo.name)

    def delete_repo(self, req: pfs.DeleteRepoRequest, _ctx: Any) -> pfs.DeleteRepoResponse:
        # pachd answers OK with deleted=false for a missing repo (server_repo.go)
        name = repo_key(req.repo)
        store = self.home.store
        if store._repo_or_none(name) is None:
            return pfs.DeleteRepoResponse(deleted=False)
        if pipeline_records.find_pipeline(store, name) is not None and not req.force:
            raise ConflictError(
                f"cannot delete repo {name}: it is the output repo of pipeline {name}"
            )
        store.delete_repo(name)
        self.home.metadata.pop(("repo", name), None)
        return pfs.DeleteRepoResponse(deleted=True)

    def delete_repos(self, req: pfs.DeleteReposRequest, ctx: Any) -> pfs.DeleteReposResponse:
        projects = {project_of(p) for p in req.projects}
        deleted = []
        for repo in self.home.store.list_repos():
            if not req.all and ref_of(repo.name).project not in projects:
                continue
            msg = repo_msg(pfs, repo.name, repo.type)
            if self.delete_repo(pfs.DeleteRepoRequest(repo=msg, force=req.force), ctx).deleted:
                deleted.append(msg)
        return pfs.DeleteReposResponse(repos=deleted)

    # -- branches (engine: capstone_cli.engine.run.branches) ------------------------------
    def _branch_info(self, repo: str, name: str) -> pfs.BranchInfo:
        state = next(
            (b for b in branches.list_branches(self.home.store, repo) if b.name == name), None
        )
        if state is None:
            raise NotFoundError(f"branch {name} not found in repo {ref_of(repo)}")
        msg = repo_msg(pfs, repo)
        info = pfs.BranchInfo(branch=pfs.Branch(repo=msg, name=name))
        if state.head is not None:
            info.head = pfs.Commit(repo=msg, id=state.head, branch=info.branch)
        if state.trigger is not None:
            t = state.trigger
            info.trigger = pfs.Trigger(branch=t.branch, size=t.size, commits=t.commits, all=t.all)
        for p in state.provenance:
            key, _, branch = p.rpartition("@")
            info.direct_provenance.append(pfs.Branch(repo=repo_msg(pfs, key), name=branch))
        return info

    def create_branch(self, req: pfs.CreateBranchRequest, _ctx: Any) -> Any:
        store = self.home.store
        repo = repo_key(req.branch.repo)
        if req.provenance:
            raise UnimplementedError(
                "explicit branch provenance is not served: a pipeline's input gives it"
            )
        t = req.trigger
        if t.rate_limit_spec or t.cron_spec:
            raise UnimplementedError("timed triggers (rate_limit_spec, cron_spec) are not served")
        trigger = Trigger(t.branch, t.size, t.commits, t.all) if t.branch else None
        head = req.head.id or req.head.branch.name or None
        branches.create_branch(store, repo, req.branch.name, head=head, trigger=trigger)
        return EMPTY()

    def inspect_branch(self, req: pfs.InspectBranchRequest, _ctx: Any) -> pfs.BranchInfo:
        return self._branch_info(repo_key(req.branch.repo), req.branch.name)

    def list_branch(self, req: pfs.ListBranchRequest, _ctx: Any) -> Iterator[pfs.BranchInfo]:
        repo = repo_key(req.repo)
        names = [b.name for b in branches.list_branches(self.home.store, repo)]
        for name in reversed(names) if req.reverse else names:
            yield self._branch_info(repo, name)

    def delete_branch(self, req: pfs.DeleteBranchRequest, _ctx: Any) -> Any:
        repo = repo_key(req.branch.repo)
        try:
            branches.delete_branch(self.home.store, repo, req.branch.name)
        except NotFoundError:
            if not req.force:
                raise
        return EMPTY()

"""Projects and branches as pachd RPCs (Create/List/Inspect/DeleteProject, Create/List/
DeleteBranch), mixed into `PachydermBackend`, so `capstone project ...` and `capstone branch
...` work on a cluster as on the local engine."""

from __future__ import annotations

from typing import Any

from pachyderm_sdk.api import pfs

from capstone_cli.backends.pachyderm_connect import rpc
from capstone_cli.backends.pachyderm_convert import ts
from capstone_cli.backends.pachyderm_files import PachydermFiles
from capstone_cli.results import BranchInfo, ProjectInfo

_HINT = "list projects with `capstone project list`"


class PachydermProjects:
    client: Any

    def _project_repos(self, name: str) -> list[str]:
        with rpc(f"list repos of project {name}", _HINT):
            infos = self.client.pfs.list_repo(type="user", projects=[pfs.Project(name=name)])
            return sorted(info.repo.name for info in infos)

    def _project_info(self, info: pfs.ProjectInfo) -> ProjectInfo:
        name = info.project.name
        return ProjectInfo(
            name=name,
            description=info.description,
            created=ts(info.created_at),
            repos=self._project_repos(name),
        )

    def create_project(self, name: str, description: str = "") -> ProjectInfo:
        with rpc(f"create project {name}", _HINT):
            self.client.pfs.create_project(project=pfs.Project(name=name), description=description)
        return self.inspect_project(name)

    def list_projects(self) -> list[ProjectInfo]:
        with rpc("list projects", None):
            infos = list(self.client.pfs.list_project())
        return [self._project_info(info) for info in infos]

    def inspect_project(self, name: str) -> ProjectInfo:
        with rpc(f"inspect project {name}", _HINT):
            info = self.client.pfs.inspect_project(project=pfs.Project(name=name))
        return self._project_info(info)

    def delete_project(self, name: str) -> None:
        with rpc(f"delete project {name}", _HINT):
            self.client.pfs.delete_project(project=pfs.Project(name=name))


class PachydermBranches(PachydermFiles):
    """Branches as pachd RPCs (CreateBranch, ListBranch, DeleteBranch); pachd itself starts
    the jobs of a moved head and fires triggers."""

    @staticmethod
    def _branch_info(info: pfs.BranchInfo) -> BranchInfo:
        t = info.trigger
        trigger = (
            {"branch": t.branch, "size": t.size, "commits": int(t.commits), "all": t.all}
            if t is not None and t.branch
            else None
        )
        return BranchInfo(
            repo=info.branch.repo.name,
            name=info.branch.name,
            head=info.head.id if info.head is not None and info.head.id else None,
            trigger=trigger,
            provenance=[f"{b.repo.name}@{b.name}" for b in info.direct_provenance],
        )

    def create_branch(
        self, repo: str, branch: str, head: str | None = None, trigger: dict[str, Any] | None = None
    ) -> tuple[BranchInfo, str | None]:
        what = f"create branch {repo}@{branch}"
        with rpc(what, f"list branches with `capstone branch list {repo}`"):
            self.client.pfs.create_branch(
                branch=self._branch(repo, branch),
                head=self._commit(repo, head) if head is not None else None,
                trigger=pfs.Trigger(**trigger) if trigger else None,
            )
            info = self._branch_info(
                self.client.pfs.inspect_branch(branch=self._branch(repo, branch))
            )
        return info, (info.head if head is not None else None)

    def list_branches(self, repo: str) -> list[BranchInfo]:
        with rpc(f"list branches of {repo}", "list repos with `capstone repo list`"):
            infos = list(self.client.pfs.list_branch(repo=self._branch(repo, "master").repo))
        return sorted((self._branch_info(i) for i in infos), key=lambda b: b.name)

    def delete_branch(self, repo: str, branch: str) -> None:
        with rpc(f"delete branch {repo}@{branch}", f"see `capstone branch list {repo}`"):
            self.client.pfs.delete_branch(branch=self._branch(repo, branch))

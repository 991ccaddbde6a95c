"""Projects as pachd RPCs (CreateProject, ListProject, InspectProject, DeleteProject), mixed
into `PachydermBackend`, so `capstone project ...` works on a cluster as on the local engine."""

from __future__ import annotations

from typing import Any

from pachyderm_sdk.api import pfs

from capstone_cli.backends.pachyderm_connect import rpc
from capstone_cli.backends.pachyderm_convert import ts
from capstone_cli.results import ProjectInfo

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

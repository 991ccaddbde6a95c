"""Projects: namespaces of repos and pipelines, as in Pachyderm 2.5+.

A repo belongs to the project its key names (`names.RepoRef`); `default` always exists. A
project is deleted only when empty, as pachd's DeleteProject refuses one that holds repos.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from capstone_cli.engine.names import DEFAULT_PROJECT, check_project_name
from capstone_cli.engine.store import db as dbmod
from capstone_cli.engine.store.records import now
from capstone_cli.errors import ConflictError, NotFoundError


@dataclass(frozen=True)
class Project:
    name: str
    description: str
    created: str


def repo_keys_sql(project: str) -> tuple[str, tuple[object, ...]]:
    """A WHERE fragment (and its arguments) selecting the `repos` rows of `project`."""
    if project == DEFAULT_PROJECT:
        return "instr(name, '/') = 0", ()
    return "substr(name, 1, ?) = ?", (len(project) + 1, project + "/")


class ProjectStore:
    """The project half of the store's metadata (mixed into `commits.CommitStore`)."""

    db: sqlite3.Connection

    def create_project(self, name: str, *, description: str = "") -> Project:
        check_project_name(name)
        with dbmod.transaction(self.db):
            if self._project_or_none(name) is not None:
                raise ConflictError(
                    f"project {name!r} already exists",
                    hint=f"use it with `--project {name}`, or delete it first",
                )
            self.db.execute(
                "INSERT INTO projects(name, description, created) VALUES(?,?,?)",
                (name, description, now()),
            )
        return self.get_project(name)

    def _project_or_none(self, name: str) -> Project | None:
        row = self.db.execute(
            "SELECT name, description, created FROM projects WHERE name=?", (name,)
        ).fetchone()
        return Project(*row) if row else None

    def get_project(self, name: str) -> Project:
        project = self._project_or_none(name)
        if project is None:
            raise NotFoundError(
                f"project {name!r} not found",
                hint=f"list projects with `capstone project list`, or create it with "
                f"`capstone project create {name}`",
            )
        return project

    def list_projects(self) -> list[Project]:
        rows = self.db.execute("SELECT name, description, created FROM projects ORDER BY name")
        return [Project(*r) for r in rows]

    def project_repo_names(self, name: str) -> list[str]:
        """The keys of the repos in project `name` (pipelines' output repos included)."""
        where, args = repo_keys_sql(name)
        rows = self.db.execute(f"SELECT name FROM repos WHERE {where} ORDER BY name", args)
        return [r[0] for r in rows]

    def delete_project(self, name: str) -> None:
        """Delete an empty project; `default` is never deleted."""
        with dbmod.transaction(self.db):
            self.get_project(name)
            if name == DEFAULT_PROJECT:
                raise ConflictError(
                    "the project 'default' cannot be deleted",
                    hint="delete its repos and pipelines instead",
                )
            repos = self.project_repo_names(name)
            if repos:
                raise ConflictError(
                    f"cannot delete project {name!r}: it holds repo(s) {', '.join(repos)}",
                    hint="delete its pipelines and repos first",
                )
            self.db.execute("DELETE FROM projects WHERE name=?", (name,))

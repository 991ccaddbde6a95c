"""`capstone project create|list|inspect|delete`: Pachyderm's projects (namespaces of repos)."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt

app = typer.Typer(help="Create, list, inspect and delete projects.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Project name ([a-zA-Z0-9_-]+).")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Create a project (like `pachctl create project NAME`)."""
    project = context.backend().create_project(name, description)
    ui.success(f"created project {project.name}")


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List projects with their repo counts."""
    projects = context.backend().list_projects()
    if json_:
        ui.render_json([p.to_json() for p in projects])
        return
    ui.render_table(
        ["PROJECT", "CREATED", "REPOS", "DESCRIPTION"],
        [
            (p.name, p.created[:19].replace("T", " "), str(len(p.repos)), p.description)
            for p in projects
        ],
        empty="no projects",
    )


@app.command("inspect")
def inspect(name: str, json_: JsonOpt = False) -> None:
    """Show one project and its repos."""
    project = context.backend().inspect_project(name)
    if json_:
        ui.render_json(project.to_json())
        return
    ui.render_table(
        ["FIELD", "VALUE"],
        [
            ("name", project.name),
            ("created", project.created),
            ("repos", ", ".join(project.repos)),
            ("description", project.description),
        ],
    )


@app.command("delete")
def delete(name: str) -> None:
    """Delete an empty project (never `default`)."""
    context.backend().delete_project(name)
    ui.success(f"deleted project {name}")

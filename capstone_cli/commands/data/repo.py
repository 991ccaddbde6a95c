"""`capstone repo create|list|inspect|delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt

app = typer.Typer(help="Create, list, inspect and delete repos.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Repo name ([a-zA-Z0-9_-]+).")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Create a repo (like `pachctl create repo NAME`)."""
    repo = context.backend().create_repo(name, description)
    ui.success(f"created repo {repo.name}")


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List repos with their size on master."""
    repos = context.backend().list_repos()
    if json_:
        ui.render_json([r.to_json() for r in repos])
        return
    ui.render_table(
        ["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"],
        [
            (r.ref, r.created[:19].replace("T", " "), ui.human_bytes(r.size), r.description)
            for r in repos
        ],
        empty="no repos yet: create one with `capstone repo create NAME` or `capstone put`",
    )


@app.command("inspect")
def inspect(name: str, json_: JsonOpt = False) -> None:
    """Show one repo: type, size, branches."""
    repo = context.backend().inspect_repo(name)
    if json_:
        ui.render_json(repo.to_json())
        return
    ui.render_table(
        ["FIELD", "VALUE"],
        [
            ("name", repo.name),
            ("project", repo.project),
            ("type", repo.type),
            ("created", repo.created),
            ("size", ui.human_bytes(repo.size)),
            ("branches", ", ".join(repo.branches)),
            ("description", repo.description),
        ],
    )


@app.command("delete")
def delete(
    name: str,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Delete even if pipelines read it (never a pipeline's output repo).",
        ),
    ] = False,
) -> None:
    """Delete a repo and all its commits."""
    context.backend().delete_repo(name, force=force)
    ui.success(f"deleted repo {name}")

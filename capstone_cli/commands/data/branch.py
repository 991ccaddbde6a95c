"""`capstone branch create|list|delete`: branches, deferred processing and triggers, as
`pachctl create branch REPO@BRANCH --head REF [--trigger BRANCH ...]`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.commands.progress import TerminalProgress
from capstone_cli.errors import UsageError
from capstone_cli.refs import parse_ref
from capstone_cli.workflows.pipelines.follow import follow_commit_sets

app = typer.Typer(help="Create, move, list and delete branches.", no_args_is_help=True)


def _branch_ref(target: str) -> tuple[str, str]:
    if "@" not in target or ":" in target:
        raise UsageError(
            f"expected REPO@BRANCH, got {target!r}", hint="e.g. `capstone branch create data@dev`"
        )
    ref = parse_ref(target)
    return ref.repo, ref.ref


@app.command("create")
def create(
    target: Annotated[str, typer.Argument(help="[PROJECT/]REPO@BRANCH")],
    head: Annotated[
        str | None, typer.Option("--head", help="Point the branch at this branch or commit.")
    ] = None,
    trigger: Annotated[
        str | None, typer.Option("--trigger", help="Branch whose head this one follows.")
    ] = None,
    trigger_size: Annotated[
        str, typer.Option("--trigger-size", help="Fire once this much data came (e.g. 1MB).")
    ] = "",
    trigger_commits: Annotated[
        int, typer.Option("--trigger-commits", help="Fire after this many commits.")
    ] = 0,
    trigger_all: Annotated[
        bool, typer.Option("--trigger-all", help="Fire only when every condition holds.")
    ] = False,
    no_run: Annotated[bool, typer.Option("--no-run", help="Do not run triggered jobs.")] = False,
) -> None:
    """Create a branch, or move it to --head (starting the jobs downstream of it)."""
    repo, branch = _branch_ref(target)
    spec: dict[str, Any] | None = None
    if trigger is not None:
        spec = {"branch": trigger, "size": trigger_size, "commits": trigger_commits}
        spec["all"] = trigger_all
    elif trigger_size or trigger_commits or trigger_all:
        raise UsageError("--trigger-* options need --trigger BRANCH", hint="add --trigger BRANCH")
    info, commit_set = context.backend().create_branch(repo, branch, head, spec)
    ui.success(f"branch {info.repo}@{info.name} -> {info.head or '(no commits)'}")
    if commit_set is not None and not no_run:
        follow_commit_sets(context.backend(), [commit_set], TerminalProgress())


@app.command("list")
def list_(
    repo: Annotated[str, typer.Argument(help="[PROJECT/]REPO")], json_: JsonOpt = False
) -> None:
    """List a repo's branches: head, trigger, provenance."""
    branches = context.backend().list_branches(repo)
    if json_:
        ui.render_json([b.to_json() for b in branches])
        return
    ui.render_table(
        ["BRANCH", "HEAD", "TRIGGER", "PROVENANCE"],
        [
            (
                b.name,
                b.head or "-",
                _trigger_text(b.trigger),
                ", ".join(b.provenance) or "-",
            )
            for b in branches
        ],
        empty="no branches",
    )


def _trigger_text(trigger: dict[str, Any] | None) -> str:
    if not trigger:
        return "-"
    conds = [f"size >= {trigger['size']}"] if trigger.get("size") else []
    conds += [f"{trigger['commits']} commits"] if trigger.get("commits") else []
    joined = (" and " if trigger.get("all") else " or ").join(conds)
    return f"{trigger['branch']}" + (f" on {joined}" if joined else "")


@app.command("delete")
def delete(target: Annotated[str, typer.Argument(help="[PROJECT/]REPO@BRANCH")]) -> None:
    """Delete a branch (its commits stay); refused while a pipeline reads or writes it."""
    repo, branch = _branch_ref(target)
    context.backend().delete_branch(repo, branch)
    ui.success(f"deleted branch {repo}@{branch}")

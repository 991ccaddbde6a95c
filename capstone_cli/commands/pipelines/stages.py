"""`capstone render` and `capstone apply`: stage definitions -> pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import project, ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt, SpecsOpt
from capstone_cli.commands.progress import TerminalProgress
from capstone_cli.errors import SpecError
from capstone_cli.specs import stages
from capstone_cli.workflows.pipelines.apply import apply_stages
from capstone_cli.workflows.pipelines.follow import follow_commit_sets
from capstone_cli.workflows.pipelines.init import init_project

StageArgs = Annotated[list[str] | None, typer.Argument(help="Stages (default: all).")]


def render(
    names: StageArgs = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write specs.")] = Path(
        "build/specs"
    ),
    check: Annotated[Path | None, typer.Option("--check", help="Fail if DIR is stale.")] = None,
    specs: SpecsOpt = None,
) -> None:
    """Render stage definitions into Pachyderm 2.x pipeline specs (JSON)."""
    specs_dir = project.specs_dir(specs)
    if check is not None:
        stale = stages.stale_rendered(specs_dir, check, names or None)
        if stale:
            raise SpecError(
                f"rendered specs in {check} are stale: {', '.join(stale)}",
                hint=f"run `capstone render -o {check}`",
            )
        ui.success(f"rendered specs in {check} are up to date")
        return
    for path in stages.write_rendered(specs_dir, output, names or None):
        ui.render_text(str(path))


def apply(
    names: StageArgs = None,
    reprocess: Annotated[bool, typer.Option("--reprocess", help="Re-run every datum.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    no_run: Annotated[bool, typer.Option("--no-run", help="Do not run triggered jobs.")] = False,
    specs: SpecsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create or update the stage pipelines; unchanged ones are left alone."""
    backend = context.backend()
    results = apply_stages(
        backend, project.specs_dir(specs), names or None, reprocess=reprocess, dry_run=dry_run
    )
    if json_:
        ui.render_json([r.to_json() for r in results])
    else:
        for r in results:
            verb = f"would be {r.action}" if dry_run and r.action != "unchanged" else r.action
            ui.info(f"{r.pipeline}: {verb}")
            if r.action == "updated":  # a creation's diff against nothing says nothing
                for line in r.diff:
                    ui.info(f"    {line}")
    if not dry_run and not no_run:
        follow_commit_sets(backend, [r.job_id for r in results if r.job_id], TerminalProgress())


def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Project directory.")] = Path(
        "."
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write the tutorial's stage definitions to DIR/specs/, to customise them.

    capstone then uses them from DIR and every folder below it (as git finds .git).
    """
    for path in init_project(directory, force=force):
        ui.render_text(str(path))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Pipelines")(init)
    app.command(rich_help_panel="Pipelines")(render)
    app.command(rich_help_panel="Pipelines")(apply)

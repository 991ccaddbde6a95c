"""`capstone pipeline ...` and `capstone run`: pipelines from Pachyderm spec files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.commands.progress import TerminalProgress
from capstone_cli.workflows.pipelines.diagnosis import job_failure
from capstone_cli.workflows.pipelines.follow import follow_commit_sets
from capstone_cli.workflows.pipelines.pipelines import create_from_file, run_pending

app = typer.Typer(
    help="Create, update, list, inspect, delete, start and stop pipelines.", no_args_is_help=True
)

SpecFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Pipeline spec file (JSON or YAML; several specs allowed)."),
]
JsonnetFile = Annotated[
    Path | None,
    typer.Option("--jsonnet", help="A jsonnet template returning one spec or a list of specs."),
]
TemplateArgs = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        metavar="NAME=VALUE",
        help="A top-level argument (a string) for the --jsonnet template; repeatable.",
    ),
]
NoRun = Annotated[bool, typer.Option("--no-run", help="Do not run the triggered jobs.")]


def _apply(
    file: Path | None,
    jsonnet: Path | None,
    args: list[str] | None,
    *,
    update: bool,
    reprocess: bool,
    no_run: bool,
) -> None:
    backend = context.backend()
    results = create_from_file(
        backend, file, update=update, reprocess=reprocess, jsonnet=jsonnet, args=args or ()
    )
    for r in results:
        ui.success(f"pipeline {r.pipeline}: {r.action}")
    if not no_run:
        follow_commit_sets(backend, [r.job_id for r in results if r.job_id], TerminalProgress())


@app.command("create")
def create(
    file: SpecFile = None,
    jsonnet: JsonnetFile = None,
    arg: TemplateArgs = None,
    no_run: NoRun = False,
) -> None:
    """Create pipelines from a spec file or a jsonnet template (`pachctl create pipeline`)."""
    _apply(file, jsonnet, arg, update=False, reprocess=False, no_run=no_run)


@app.command("update")
def update(
    file: SpecFile = None,
    jsonnet: JsonnetFile = None,
    arg: TemplateArgs = None,
    reprocess: Annotated[bool, typer.Option("--reprocess", help="Re-run every datum.")] = False,
    no_run: NoRun = False,
) -> None:
    """Update pipelines; without --reprocess, datums already processed are not re-run."""
    _apply(file, jsonnet, arg, update=True, reprocess=reprocess, no_run=no_run)


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """Pipelines with their state and last job."""
    items = context.backend().list_pipelines()
    if json_:
        ui.render_json([p.to_json() for p in items])
        return
    ui.render_table(
        ["NAME", "VERSION", "INPUT", "STATE", "LAST JOB", "DESCRIPTION"],
        [
            (p.name, p.version, ", ".join(p.inputs), p.state, p.last_job_state, p.description)
            for p in items
        ],
        empty="no pipelines yet: `capstone apply` or `capstone pipeline create -f SPEC`",
    )


@app.command("inspect")
def inspect(name: str, json_: JsonOpt = False) -> None:
    """One pipeline with its effective spec."""
    info = context.backend().inspect_pipeline(name)
    if json_:
        ui.render_json(info.to_json())
        return
    ui.render_table(
        ["FIELD", "VALUE"],
        [
            ("name", info.name),
            ("version", info.version),
            ("state", info.state),
            ("last job", f"{info.last_job_id} {info.last_job_state}"),
            ("inputs", ", ".join(info.inputs)),
            ("parallelism", info.parallelism),
            ("description", info.description),
        ],
    )
    import json

    ui.render_text(json.dumps(info.spec, indent=2))


@app.command("delete")
def delete(
    name: str,
    keep_repo: Annotated[bool, typer.Option("--keep-repo", help="Keep the output repo.")] = False,
) -> None:
    """Delete a pipeline (and its output repo unless --keep-repo)."""
    context.backend().delete_pipeline(name, keep_repo=keep_repo)
    ui.success(f"deleted pipeline {name}")


@app.command("stop")
def stop(name: str) -> None:
    """Pause a pipeline: new commits make no jobs until it is started."""
    context.backend().set_pipeline_stopped(name, True)
    ui.success(f"stopped pipeline {name}")


@app.command("start")
def start(name: str) -> None:
    """Start a stopped pipeline."""
    context.backend().set_pipeline_stopped(name, False)
    ui.success(f"started pipeline {name}")


def run(json_: JsonOpt = False) -> None:
    """Process every pending job to completion (embedded engine); resumes interrupted jobs."""
    backend = context.backend()
    with ui.JobsDisplay("pending jobs") as display:
        jobs = run_pending(backend, display.update)
    if json_:
        ui.render_json([j.to_json() for j in jobs])
    elif not jobs:
        ui.info("nothing to run: no pending jobs")
    error = job_failure(backend, jobs)
    if error is not None:
        raise error


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="pipeline", rich_help_panel="Pipelines")
    root.command(rich_help_panel="Pipelines")(run)

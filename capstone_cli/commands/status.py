"""`capstone status [--watch]` and `capstone dag`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.workflows.status import status_report, to_dot, to_mermaid


def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh every 2 s.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Pipelines, running and recent jobs, failed datums with the tail of their logs."""
    backend = context.backend()
    while True:
        report = status_report(backend)
        if json_:
            ui.render_json(report.to_json())
        else:
            ui.render_status(report)
        if not watch:
            return
        time.sleep(2)


def dag(
    dot: Annotated[bool, typer.Option("--dot", help="Graphviz output.")] = False,
    mermaid: Annotated[bool, typer.Option("--mermaid", help="Mermaid output.")] = False,
) -> None:
    """Draw the pipeline graph, coloured by each pipeline's last job state."""
    pipelines = context.backend().list_pipelines()
    if dot:
        ui.render_text(to_dot(pipelines).rstrip())
    elif mermaid:
        ui.render_text(to_mermaid(pipelines).rstrip())
    else:
        ui.render_dag(pipelines)


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel="Workflows")(status)
    root.command(rich_help_panel="Pipelines")(dag)

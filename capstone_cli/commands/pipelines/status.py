"""`capstone status [--watch]` and `capstone dag`."""

from __future__ import annotations

import sqlite3
import time
from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import AllOpt, JsonOpt
from capstone_cli.errors import StoreBusyError
from capstone_cli.workflows.pipelines.status import dag_pipelines, status_report, to_dot, to_mermaid


def status(
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Refresh every --interval seconds until Ctrl-C (exit 0)."
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, help="Seconds between refreshes.")
    ] = 2.0,
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="With --watch: stop after N refreshes.")
    ] = 0,
    all_: AllOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Pipelines, running and recent jobs, failed datums with the tail of their logs.

    With --watch the view refreshes while jobs run in other processes; with --json each
    refresh is one JSON object per line. A store busy with a writer is retried at the next
    refresh, never an error.
    """
    backend = context.backend()
    shown = 0
    try:
        while True:
            try:
                report = status_report(backend, show_all=all_)
            except (StoreBusyError, sqlite3.OperationalError) as exc:
                if not watch or not _busy(exc):
                    raise
                ui.warn(f"store busy ({exc}); retrying in {interval:g} s")
            else:
                if json_:
                    (ui.render_json_line if watch else ui.render_json)(report.to_json())
                else:
                    ui.render_status(report)
                    if report.pfs is not None:
                        ui.render_text(report.pfs.describe())
            shown += 1
            if not watch or (count and shown >= count):
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        if not watch:
            raise
        # Ctrl-C is how a watch ends: a normal exit, not an interruption


def _busy(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, StoreBusyError) or "locked" in text or "busy" in text


def dag(
    dot: Annotated[bool, typer.Option("--dot", help="Graphviz output.")] = False,
    mermaid: Annotated[bool, typer.Option("--mermaid", help="Mermaid output.")] = False,
) -> None:
    """Draw the pipeline graph, coloured by each pipeline's last job state."""
    pipelines = dag_pipelines(context.backend())
    if dot:
        ui.render_text(to_dot(pipelines).rstrip())
    elif mermaid:
        ui.render_text(to_mermaid(pipelines).rstrip())
    else:
        ui.render_dag(pipelines)


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel="Workflows")(status)
    root.command(rich_help_panel="Pipelines")(dag)

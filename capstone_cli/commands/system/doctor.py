"""`capstone doctor [--json]`: what this machine gives the embedded engine (the `/pfs` mode)."""

from __future__ import annotations

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.workflows.system.doctor import doctor as run_doctor
from capstone_cli.workflows.system.doctor import fallback_limit


def doctor(json_: JsonOpt = False) -> None:
    """Say how datum processes see /pfs here (literal path, through proot, or rewritten) and why."""
    report = run_doctor(context.settings().home)
    if json_:
        ui.render_json(report.to_json())
        return
    ui.render_text(f"home: {report.home}")
    ui.render_text(report.pfs.describe())
    limit = fallback_limit(report.pfs)
    if limit is not None:
        ui.render_text(f"  {limit}")


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel="Workflows")(doctor)

"""`capstone fsck [--fix]`: check the embedded store (as `pachctl fsck`)."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.errors import StoreCorruptError
from capstone_cli.workflows.system.fsck import fsck as run_fsck


def fsck(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix", help="Remove unreferenced leftovers; move damaged blobs to blobs/quarantine/."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Check every blob against its hash, branch heads and SQLite; report leftovers."""
    report = run_fsck(context.backend(), fix=fix)
    if json_:
        ui.render_json(
            {
                "ok": report.ok,
                "problems": report.problems,
                "leftovers": report.leftovers,
                "fixed": report.fixed,
                "checked_blobs": report.checked_blobs,
            }
        )
    else:
        for line in report.problems:
            ui.info(f"problem: {line}")
        for line in report.leftovers:
            ui.info(f"leftover: {line}" + (" (removed)" if line in report.fixed else ""))
        for line in report.fixed:
            if line not in report.leftovers:
                ui.info(f"fixed: {line}")
        if report.ok:
            ui.success(f"store is consistent ({report.checked_blobs} blobs checked)")
    if not report.ok:
        raise StoreCorruptError(
            f"{len(report.problems)} problem(s) found in the store",
            hint="restore the missing data (re-put it) or delete the repo",
        )


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel="Data")(fsck)

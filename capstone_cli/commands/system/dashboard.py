"""`capstone ui`: serve the read-only dashboard on 127.0.0.1 (the web stack imported lazily)."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.backends import open_backend
from capstone_cli.commands import context

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def dashboard(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback exposes it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to bind.")] = 4150,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser tab.")
    ] = False,
) -> None:
    """Browse the DAG, repos, files, pipelines, jobs, datum logs and the model in a browser.

    Read-only, with every asset shipped in the package (works offline). Ctrl-C stops it.
    """
    from capstone_cli.web import serve

    settings = context.settings()
    if host not in LOOPBACK:
        ui.warn(f"binding {host}: anyone who can reach it can read your data (no login)")
    ui.info(f"capstone ui on http://{host}:{port}/ (Ctrl-C to stop)")
    serve(lambda: open_backend(settings), host, port, open_browser=not no_browser)


def register(root: typer.Typer) -> None:
    root.command("ui", rich_help_panel="Workflows")(dashboard)

"""`capstone serve`: pachd's gRPC API over this CAPSTONE_HOME (the server imported lazily)."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PACHD_PORT = 30650  # pachd's port, which pachctl's port-forward and the SDK default to


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback exposes it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to bind.")] = (
        PACHD_PORT
    ),
) -> None:
    """Serve pachd's API (PFS, PPS, transactions, version) for pachctl and pachyderm_sdk.

    Clients see the same repos, commits and jobs as `capstone`; jobs run in this process as
    `capstone run` runs them. Auth, enterprise, identity and debug are not served. Ctrl-C stops it.
    """
    from capstone_cli.serve.server import serve_forever

    settings = context.settings()
    if host not in LOOPBACK:
        ui.warn(f"binding {host}: anyone who can reach it can read and change your data (no auth)")
    serve_forever(
        settings.home,
        host,
        port,
        on_ready=lambda bound: ui.info(
            f"capstone serve: pachd API on grpc://{host}:{bound} for {settings.home}"
            " (Ctrl-C to stop)"
        ),
    )


def register(root: typer.Typer) -> None:
    root.command("serve", rich_help_panel="Workflows")(serve)

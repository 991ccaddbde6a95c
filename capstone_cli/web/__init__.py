"""The dashboard (`capstone ui`): a read-only local web app over either backend.

Starlette + Jinja2 pages rendered on the server, htmx (vendored in `static/`) for live refresh,
the DAG and charts as SVG drawn in Python: nothing is fetched from the network at run time.
Importing this package imports the web stack, so only `capstone ui` (and tests) import it.
"""

from __future__ import annotations

import socket
import threading
import webbrowser

from capstone_cli.errors import ConflictError
from capstone_cli.web.server import BackendFactory, create_app

__all__ = ["create_app", "serve"]


def serve(open_backend: BackendFactory, host: str, port: int, open_browser: bool) -> None:
    """Serve the dashboard until Ctrl-C; open the user's browser on it unless told not to."""
    import uvicorn

    sock = listen(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(open_backend), log_level="warning"))
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [f"http://{host}:{port}/"]).start()
    server.run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or a one-line error (before any server starts)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise ConflictError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another port with --port, or stop what is using it",
        ) from exc
    return sock

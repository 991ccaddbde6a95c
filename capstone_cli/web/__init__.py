"""The dashboard (`capstone ui`): a read-only local web app over either backend.

Starlette + Jinja2 pages rendered on the server, htmx (vendored in `static/`) for live refresh,
the DAG and charts as SVG drawn in Python: nothing is fetched from the network at run time.
Importing this package imports the web stack, so only `capstone ui` (and tests) import it.
"""

from __future__ import annotations

import threading
import webbrowser

from capstone_cli.web.server import BackendFactory, create_app

__all__ = ["create_app", "serve"]


def serve(open_backend: BackendFactory, host: str, port: int, open_browser: bool) -> None:
    """Serve the dashboard until Ctrl-C; open the user's browser on it unless told not to."""
    import uvicorn

    url = f"http://{host}:{port}/"
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    uvicorn.run(create_app(open_backend), host=host, port=port, log_level="warning")

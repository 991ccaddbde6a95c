"""The dashboard's Starlette application: templates, static assets, errors, live refresh.

Read-only by construction: every route is a GET. Handlers are plain functions of (request,
backend) run on ONE dedicated thread: the embedded backend's SQLite connection belongs to the
thread that opened it, and a local dashboard serves one user, so a single backend thread is the
simple, correct choice; the event loop stays free meanwhile. The backend is opened on the first
request (in that thread) and closed there at shutdown.

Live updates: pages whose content changes while jobs run carry an htmx poll of their own URL
(`hx-select` of the `#live` region), only while something is running. Each response has an ETag
(a hash of its body); a poll whose content did not change gets a bodiless 304.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from capstone_cli.backends.base import Backend
from capstone_cli.errors import CapstoneError, NotFoundError
from capstone_cli.web.dag import state_label

HERE = Path(__file__).parent
BackendFactory = Callable[[], Backend]
Handler = Callable[[Request, Backend], Response]


def human_size(n: int) -> str:
    if n < 0:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    env.filters["urlpath"] = lambda p: quote(str(p).lstrip("/"))
    env.filters["state"] = state_label
    env.filters["short"] = lambda s: str(s)[:12]
    return env


TEMPLATES = _env()


class BackendThread:
    """The one thread that opens, uses and closes the backend."""

    def __init__(self, open_backend: BackendFactory) -> None:
        self._open = open_backend
        self._backend: Backend | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capstone-ui")

    def _get(self) -> Backend:
        if self._backend is None:
            self._backend = self._open()
        return self._backend

    async def call(self, handler: Handler, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: handler(request, self._get()))

    async def stream(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        """Pull a backend iterator chunk by chunk on the backend thread."""
        loop = asyncio.get_running_loop()
        while (chunk := await loop.run_in_executor(self._pool, next, chunks, None)) is not None:
            yield chunk

    async def close(self) -> None:
        if self._backend is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._backend.close)
            self._backend = None
        self._pool.shutdown(wait=False)


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running `handler(request, backend)` on the backend thread."""

    async def handle(request: Request) -> Response:
        worker: BackendThread = request.app.state.worker
        return await worker.call(handler, request)

    return handle


def streamed(request: Request, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A response body read from a backend iterator on the backend thread."""
    worker: BackendThread = request.app.state.worker
    return worker.stream(chunks)


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """Render `template`; answer 304 when the client already holds this exact body."""
    body = TEMPLATES.get_template(template).render(request=request, **context)
    etag = '"' + hashlib.blake2b(body.encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if status == 200 and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, status_code=status, headers=headers)


async def _capstone_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 400
    message = exc.message if isinstance(exc, CapstoneError) else str(exc)
    hint = exc.hint if isinstance(exc, CapstoneError) else ""
    return page(request, "error.html", status=status, message=message, hint=hint)


def create_app(open_backend: BackendFactory) -> Starlette:
    """The dashboard over the backend `open_backend` returns (called once, lazily)."""
    from capstone_cli.web import routes_data, routes_model, routes_pipes

    worker = BackendThread(open_backend)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        await worker.close()

    routes: list[BaseRoute] = [
        *routes_pipes.ROUTES,
        *routes_data.ROUTES,
        *routes_model.ROUTES,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={CapstoneError: _capstone_error},
        lifespan=lifespan,
    )
    app.state.worker = worker
    return app

"""A real HTTP server on 127.0.0.1 for worker tests: canned routes that misbehave on purpose.

Tests of the images stage must see what the internet does to a fetcher: 404s, slow servers,
redirect loops, resets, lying Content-Length, 503s that heal. Mocking `http.client` would test
the mock; this serves real sockets from a thread on an ephemeral port.

    with RouteServer() as server:
        server.add("/a.jpg", Route(body=jpeg_bytes))
        server.add("/gone", Route(status=404))
        url = server.url("/a.jpg")

Run as a script (`python tests/workers/httpserver.py DIR`) it serves DIR's files in a separate
process and prints its base URL, for benchmarks that must not share the GIL with the server.
"""

from __future__ import annotations

import io
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import unquote


@dataclass
class Route:
    """What one path answers. `fail_times` answers `fail_status` first, then the real answer."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    delay: float = 0.0  # seconds to wait before answering (read-timeout tests)
    fail_times: int = 0
    fail_status: int = 503
    reset: bool = False  # close the connection with a TCP RST instead of answering
    send_length: bool = True  # False: no Content-Length, the body ends when the socket closes
    declared_length: int | None = None  # a Content-Length that differs from the body
    drip: float = 0.0  # seconds between single bytes of the whole answer (headers too)
    hits: int = 0  # how many requests reached this route
    sent: int = 0  # bytes of the last dripped answer that reached the socket

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Route:
        return cls(status=status, headers={"Location": location})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, bodies may end at close
    routes: ClassVar[dict[str, Route]] = {}
    directory: ClassVar[Path | None] = None
    lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:  # quiet tests
        pass

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            self._answer(404, b"not found", "text/plain", {}, None, True)
            return
        with self.lock:
            route.hits += 1
            failing = route.hits <= route.fail_times
        if route.delay:
            time.sleep(route.delay)
        if route.reset:
            self._reset()
            return
        if failing:
            self._answer(route.fail_status, b"try again", "text/plain", {}, None, True)
            return
        if route.drip:
            self._drip(route)
            return
        self._answer(
            route.status,
            route.body,
            route.content_type,
            route.headers,
            route.declared_length,
            route.send_length,
        )

    def _route(self) -> Route | None:
        path = unquote(self.path.split("?", 1)[0])
        if path in self.routes:
            return self.routes[path]
        if self.directory is not None:
            candidate = (self.directory / path.lstrip("/")).resolve()
            if candidate.is_file() and self.directory.resolve() in candidate.parents:
                with self.lock:  # cached: a benchmark's server should cost little CPU
                    route = self.routes.get(path)
                    if route is None:
                        route = Route(body=candidate.read_bytes(), content_type="image/jpeg")
                        self.routes[path] = route
                return route
        return None

    def _answer(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
        declared: int | None,
        send_length: bool,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            if send_length:
                self.send_header("Content-Length", str(len(body) if declared is None else declared))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (too_large, timeout): that is the point

    def _drip(self, route: Route) -> None:
        """The answer one byte at a time, `route.drip` seconds apart, until the client leaves."""
        head = f"HTTP/1.0 {route.status} OK\r\nContent-Length: {len(route.body)}\r\n\r\n"
        route.sent = 0
        for byte in head.encode() + route.body:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return  # the client gave up: that is the point
            route.sent += 1
            time.sleep(route.drip)

    def _reset(self) -> None:
        """Abort the connection: SO_LINGER 0 makes close() send RST, not FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.wfile = io.BytesIO()  # finish() flushes this; the socket is gone
        self.close_connection = True


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default 5 drops SYNs under 16 concurrent fetches

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and timeouts are the tests' intent, not server bugs


class RouteServer:
    """A ThreadingHTTPServer on 127.0.0.1:<ephemeral> serving `Route`s, in a daemon thread."""

    def __init__(self, directory: Path | None = None) -> None:
        self.routes: dict[str, Route] = {}  # per server: each one gets its own handler class
        handler = type(
            "Handler",
            (_Handler,),
            {"routes": self.routes, "directory": directory, "lock": threading.Lock()},
        )
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, route: Route) -> str:
        """Serve `route` at `path`; returns its full URL."""
        self.routes[path] = route
        return self.url(path)

    def start(self) -> RouteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RouteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    """Serve a directory until stdin closes; print the base URL first (for benchmarks)."""
    server = RouteServer(Path(argv[0])).start()
    print(server.base_url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

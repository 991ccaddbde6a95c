"""Fetch one image's bytes from an http(s) URL, a `file://` URL or a local path.

Why not `urllib.request.urlopen`: it follows redirects to any scheme, has one timeout for
connect and read, trusts Content-Length for nothing and raises on every failure. A captioning
TSV of web URLs fails 30-40% of the time (link rot, 404s, dead DNS, HTML error pages), so a
failure is an expected *result* here, never an exception: `fetch()` returns a `FetchResult`
with either the bytes or one of the reason codes of the images stage's `rejects.tsv`.

Only the standard library is used (`http.client`), so the workers need no new dependency.
Transient failures (timeouts, connection resets, 429, 5xx) are retried with a small backoff;
permanent ones (404, DNS, bad scheme, too large) are not. Each attempt opens its own
connection (web datasets rarely hit one host twice in a row) and ignores `$HTTP_PROXY`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit
from urllib.request import url2pathname

from capstone_cli.protocol import stage_params

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "capstone-images/0.1 (+https://github.com/pachyderm/pachyderm tutorial 201)"
READ_CHUNK = 64 * 1024
# Characters left alone when re-quoting a URL path/query that contains spaces or non-ASCII.
_SAFE_URL_CHARS = "/%:@!$&'()*+,;=~-._?"


_DEFAULTS = stage_params.defaults("images")


@dataclass(frozen=True)
class FetchConfig:
    """Limits for one fetch: the images stage's parameters (`capstone_cli.protocol`)."""

    connect_timeout: float = _DEFAULTS["connect_timeout"]
    read_timeout: float = _DEFAULTS["read_timeout"]
    max_bytes: int = _DEFAULTS["max_bytes"]
    max_redirects: int = _DEFAULTS["max_redirects"]
    retries: int = _DEFAULTS["retries"]
    backoff: float = _DEFAULTS["backoff"]  # first retry waits this long, then doubles (cap 4 s)
    total_timeout: float = _DEFAULTS["total_timeout"]  # per line, retries included
    data_root: Path | None = None  # where relative paths resolve ($CAPSTONE_DATA_ROOT)
    local_root: Path | None = None  # local reads only below it ($CAPSTONE_LOCAL_ROOT)

    @classmethod
    def from_params(cls, params: dict[str, Any], env: dict[str, str] | None = None) -> FetchConfig:
        """The images stage's params (checked, defaults filled in) and `$CAPSTONE_DATA_ROOT`."""
        params = stage_params.resolve("images", params)
        environ = os.environ if env is None else env
        root = environ.get("CAPSTONE_DATA_ROOT") or None
        fence = environ.get("CAPSTONE_LOCAL_ROOT") or params.get("local_root") or None
        return cls(
            connect_timeout=float(params["connect_timeout"]),
            read_timeout=float(params["read_timeout"]),
            max_bytes=int(params["max_bytes"]),
            max_redirects=int(params["max_redirects"]),
            retries=int(params["retries"]),
            backoff=float(params["backoff"]),
            total_timeout=float(params["total_timeout"]),
            data_root=Path(root) if root else None,
            local_root=Path(fence) if fence else None,
        )


@dataclass(frozen=True)
class FetchResult:
    """Either `data` (the body) or a `reason` code plus a human `detail`."""

    data: bytes | None = None
    reason: str = ""
    detail: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.data is not None


class _Failure(Exception):
    """Internal: one attempt failed with a reason code; `transient` says whether to retry."""

    def __init__(self, reason: str, detail: str = "", transient: bool = False) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason
        self.transient = transient


def fetch(url: str, config: FetchConfig | None = None) -> FetchResult:
    """The bytes at `url`, or why not. Never raises for an expected failure."""
    cfg = config or FetchConfig()
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower() if not url.startswith("/") else ""
    except ValueError as exc:  # e.g. `http://[::1/x.png`: an unclosed IPv6 bracket
        return FetchResult(reason="malformed_line", detail=f"invalid URL: {exc}")
    if scheme in ("http", "https"):
        return _fetch_http_with_retries(url, cfg, time.monotonic() + cfg.total_timeout)
    try:
        if scheme == "file":
            return FetchResult(data=_read_local(_file_url_path(url), cfg))
        if scheme == "":
            return FetchResult(data=_read_local(_local_path(url, cfg), cfg))
        raise _Failure("unsupported_scheme", f"scheme {scheme!r} is not supported")
    except _Failure as failure:
        return FetchResult(reason=failure.reason, detail=failure.detail)


def _file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise _Failure("unsupported_scheme", f"file URL on a remote host {parts.netloc!r}")
    return Path(url2pathname(unquote(parts.path)))


def _local_path(text: str, cfg: FetchConfig) -> Path:
    path = Path(text)
    if path.is_absolute():
        return path
    if cfg.data_root is None:
        raise _Failure("local_path", "relative path and no $CAPSTONE_DATA_ROOT to resolve it")
    return cfg.data_root / path


def _read_local(path: Path, cfg: FetchConfig) -> bytes:
    if cfg.local_root is not None:  # `capstone train` checks the TSV's folder before upload
        real, fence = os.path.normpath(path), os.path.normpath(cfg.local_root)  # lexical, as
        if real != fence and not real.startswith(fence.rstrip(os.sep) + os.sep):  # `train`
            raise _Failure("forbidden_path", f"{path} is outside the local root {fence}")
    try:
        size = path.stat().st_size
        if size > cfg.max_bytes:
            raise _Failure("too_large", f"{size} bytes > max_bytes {cfg.max_bytes}")
        with path.open("rb") as handle:
            data = handle.read(cfg.max_bytes + 1)
    except OSError as exc:
        raise _Failure("io_error", f"{type(exc).__name__}: {exc}") from None
    if len(data) > cfg.max_bytes:  # grew while we read it
        raise _Failure("too_large", f"more than max_bytes {cfg.max_bytes}")
    return data


def _fetch_http_with_retries(url: str, cfg: FetchConfig, deadline: float) -> FetchResult:
    """Attempts (redirects included) until success, a permanent failure, the last retry or
    the line's deadline (`total_timeout` covers every attempt, redirect and backoff)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            data = _fetch_following_redirects(url, cfg, deadline)
            return FetchResult(data=data, attempts=attempts)
        except _Failure as failure:
            pause = min(cfg.backoff * (2 ** (attempts - 1)), 4.0)
            out_of_time = time.monotonic() + pause >= deadline
            if not failure.transient or attempts > cfg.retries or out_of_time:
                return FetchResult(reason=failure.reason, detail=failure.detail, attempts=attempts)
        time.sleep(pause)


def _fetch_following_redirects(url: str, cfg: FetchConfig, deadline: float) -> bytes:
    seen = {url}
    current = url
    for _ in range(cfg.max_redirects + 1):
        location = _get_once(current, cfg, deadline)
        if isinstance(location, bytes):
            return location
        try:
            target = urljoin(current, location)
        except ValueError as exc:
            raise _Failure("malformed_line", f"redirect to an invalid URL: {exc}") from None
        target_scheme = urlsplit(target).scheme.lower()
        if target_scheme not in ("http", "https"):
            raise _Failure("redirect_scheme", f"redirect to {target_scheme or '?'}: {target}")
        if target in seen:
            raise _Failure("too_many_redirects", f"redirect loop back to {target}")
        seen.add(target)
        current = target
    raise _Failure("too_many_redirects", f"more than {cfg.max_redirects} redirects")


def _request_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, quoted path?query) of an http(s) URL."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _Failure("malformed_line", f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not host:
        raise _Failure("malformed_line", f"no host in {url!r}")
    try:
        ascii_host = host.encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
    except UnicodeError as exc:
        raise _Failure("dns", f"host {host!r} is not a valid name: {exc}") from None
    except ValueError as exc:
        raise _Failure("malformed_line", f"bad port in {url!r}: {exc}") from None
    path = quote(parts.path or "/", safe=_SAFE_URL_CHARS)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_URL_CHARS)
    return scheme, ascii_host, port, path


def _connect(
    scheme: str, host: str, port: int, cfg: FetchConfig, deadline: float
) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    timeout = max(0.001, min(cfg.connect_timeout, deadline - time.monotonic()))
    if scheme == "https":
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.connect()
    if conn.sock is not None:  # connect timeout done; every later socket op gets the read one
        conn.sock.settimeout(cfg.read_timeout)
    return conn


class _Watchdog:
    """Shuts a connection's socket down at the line's deadline.

    A read timeout bounds the wait for ONE packet, so a server dripping a byte a second (in
    the headers or the body) never trips it; shutting the socket down from a timer ends any
    read in progress, wherever http.client is in the response.
    """

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def watch(self, conn: http.client.HTTPConnection) -> None:
        self._sock = conn.sock
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _get_once(url: str, cfg: FetchConfig, deadline: float) -> bytes | str:
    """The body of a 2xx answer, or the Location of a redirect; `_Failure` otherwise."""
    scheme, host, port, path = _request_target(url)
    if time.monotonic() >= deadline:
        raise _late(cfg)
    conn: http.client.HTTPConnection | None = None
    watchdog = _Watchdog(deadline)
    try:
        conn = _connect(scheme, host, port, cfg, deadline)
        watchdog.watch(conn)
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.5"})
        response = conn.getresponse()
        status = response.status
        if status in REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise _Failure(f"http_{status}", "redirect without a Location header")
            return location
        if not 200 <= status < 300:
            transient = status == 429 or status >= 500
            raise _Failure(f"http_{status}", f"HTTP {status} {response.reason}", transient)
        body = _read_body(response, cfg, deadline)
        if watchdog.fired:  # the shutdown may read as a clean end of the body
            raise _late(cfg)
        return body
    except _Failure:
        if watchdog.fired:
            raise _late(cfg) from None
        raise
    except Exception as exc:
        failure = _classify(exc, host)
        if watchdog.fired:
            failure = _late(cfg)
        if failure is None:
            raise
        raise failure from None
    finally:
        watchdog.cancel()
        if conn is not None:
            conn.close()


def _late(cfg: FetchConfig) -> _Failure:
    return _Failure("timeout", f"not fetched within total_timeout {cfg.total_timeout} s")


def _classify(exc: Exception, host: str) -> _Failure | None:
    """The reason code of an exception raised while talking to a server (None: unexpected)."""
    name = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, socket.gaierror):
        return _Failure("dns", f"cannot resolve {host}: {exc}")
    if isinstance(exc, TimeoutError):  # socket.timeout is an alias since 3.10
        return _Failure("timeout", name, transient=True)
    if isinstance(exc, http.client.InvalidURL):  # control characters in host or path
        return _Failure("malformed_line", f"invalid URL: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _Failure("connection", f"TLS certificate: {exc}")
    if isinstance(exc, ConnectionError | http.client.HTTPException | OSError):
        # resets, refusals, RemoteDisconnected, IncompleteRead, bad status lines, no route
        return _Failure("connection", name, transient=True)
    return None


def _read_body(response: http.client.HTTPResponse, cfg: FetchConfig, deadline: float) -> bytes:
    """The body, refusing more than `max_bytes` by the header and while streaming."""
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > cfg.max_bytes:
        raise _Failure("too_large", f"Content-Length {declared} > max_bytes {cfg.max_bytes}")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = response.read1(READ_CHUNK)  # what has arrived: deadline checked per packet
        if not chunk:
            break
        total += len(chunk)
        if total > cfg.max_bytes:
            raise _Failure("too_large", f"body exceeds max_bytes {cfg.max_bytes}")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise _Failure("timeout", f"body not read within {cfg.total_timeout} s", True)
    if declared is not None and declared.strip().isdigit() and total < int(declared):
        # http.client's read(amt) returns short data at EOF instead of raising IncompleteRead
        raise _Failure("connection", f"body ended after {total} of {declared} bytes", True)
    return b"".join(chunks)

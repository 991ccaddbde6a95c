"""workers.fetch against a real HTTP server on 127.0.0.1 and real local files."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workers.httpserver import Route, RouteServer
from workers.fetch import FetchConfig, fetch

BODY = b"\x89PNG\r\n\x1a\n" + b"x" * 1000
FAST = FetchConfig(
    connect_timeout=1.0, read_timeout=0.3, max_bytes=4096, max_redirects=3, retries=2, backoff=0.01
)


@pytest.fixture(scope="module")
def server() -> Iterator[RouteServer]:
    with RouteServer() as running:
        running.add("/ok", Route(body=BODY))
        running.add("/ok with space.png", Route(body=BODY))
        running.add("/missing", Route(status=404))
        running.add("/forbidden", Route(status=403))
        running.add("/slow", Route(body=BODY, delay=1.0))
        running.add("/loop-a", Route.redirect("/loop-b"))
        running.add("/loop-b", Route.redirect("/loop-a"))
        running.add("/to-ftp", Route.redirect("ftp://example.com/a.jpg"))
        running.add("/to-ok", Route.redirect("/ok", status=301))
        for hop in range(5):
            running.add(f"/hop{hop}", Route.redirect(f"/hop{hop + 1}"))
        running.add("/big-declared", Route(body=b"x" * 10_000))
        running.add("/big-streamed", Route(body=b"x" * 10_000, send_length=False))
        running.add("/short-body", Route(body=b"x" * 10, declared_length=100))
        running.add("/reset", Route(reset=True))
        running.add("/gone-permanently", Route(status=410))
        yield running


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "http_404"),
        ("/forbidden", "http_403"),
        ("/gone-permanently", "http_410"),
        ("/slow", "timeout"),
        ("/loop-a", "too_many_redirects"),
        ("/hop0", "too_many_redirects"),
        ("/to-ftp", "redirect_scheme"),
        ("/big-declared", "too_large"),
        ("/big-streamed", "too_large"),
        ("/short-body", "connection"),
        ("/reset", "connection"),
    ],
)
def test_http_failures_are_reason_codes(server: RouteServer, path: str, reason: str) -> None:
    result = fetch(server.url(path), FAST)
    assert (result.data, result.reason) == (None, reason), result.detail


@pytest.mark.parametrize("path", ["/ok", "/to-ok", "/ok with space.png"])
def test_http_success(server: RouteServer, path: str) -> None:
    result = fetch(server.url(path), FAST)
    assert result.ok and result.data == BODY, result.detail


def test_permanent_errors_are_not_retried_transient_ones_are(server: RouteServer) -> None:
    missing, reset = server.routes["/missing"], server.routes["/reset"]
    before_missing, before_reset = missing.hits, reset.hits
    assert fetch(server.url("/missing"), FAST).attempts == 1
    assert fetch(server.url("/reset"), FAST).attempts == 3
    assert missing.hits - before_missing == 1
    assert reset.hits - before_reset == 3


def test_503_then_success_is_retried(server: RouteServer) -> None:
    server.add("/flaky", Route(body=BODY, fail_times=2, fail_status=503))
    result = fetch(server.url("/flaky"), FAST)
    assert result.data == BODY and result.attempts == 3


def test_429_beyond_retries_keeps_its_status(server: RouteServer) -> None:
    server.add("/throttled", Route(body=BODY, fail_times=10, fail_status=429))
    result = fetch(server.url("/throttled"), FAST)
    assert (result.reason, result.attempts) == ("http_429", 3)


def test_slow_drip_is_stopped_by_the_total_deadline(server: RouteServer) -> None:
    config = FetchConfig(read_timeout=5.0, total_timeout=0.0, retries=0)
    result = fetch(server.url("/ok"), config)
    assert result.reason == "timeout"


@pytest.mark.parametrize(
    ("drip", "total"), [(0.005, 0.5), (0.02, 0.1)], ids=["in the body", "in the headers"]
)
def test_a_server_dripping_bytes_is_cut_off_at_the_lines_deadline(
    server: RouteServer, drip: float, total: float
) -> None:
    body = b"x" * 400  # the head (~40 bytes) then the body, one byte every `drip` seconds
    # each byte comes well within read_timeout, so only the line's deadline can stop it
    route = Route(body=body, drip=drip)
    server.add("/drip", route)
    config = FetchConfig(read_timeout=5.0, total_timeout=total)
    result = fetch(server.url("/drip"), config)
    assert result.reason == "timeout", result
    assert route.sent < len(body)  # the client left before the server finished dripping


def test_an_unclosed_ipv6_bracket_is_a_malformed_line() -> None:
    result = fetch("http://[::1/x.png", FetchConfig(retries=0))
    assert (result.reason, result.data) == ("malformed_line", None), result.detail


def test_local_reads_stay_under_the_local_root(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "ok.png").write_bytes(b"ok")
    (tmp_path / "secret.png").write_bytes(b"secret")
    config = FetchConfig.from_params({}, {"CAPSTONE_LOCAL_ROOT": str(tmp_path / "root")})
    assert fetch(str(tmp_path / "root" / "ok.png"), config).data == b"ok"
    for url in ("/etc/shadow", "file:///proc/self/environ", f"{tmp_path}/root/../secret.png"):
        assert fetch(url, config).reason == "forbidden_path", url


def test_dns_failure() -> None:
    result = fetch("http://no-such-host.invalid/a.jpg", FetchConfig(retries=0))
    assert result.reason == "dns", result.detail


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = fetch(f"http://127.0.0.1:{port}/a.jpg", FAST)
    assert result.reason == "connection"
    assert time.monotonic() - started < 2.0  # backoff stays small


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a.jpg", "unsupported_scheme"),
        ("data:image/png;base64,AAAA", "unsupported_scheme"),
        ("file://remotehost/etc/a.png", "unsupported_scheme"),
        ("images/a.png", "local_path"),
        ("/definitely/not/here.png", "io_error"),
        ("http:///no-host", "malformed_line"),
    ],
)
def test_non_http_failures(url: str, reason: str) -> None:
    assert fetch(url, FetchConfig()).reason == reason


def test_local_paths(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    image = tmp_path / "images" / "a b.png"
    image.write_bytes(BODY)
    rooted = FetchConfig(data_root=tmp_path)
    assert fetch(str(image)).data == BODY
    assert fetch(image.as_uri()).data == BODY  # file:///.../a%20b.png
    assert fetch("images/a b.png", rooted).data == BODY
    assert fetch(str(image), FetchConfig(max_bytes=10)).reason == "too_large"
    assert fetch(str(tmp_path / "images"), rooted).reason == "io_error"  # a directory


def test_config_from_params_reads_the_data_root() -> None:
    config = FetchConfig.from_params(
        {"read_timeout": 2, "retries": 0}, {"CAPSTONE_DATA_ROOT": "/data"}
    )
    assert (config.read_timeout, config.retries, config.data_root) == (2.0, 0, Path("/data"))
    assert FetchConfig.from_params({}, {}).data_root is None


def test_control_characters_in_the_host_are_malformed_not_retried() -> None:
    result = fetch("http://exa\x01mple.com/a.jpg", FAST)
    assert (result.reason, result.attempts) == ("malformed_line", 1)

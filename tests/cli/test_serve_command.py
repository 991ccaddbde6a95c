"""`capstone serve`: its options and a port that is already taken."""

from __future__ import annotations

import socket

from tests.clirunner import RunCli


def test_port_in_use_is_one_line_error(run_cli: RunCli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = run_cli("serve", "--port", str(port), code=7)
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr
    assert "--port" in res.stderr
    assert "Traceback" not in res.stderr


def test_help_names_the_defaults(run_cli: RunCli) -> None:
    out = run_cli("serve", "--help").stdout
    assert "127.0.0.1" in out and "30650" in out and "--host" in out

"""A running `capstone serve` for the e2e tests that talk to it as a pachd client would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from pachyderm_sdk import Client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A `capstone serve` subprocess on 127.0.0.1:`port`, serving the CAPSTONE_HOME of `env`;
    its stderr goes to the file `stderr` (a pipe nobody reads would block the server once full)."""

    client: Client
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[bytes]
    stderr: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "CAPSTONE_HOME": str(tmp_path / "home")}
    stderr = tmp_path / "serve.stderr"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "capstone_cli", "serve", "--port", str(port)],
            env=env,
            stderr=err,
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=120)
    except grpc.FutureTimeoutError:
        proc.kill()
        pytest.fail(f"capstone serve did not answer in 120 s: {stderr.read_text()[-2000:]}")
    finally:
        channel.close()
    yield Served(Client(host="127.0.0.1", port=port), env, port, proc, stderr)
    proc.terminate()
    proc.wait(timeout=60)

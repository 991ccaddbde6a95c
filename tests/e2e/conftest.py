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
    """A `capstone serve` subprocess on 127.0.0.1:`port`, serving the CAPSTONE_HOME of `env`."""

    client: Client
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[bytes]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "CAPSTONE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "capstone_cli", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=60)
    channel.close()
    yield Served(Client(host="127.0.0.1", port=port), env, port, proc)
    proc.terminate()
    proc.wait(timeout=60)

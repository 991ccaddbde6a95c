"""Fixtures for the Pachyderm backend's contract tests: a fake pachd and a backend bound to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ is not a package: make `fake_pachd` importable however pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_pachd import FakePachd

from capstone_cli.backends.pachyderm import PachydermBackend

MACHINE_SETTINGS = (
    "PACHD_ADDRESS",
    "PACH_CONTEXT",
    "PACH_PYTHON_AUTH_TOKEN",
    "PACH_PYTHON_OIDC_TOKEN",
)


@pytest.fixture
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No pachctl config, PACHD_ADDRESS or token from the machine running the tests."""
    for name in MACHINE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "pachyderm-config.json"
    monkeypatch.setenv("PACH_CONFIG", str(config))
    return config


@pytest.fixture
def pachd() -> Iterator[FakePachd]:
    server = FakePachd()
    yield server
    server.stop()


@pytest.fixture
def backend(pachd: FakePachd, isolated_config: Path) -> Iterator[PachydermBackend]:
    connected = PachydermBackend.connect(pachd.address)
    connected.poll_deadline_s = 2.0
    pachd.requests.clear()  # tests assert only the calls they cause
    yield connected
    connected.close()

"""Fixtures shared by every test: an isolated CAPSTONE_HOME, a store, a CLI runner."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.pfsmount import MODE_ENV, pfs_mode
from tests.clirunner import RunCli, make_run_cli

# Pachyderm's python-sdk suite runs from its own directory against a server
# (tests/e2e/test_serve_python_sdk.py), never collected as part of this tree
collect_ignore = ["vendored"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Give Ctrl-C back to the processes the tests start, when the run itself was started in the
    background (`make test &`, nohup): a shell starts background jobs with SIGINT ignored, an
    ignored signal stays ignored across exec, and the tests that stop `logs -f`, `serve` or `ui`
    with SIGINT would then wait forever. A handled signal is reset to the default at exec.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def capstone_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CAPSTONE_HOME, backend and terminal width."""
    home = tmp_path / "capstone-home"
    monkeypatch.setenv("CAPSTONE_HOME", str(home))
    monkeypatch.delenv("CAPSTONE_BACKEND", raising=False)
    monkeypatch.delenv("CAPSTONE_DEBUG", raising=False)
    monkeypatch.setenv("CAPSTONE_WIDTH", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def store(capstone_home: Path) -> Iterator[Store]:
    s = Store(capstone_home)
    yield s
    s.close()


def use_pfs_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> str:
    """Run this test's jobs in `/pfs` mode `mode` (`literal`: what the machine gives without
    CAPSTONE_PFS_MODE; `proot`, `rewrite`: forced); skipped, with the reason, where this machine
    cannot give it (no CAP_SYS_ADMIN, no working proot)."""
    if mode == "literal":
        monkeypatch.delenv(MODE_ENV, raising=False)
    else:
        monkeypatch.setenv(MODE_ENV, mode)
    found = pfs_mode()
    if found.mode != mode:
        pytest.skip(f"no {mode} /pfs here: {found.reason}")
    return mode


def capstone_cmd() -> list[str]:
    """The CLI as a real subprocess (same interpreter as the tests)."""
    return [sys.executable, "-m", "capstone_cli"]


def subprocess_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CAPSTONE_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.fixture
def run_cli() -> RunCli:
    """Invoke the CLI in-process: `run_cli("ls", "r@master", code=4)`."""
    return make_run_cli()

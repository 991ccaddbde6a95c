"""A real `capstone put` killed with SIGKILL at several points leaves the store consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from capstone_cli.engine.store.store import Store
from tests.conftest import capstone_cmd, subprocess_env


def make_files(root: Path, n: int) -> None:
    for i in range(n):
        d = root / f"d{i % 20}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:05d}.txt").write_bytes(os.urandom(200 + i % 500))
    (root / "big.bin").write_bytes(os.urandom(3 << 20))


def check_consistent(home: Path) -> str | None:
    """Every head is a finished commit whose blobs exist; returns the master head ID."""
    with Store(home) as store:
        repos = store.list_repos()
        if not repos:
            return None
        head = store.head("data")
        if head is None:
            return None
        assert head.finished is not None
        rows = list(store.iter_files(head))
        for _path, digest, _size, _datum in rows[:: max(1, len(rows) // 200)]:
            assert store.blobs.verify(digest) is None
        return head.id


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.5])
def test_kill_put_keeps_store_consistent(tmp_path: Path, capstone_home: Path, delay: float) -> None:
    src = tmp_path / "src"
    make_files(src, 6000)
    env = subprocess_env(capstone_home)
    first = tmp_path / "first.txt"
    first.write_text("before")
    subprocess.run(
        [*capstone_cmd(), "put", "data@master:/first.txt", str(first)],
        env=env,
        check=True,
        capture_output=True,
    )
    before = check_consistent(capstone_home)
    proc = subprocess.Popen(
        [*capstone_cmd(), "put", "data@master:/tree", str(src)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = check_consistent(capstone_home)
    with Store(capstone_home) as store:
        head = store.head("data")
        assert head is not None
        paths = {p for p, *_ in store.iter_files(head)}
    if after == before:
        assert paths == {"/first.txt"}  # the killed commit is invisible
    else:
        assert len(paths) == 6002  # the commit landed whole
    # a re-run completes
    subprocess.run(
        [*capstone_cmd(), "put", "data@master:/tree", str(src)],
        env=env,
        check=True,
        capture_output=True,
    )
    with Store(capstone_home) as store:
        head = store.head("data")
        assert head is not None
        assert len(list(store.iter_files(head))) == 6002

"""Temporary blob files of killed puts are removed by the next write; a live writer's are kept.

A temporary file is named `in-<pid>-<start time>-<random>`; a BlobStore's first write removes
the files whose writer is gone (`blobs.remove_dead_writers_tmp`), and `fsck` counts only those
(and files in an unknown format) as leftovers.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from capstone_cli.engine import procid
from capstone_cli.engine.store.blobs import INLINE_MAX, TMP_PREFIX
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env


def _put(home: Path, src: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home)
    env.pop("CAPSTONE_FAULT", None)
    if fault:
        env["CAPSTONE_FAULT"] = fault
    return subprocess.run(
        [*capstone_cmd(), "put", f"data@master:/{src.name}", str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_killed_puts_temp_file_is_removed_by_the_next_put(
    run_cli: RunCli, capstone_home: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(INLINE_MAX + 10))
    small = tmp_path / "small.txt"
    small.write_text("small")
    run_cli("put", "data@master:/small.txt", str(small))  # the repo exists, tmp/ not yet
    killed = _put(capstone_home, big, "kill:blobs.tmp_written:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    tmp = capstone_home / "blobs" / "tmp"
    (left,) = tmp.iterdir()  # whole, fsynced, never renamed
    assert left.name.startswith(TMP_PREFIX) and left.stat().st_size == INLINE_MAX + 10
    assert run_cli("fsck", "--json").json()["leftovers"] == ["1 temporary upload file(s)"]
    again = _put(capstone_home, small)  # a put of a small file only: still cleans up
    assert again.returncode == 0, again.stderr
    assert list(tmp.iterdir()) == []
    assert run_cli("fsck", "--json").json()["leftovers"] == []


@pytest.mark.skipif(not procid.HAVE_PROC, reason="start times need /proc")
def test_only_files_of_writers_that_are_gone_are_removed(capstone_home: Path) -> None:
    live = subprocess.Popen(["sleep", "60"])
    dead = subprocess.Popen(["true"])
    try:
        live_start, dead_start = procid.start_time(live.pid), procid.start_time(dead.pid)
        dead.wait()
        assert live_start is not None
        with Store(capstone_home) as store:
            tmp = store.blobs.root / "tmp"
            tmp.mkdir(parents=True)
            names = {
                "live": f"{TMP_PREFIX}{live.pid}-{live_start}-abcd1234",
                "reused": f"{TMP_PREFIX}{live.pid}-{live_start - 1}-abcd1234",  # same pid, older
                "dead": f"{TMP_PREFIX}{dead.pid}-{dead_start or 1}-abcd1234",
                "mine": f"{TMP_PREFIX}{os.getpid()}-{procid.own_start_time()}-abcd1234",
                "old format": f"{TMP_PREFIX}k2j4h5",
            }
            for name in names.values():
                (tmp / name).write_bytes(b"partial")
            from capstone_cli.engine.fsck import fsck

            # before: the dead and reused writers' files and the unknown one are leftovers
            assert fsck(store).leftovers == ["3 temporary upload file(s)"]
            store.put_files("data", "master", [NewFile("/a", data=b"a")])
            kept = {p.name for p in tmp.iterdir()}
            assert kept == {names["live"], names["mine"], names["old format"]}
            assert fsck(store).leftovers == ["1 temporary upload file(s)"]  # the old format
    finally:
        live.kill()
        live.wait()

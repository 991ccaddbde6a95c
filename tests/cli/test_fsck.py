"""`capstone fsck`: finds missing and damaged blobs, removes only unreferenced leftovers."""

from __future__ import annotations

import os
from pathlib import Path

from capstone_cli.engine.store.blobs import INLINE_MAX
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store
from tests.clirunner import RunCli


def test_clean_store_and_leftovers(run_cli: RunCli, capstone_home: Path, tmp_path: Path) -> None:
    with Store(capstone_home) as store:
        store.put_files(
            "r", "master", [NewFile("/small", b"x"), NewFile("/big", os.urandom(INLINE_MAX + 1))]
        )
        orphan = store.blobs.root / "ab" / ("cd" * 31)
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"junk")
        (store.home / "scratch" / "dead-run").mkdir(parents=True)
    report = run_cli("fsck", "--json").json()
    assert report["ok"] is True and report["checked_blobs"] == 2
    assert len(report["leftovers"]) == 2
    fixed = run_cli("fsck", "--fix", "--json").json()
    assert fixed["fixed"] == report["leftovers"]
    assert not orphan.exists()
    assert run_cli("fsck", "--json").json()["leftovers"] == []


def test_missing_and_corrupt_blobs_are_problems(run_cli: RunCli, capstone_home: Path) -> None:
    with Store(capstone_home) as store:
        big = os.urandom(INLINE_MAX + 1)
        store.put_files("r", "master", [NewFile("/big", big)])
        path = next(p for p in store.blobs.root.rglob("*") if p.is_file())
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    res = run_cli("fsck", code=9)
    assert "does not match its hash" in res.stderr and "r@" in res.stderr
    path.unlink()
    res = run_cli("fsck", code=9)
    assert "missing" in res.stderr
    res = run_cli("get", "r@master:/big", "-o", str(capstone_home.parent / "out"), code=9)
    assert "capstone fsck" in res.stderr

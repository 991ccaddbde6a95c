"""A store damaged outside capstone (issue #17): diagnosed, never made worse by `fsck --fix`.

`store.db` deleted or emptied while blob files remain, a damaged database page, and a full disk
that must still let the user delete data and get the space back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from capstone_cli.engine import faults
from capstone_cli.engine.store.blobs import INLINE_MAX
from capstone_cli.errors import ExitCode
from tests.clirunner import RunCli
from tests.reliability.test_bad_inputs import assert_clean_error

BIG = INLINE_MAX + 10  # a blob file, not a row of store.db


def _blob_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp")


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_database_with_blobs_left_is_damage_and_fix_quarantines_them(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, how: str
) -> None:
    data = os.urandom(BIG)
    (tmp_path / "big.bin").write_bytes(data)
    run_cli("put", "r@master:/big.bin", str(tmp_path / "big.bin"), "--no-run")
    [blob] = _blob_files(capstone_home)
    hour_ago = time.time() - 3600  # the data was written before the database went missing
    os.utime(blob, (hour_ago, hour_ago))
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        db = capstone_home / name
        if how == "deleted" or name != "store.db":
            db.unlink(missing_ok=True)
        else:
            db.write_bytes(b"")
    res = run_cli("fsck", code=9)
    assert "deleted or emptied" in res.stderr and "store is consistent" not in res.stderr
    res = run_cli("fsck", "--fix", code=9)
    assert_clean_error(res, ExitCode.CORRUPT, "problem")
    kept = capstone_home / "blobs" / "quarantine"
    assert [p.read_bytes() for p in kept.iterdir()] == [data]  # the only copy, moved aside


def _damage_pages(db: Path, keep_first: int) -> None:
    """Overwrite every page of `db` after the first `keep_first` with garbage."""
    page = int.from_bytes(db.read_bytes()[16:18], "big")  # the header's page size
    size = db.stat().st_size
    with db.open("r+b") as f:
        for offset in range(keep_first * page, size, page):
            f.seek(offset)
            f.write(b"\xa5" * page)


@pytest.mark.parametrize("keep", [1, 6], ids=["only the schema page intact", "tables damaged"])
def test_a_damaged_database_page_is_exit_9_and_fsck_says_what_can_be_saved(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, keep: int
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(300):
        (src / f"f{i:03d}.txt").write_text(f"{i}\n" * 50)
    (src / "big.bin").write_bytes(os.urandom(BIG))
    run_cli("put", "r@master", str(src), "--no-run")
    _damage_pages(capstone_home / "store.db", keep)
    for command in (["ls", "r@master:/"], ["repo", "list"]):
        res = run_cli(*command, code=9)
        assert_clean_error(res, ExitCode.CORRUPT, "corrupt")
        assert "capstone fsck" in res.stderr
    for command in (["fsck"], ["fsck", "--fix"]):
        res = run_cli(*command, code=9)
        assert "this is a bug" not in res.stderr and "Traceback" not in res.stderr
        assert "what can be saved: 1 large file(s)" in res.stderr, res.stderr
    assert len(_blob_files(capstone_home)) == 1  # --fix deleted nothing


# -- a full disk ------------------------------------------------------------------------------
def _store_bytes(home: Path) -> int:
    return sum(
        (home / n).stat().st_size for n in ("store.db", "store.db-wal") if (home / n).exists()
    )


def test_deleting_a_repo_gives_its_space_back(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(200):  # 4 MB of small files: rows of store.db, not blob files
        (src / f"f{i:03d}.bin").write_bytes(os.urandom(20_000))
    (tmp_path / "keep.txt").write_text("keep")
    run_cli("put", "keep@master", str(tmp_path / "keep.txt"), "--no-run")
    run_cli("put", "big@master", str(src), "--no-run")
    (src / "big.bin").write_bytes(os.urandom(BIG))
    run_cli("put", "big@master", str(src), "--no-run")
    full = _store_bytes(capstone_home)
    assert full > 4_000_000 and len(_blob_files(capstone_home)) == 1
    run_cli("repo", "delete", "big", "--force")
    assert _store_bytes(capstone_home) < full // 4  # pages and WAL given back at once
    assert _blob_files(capstone_home) == []
    assert run_cli("fsck", "--json").json() == {
        "ok": True, "problems": [], "leftovers": [], "fixed": [], "checked_blobs": 1,
    }  # fmt: skip


@pytest.mark.parametrize("command", [["repo", "delete", "big", "--force"], ["fsck", "--fix"]])
def test_deletes_work_on_a_full_disk(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, command: list[str]
) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "big@master", str(tmp_path / "a.txt"), "--no-run")
    (capstone_home / "scratch" / "dead-run").mkdir(parents=True)  # a leftover for fsck --fix
    assert (capstone_home / "reserve").exists()
    faults.configure("enospc:db.commit:1")  # the disk is full: the first write fails
    try:
        run_cli(*command)
    finally:
        faults.configure(None)
    assert (capstone_home / "reserve").exists()  # released for the delete, made again after
    if command[0] == "repo":
        assert run_cli("repo", "list", "--json").json() == []
    else:
        assert run_cli("fsck", "--json").json()["leftovers"] == []

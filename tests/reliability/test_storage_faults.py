"""Disk full, a read-only store, missing and damaged blobs: a clear error and no corruption.

Filesystem failures are injected with the fault hook (`capstone_cli/engine/faults.py`): no
small filesystem can be mounted here, and the tests run as root, for whom permission bits do not
make a directory read-only. SQLite's own "database or disk is full" is produced for real with
`PRAGMA max_page_count`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capstone_cli.engine import faults
from capstone_cli.engine.fsck import fsck
from capstone_cli.engine.store.blobs import INLINE_MAX
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import StoreWriteError
from tests.clirunner import Result, RunCli

Fault = Callable[[str | None], None]

COPY = {
    "pipeline": {"name": "copy"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["sh", "-c", 'cp -r "$data" /pfs/out/']},
}


@pytest.fixture
def fault() -> Iterator[Fault]:
    yield faults.configure
    faults.configure(None)


def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        (src / f"f{i:02d}.txt").write_bytes(os.urandom(100 + i))
    (src / "big.bin").write_bytes(os.urandom(INLINE_MAX + 10))
    return src


def one_line_error(res: Result, *needles: str) -> None:
    """`error: ...` on one line plus a hint, never a traceback."""
    lines = res.stderr.strip().splitlines()  # progress lines of a job display may come first
    assert [line for line in lines if line.startswith("error")] == lines[-2:-1], res.stderr
    assert lines[-1].startswith("hint: ")
    assert "Traceback" not in res.stderr and "bug in capstone" not in res.stderr
    for needle in needles:
        assert needle in res.stderr


def heads(home: Path) -> dict[str, str | None]:
    with Store(home) as store:
        out = {}
        for repo in store.list_repos():
            head = store.head(repo.name)
            out[repo.name] = head.id if head else None
        return out


def assert_consistent(home: Path) -> None:
    with Store(home) as store:
        assert fsck(store).problems == []


def tree(home: Path, repo: str) -> dict[str, bytes]:
    with Store(home) as store:
        head = store.head(repo)
        assert head is not None
        return {p: store.blobs.read(d) for p, d, _s, _dt in store.iter_files(head)}


# -- disk full ----------------------------------------------------------------------------
@pytest.mark.parametrize("point", ["blobs.tmp_written", "db.commit"])
def test_disk_full_during_put(
    run_cli: RunCli, fault: Fault, tmp_path: Path, capstone_home: Path, point: str
) -> None:
    first = tmp_path / "first.txt"
    first.write_text("kept")
    run_cli("put", "data@master:/first.txt", str(first))
    before = heads(capstone_home)
    src = source(tmp_path)
    fault(f"enospc:{point}:1")
    res = run_cli("put", "data@master:/src", str(src), code=1)
    fault(None)
    one_line_error(res, "no space left", "nothing was committed")
    assert heads(capstone_home) == before  # no partial commit visible
    assert set(tree(capstone_home, "data")) == {"/first.txt"}
    assert_consistent(capstone_home)
    run_cli("fsck", "--fix")  # a blob file written before the failed commit is a leftover
    assert run_cli("fsck", "--json").json()["leftovers"] == []
    run_cli("put", "data@master:/src", str(src))  # space is back: the retry succeeds
    assert len(tree(capstone_home, "data")) == 22


def test_sqlite_really_full_is_a_clear_error_and_rolls_back(store: Store) -> None:
    store.put_files("data", "master", [NewFile("/a", b"a")])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count={pages + 8}")
    files = [NewFile(f"/f{i}", os.urandom(4000)) for i in range(100)]
    with pytest.raises(StoreWriteError, match="no space left"):
        store.put_files("data", "master", files)
    head = store.head("data")
    assert head is not None and [p for p, *_ in store.iter_files(head)] == ["/a"]
    assert fsck(store).problems == []
    store.db.execute("PRAGMA max_page_count=1073741823")
    assert len(list(store.iter_files(store.put_files("data", "master", files)))) == 101


def pending_copy_job(run_cli: RunCli, tmp_path: Path) -> Path:
    """`data` holds `source()`, and the `copy` pipeline has a job waiting for `capstone run`."""
    spec = tmp_path / "copy.json"
    spec.write_text(json.dumps(COPY))
    src = source(tmp_path)
    run_cli("put", "data@master", str(src), "--no-run")
    run_cli("pipeline", "create", "-f", str(spec), "--no-run")
    return src


def test_disk_full_writing_a_job_output(
    run_cli: RunCli, fault: Fault, tmp_path: Path, capstone_home: Path
) -> None:
    pending_copy_job(run_cli, tmp_path)
    fault("enospc:blobs.tmp_written:1")  # the datum that outputs big.bin
    res = run_cli("run", code=1)
    fault(None)
    one_line_error(res, "no space left")
    assert heads(capstone_home)["copy"] is None  # no partial output commit
    assert_consistent(capstone_home)
    run_cli("run")  # resumes the job
    assert tree(capstone_home, "copy") == tree(capstone_home, "data")
    assert_consistent(capstone_home)


# -- read-only store ------------------------------------------------------------------------
@pytest.mark.parametrize("point", ["db.commit", "blobs.tmp_written"])
def test_read_only_store(
    run_cli: RunCli, fault: Fault, tmp_path: Path, capstone_home: Path, point: str
) -> None:
    Store(capstone_home).close()
    src = source(tmp_path)
    fault(f"erofs:{point}:1")
    res = run_cli("put", "data@master", str(src), code=1)
    fault(None)
    one_line_error(res, "the store is read-only", "CAPSTONE_HOME")  # SQLite's or a blob file's
    assert heads(capstone_home).get("data") is None
    assert_consistent(capstone_home)


# -- missing and damaged blobs ----------------------------------------------------------------
def damage(home: Path, path: str, how: str) -> None:
    """Damage (or remove) the blob of data@master:`path`, whether inline or a file."""
    with Store(home) as store:
        head = store.head("data")
        assert head is not None
        row = store.file_row(head, path)
        assert row is not None
        digest = row[0]
        blob_file = store.blobs.file_path(digest)
        if blob_file is None:
            assert how == "damage"
            store.db.execute("UPDATE blobs SET data=? WHERE hash=?", (b"tampered", digest))
        elif how == "damage":
            os.chmod(blob_file, 0o644)
            blob_file.write_bytes(b"tampered")
        else:
            blob_file.unlink()


@pytest.mark.parametrize(
    ("path", "how", "message"),
    [
        ("/big.bin", "damage", "is damaged"),
        ("/big.bin", "remove", "is missing"),
        ("/f03.txt", "damage", "is damaged"),
    ],
)
def test_get_refuses_a_bad_blob(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, path: str, how: str, message: str
) -> None:
    run_cli("put", "data@master", str(source(tmp_path)))
    damage(capstone_home, path, how)
    dest = tmp_path / "out"
    dest.mkdir()
    res = run_cli("get", f"data@master:{path}", "-o", str(dest), code=9)
    one_line_error(res, message, "capstone fsck")
    assert list(dest.iterdir()) == []  # no file, no temporary left
    res = run_cli("fsck", code=9)
    assert "data@" in res.stderr + res.stdout


@pytest.mark.parametrize("path", ["/big.bin", "/f03.txt"])
def test_job_stops_on_a_damaged_input_and_resumes_after_repair(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, path: str
) -> None:
    src = pending_copy_job(run_cli, tmp_path)
    damage(capstone_home, path, "damage")
    res = run_cli("run", code=9)
    one_line_error(res, "is damaged", "capstone fsck")
    assert heads(capstone_home)["copy"] is None  # nothing downstream used the bad data
    run_cli("fsck", code=9)
    fixed = run_cli("fsck", "--fix", "--json", code=9).json()
    assert any("damaged blob" in line for line in fixed["fixed"])
    run_cli("put", f"data@master:{path}", str(src / path.lstrip("/")))  # restores, runs
    assert tree(capstone_home, "copy") == tree(capstone_home, "data")
    assert run_cli("fsck", "--json").json()["ok"] is True

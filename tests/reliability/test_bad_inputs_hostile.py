"""The bad-input corpus, part II (issue #17): what a hostile user tried after part I.

Same contract as `test_bad_inputs.py` (one `error:` line, the exit code of `errors.py`, nothing
half-written), for names capstone must not merge, targets it must not replace, symlinks that
leave a directory, trees thousands of levels deep, specs nested past Python's recursion limit
and messages that must say what is true.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from capstone_cli.engine.store.locks import run_lock
from capstone_cli.engine.worker.scratch import remove_tree
from capstone_cli.errors import ExitCode
from capstone_cli.tsv import SplitReport, split_tsv
from tests.clirunner import RunCli
from tests.reliability.test_bad_inputs import assert_clean_error, store_state

DEEP = 1100  # levels: past Python's default recursion limit (1000)


# -- names and targets ----------------------------------------------------------------------
def test_a_backslash_name_is_stored_as_given_never_merged_with_a_slash_path(
    run_cli: RunCli, tmp_path: Path
) -> None:
    src = tmp_path / "d"
    (src / "a").mkdir(parents=True)
    (src / "a" / "b").write_text("slash")
    (src / "a\\b").write_text("backslash")
    run_cli("put", "c@master", str(src), "--no-run")
    listed = {e["path"]: e["type"] for e in run_cli("ls", "c@master:/", "--json").json()}
    assert listed == {"/a": "dir", "/a\\b": "file"}
    run_cli("get", "c@master:/", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "a" / "b").read_text() == "slash"
    assert (tmp_path / "out" / "a\\b").read_text() == "backslash"


def test_two_local_files_onto_one_repo_path_are_refused(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "same.txt").write_text(d)
    before = store_state(capstone_home)
    res = run_cli(
        "put", "c@master:/in/", str(tmp_path / "x" / "same.txt"), str(tmp_path / "y" / "same.txt"),
        "--no-run", code=1,
    )  # fmt: skip
    assert_clean_error(res, ExitCode.ERROR, "would both be stored as /in/same.txt")
    assert store_state(capstone_home) == before


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_get_never_replaces_a_fifo_or_a_device(run_cli: RunCli, tmp_path: Path, kind: str) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "r@master:/a.txt", str(tmp_path / "a.txt"), "--no-run")
    target = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(target)
    else:  # a private /dev/null: never point a test at the machine's own device nodes
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    res = run_cli("get", "r@master:/a.txt", "-o", str(target), code=2)
    assert_clean_error(res, ExitCode.USAGE, "not a regular file")
    assert not target.is_file()  # still the FIFO or the device
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".capstone-get")] == []


# -- symlinks leaving a directory -------------------------------------------------------------
def test_put_refuses_a_symlink_leaving_the_directory_unless_told_to_follow(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("secret")
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    (src / "inner.txt").symlink_to(src / "ok.txt")  # inside: read as its target
    (src / "leak.txt").symlink_to(secret)
    (src / "leakdir").symlink_to(secret.parent)
    before = store_state(capstone_home)
    res = run_cli("put", "r@master", str(src), "--no-run", code=1)
    assert_clean_error(res, ExitCode.ERROR, "outside", "symlink")
    assert store_state(capstone_home) == before
    run_cli("put", "r@master", str(src), "--no-run", "--follow-symlinks")
    paths = [e["path"] for e in run_cli("ls", "r@master:/", "--json").json()]
    assert paths == ["/inner.txt", "/leak.txt", "/leakdir", "/ok.txt"]


# -- depth ------------------------------------------------------------------------------------
def _deep_dir(root: Path, levels: int) -> Path:
    """`root/q/q/.../f` `levels` deep, made with relative steps (no path is over PATH_MAX)."""
    cwd = os.getcwd()
    try:
        os.makedirs(root)
        os.chdir(root)
        for _ in range(levels):
            os.mkdir("q")
            os.chdir("q")
        Path("f").write_text("deep")
    finally:
        os.chdir(cwd)
    return root


def test_a_tree_deeper_than_the_recursion_limit_goes_in_and_out(
    run_cli: RunCli, tmp_path: Path
) -> None:
    assert sys.getrecursionlimit() < DEEP
    # outside pytest's tmp_path: its cleanup (shutil.rmtree) recurses once per level, and a
    # deep tree left there by an interrupted run would break the cleanup of every later session
    work = Path(tempfile.mkdtemp(prefix="capstone-deep-"))
    try:
        run_cli("put", "deep@master", str(_deep_dir(work / "local", DEEP)), "--no-run")
        (tmp_path / "x").write_text("x")
        run_cli("put", f"deep@master:{'/p' * DEEP}/x", str(tmp_path / "x"), "--no-run")
        run_cli("get", "deep@master:/", "-o", str(work / "out"))
        assert (work / "out" / ("q/" * DEEP) / "f").read_text() == "deep"
        assert (work / "out" / ("p/" * DEEP) / "x").read_text() == "x"
    finally:
        remove_tree(work)
    assert not work.exists()


# -- specs nested past the recursion limit ----------------------------------------------------
def _nested_cross(levels: int) -> dict[str, object]:
    node: dict[str, object] = {"pfs": {"repo": "data", "glob": "/*"}}
    for _ in range(levels):
        node = {"cross": [node, {"pfs": {"repo": "data", "glob": "/"}}]}
    return node


def _deep_spec(kind: str) -> str:
    head = '{"pipeline": {"name": "deep"}, "transform": {"cmd": ["true"]}, "input": '
    if kind == "YAML brackets, 20,000 levels":
        return (
            "pipeline: {name: deep}\ntransform: {cmd: [true]}\ninput: " + "[" * 20000 + "]" * 20000
        )
    if kind == "JSON brackets, 20,000 levels":
        return head + "[" * 20000 + "]" * 20000 + "}"
    return head + json.dumps(_nested_cross(300)) + "}"  # 300 nested cross inputs


@pytest.mark.parametrize(
    "kind",
    ["YAML brackets, 20,000 levels", "JSON brackets, 20,000 levels", "300 nested cross inputs"],
)
@pytest.mark.parametrize("command", ["pipeline create -f", "datums"])
def test_a_spec_nested_past_the_recursion_limit_is_an_invalid_spec(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, kind: str, command: str
) -> None:
    spec = tmp_path / ("deep.yaml" if kind.startswith("YAML") else "deep.json")
    spec.write_text(_deep_spec(kind))
    res = run_cli(*command.split(), str(spec), code=3)
    assert_clean_error(res, ExitCode.INVALID_SPEC, "nests deeper than 100 levels")
    assert store_state(capstone_home) == ()


# -- trust boundaries -------------------------------------------------------------------------
def test_the_store_is_private_whatever_the_umask(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom((1 << 20) + 10))  # a blob file too
    old = os.umask(0)
    try:
        run_cli("put", "r@master", str(tmp_path / "big.bin"), "--no-run")
    finally:
        os.umask(old)
    assert stat.S_IMODE(capstone_home.stat().st_mode) == 0o700
    for path in capstone_home.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))  # nothing for group or others
        if path.is_file():
            assert mode & 0o700 in (0o600, 0o400), (path, oct(mode))


def test_a_tsv_naming_files_outside_its_folder_publishes_none_of_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "images" / "ok.png").write_bytes(b"png")
    (data / "link").symlink_to(tmp_path)  # the user's own link: their choice, not the TSV's
    (tmp_path / "secret.png").write_bytes(b"secret")
    tsv = data / "captions.tsv"
    tsv.write_text(
        "ok\timages/ok.png\n"
        "shadow\t/etc/shadow\n"
        "environ\tfile:///proc/self/environ\n"
        "up\t../secret.png\n"
        "link\tlink/secret.png\n"
    )
    report = SplitReport()
    chunks = list(split_tsv(tsv, lines_per_chunk=10, report=report))
    kept = f"ok\t{data}/images/ok.png\nlink\t{data}/link/secret.png\n"
    assert b"".join(c.data or b"" for c in chunks) == kept.encode()
    assert [(n, r.split(":")[0]) for n, r in report.malformed] == [
        (2, "forbidden_path"), (3, "forbidden_path"), (4, "forbidden_path")
    ]  # fmt: skip
    # a root the user names
    report = SplitReport()
    chunks = list(split_tsv(tsv, lines_per_chunk=10, report=report, local_root=tmp_path))
    assert [n for n, _ in report.malformed] == [2, 3, 4]  # relative paths resolve under it


def test_train_strict_refuses_a_path_outside_the_tsvs_folder(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    tsv = tmp_path / "captions.tsv"
    tsv.write_text("shadow\t/etc/shadow\n")
    res = run_cli("train", "--tsv", str(tsv), "--strict", "--out", str(tmp_path / "o"), code=1)
    assert_clean_error(res, ExitCode.ERROR, "captions.tsv:1: forbidden_path")
    assert store_state(capstone_home) == ()


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("ftp://alice:s3cr3tT0ken@host:30650", ExitCode.USAGE),
        ("grpc://alice:s3cr3tT0ken@host:notaport", ExitCode.USAGE),
        ("alice:s3cr3tT0ken@[::1", ExitCode.USAGE),
        ("grpc://alice:s3cr3tT0ken@127.0.0.1:9?token=s3cr3tT0ken", ExitCode.USAGE),
    ],
)
def test_credentials_in_pachd_address_are_never_echoed(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, address: str, code: ExitCode
) -> None:
    monkeypatch.setenv("PACHD_ADDRESS", address)
    res = run_cli("--backend", "pachyderm", "repo", "list", code=int(code))
    message = assert_clean_error(res, code, "***@")
    assert "s3cr3tT0ken" not in res.stdout + res.stderr, message


# -- messages that say what is true -----------------------------------------------------------
@pytest.mark.parametrize("kind", ["/dev/zero", "a FIFO"])
def test_a_device_or_fifo_as_tsv_is_not_a_regular_file(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, kind: str
) -> None:
    tsv = Path("/dev/zero")
    if kind == "a FIFO":
        tsv = tmp_path / "fifo.tsv"
        os.mkfifo(tsv)
    res = run_cli("train", "--tsv", str(tsv), "--out", str(tmp_path / "o"), code=1)
    assert_clean_error(res, ExitCode.ERROR, "is not a regular file")
    assert store_state(capstone_home) == ()


def test_cr_only_line_endings_are_named_as_such(run_cli: RunCli, tmp_path: Path) -> None:
    tsv = tmp_path / "mac.tsv"
    tsv.write_bytes(b"a cat\thttp://x/1.jpg\ra dog\thttp://x/2.jpg\r")
    res = run_cli("train", "--tsv", str(tsv), "--strict", "--out", str(tmp_path / "o"), code=1)
    message = assert_clean_error(res, ExitCode.ERROR, "CR-only line endings")
    assert "columns" not in message


def test_fsck_during_a_run_does_not_call_its_scratch_leftovers(
    run_cli: RunCli, capstone_home: Path
) -> None:
    run_cli("repo", "create", "r")
    (capstone_home / "scratch" / "live-run").mkdir(parents=True)
    with run_lock(capstone_home):  # a run holds the lock: its scratch directories are live
        assert run_cli("fsck", "--json").json()["leftovers"] == []
    assert run_cli("fsck", "--json").json()["leftovers"] == ["1 scratch dir(s) from earlier runs"]


def test_fsck_flags_a_planted_dotdot_path(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "r@master:/a.txt", str(tmp_path / "a.txt"), "--no-run")
    db = sqlite3.connect(capstone_home / "store.db")
    db.execute("UPDATE files SET path='/../../etc/passwd'")
    db.commit()
    db.close()
    res = run_cli("fsck", code=9)
    assert "invalid path '/../../etc/passwd'" in res.stderr

"""Scratch roots: what a datum's inputs look like, and which outputs are collected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.outputs import collect_outputs
from capstone_cli.errors import InvalidNameError
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree

TRICKY = {
    "/a/x": b"1",
    "/a/y/z": b"2",
    "/a.txt": b"3",  # '.' and '-' sort between '/' and '0': inside a naive ['/a', '/a0') range
    "/a-b/x": b"4",
    "/a0": b"5",
    "/ab": b"6",
}


def test_iter_files_of_a_path_is_the_path_and_what_is_below_it(store: Store) -> None:
    head = put(store, "in", TRICKY)
    assert [p for p, *_ in store.iter_files(head, "/a")] == ["/a/x", "/a/y/z"]
    assert [p for p, *_ in store.iter_files(head, "/a/")] == ["/a/x", "/a/y/z"]
    assert [p for p, *_ in store.iter_files(head, "/a.txt")] == ["/a.txt"]
    assert [p for p, *_ in store.iter_files(head, "/a-b")] == ["/a-b/x"]
    assert [p for p, *_ in store.iter_files(head, "/zz")] == []


def test_directory_and_file_datums_see_exactly_their_files(store: Store) -> None:
    put(store, "in", TRICKY)
    # each datum copies what its input holds and lists the whole /pfs/in it was given
    cmd = [
        "sh",
        "-c",
        'n=$(basename "$in"); cp -r "$in" /pfs/out/; cd /pfs/in && ls -R . > /pfs/out/ls-$n',
    ]
    P.create_pipeline(store, make_spec("d", cmd, pfs("in", "/*")))
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 5, 5, 0, 0, 0)
    out = tree(store, "d")
    assert {p: v for p, v in out.items() if "/ls-" not in p} == TRICKY
    assert out["/ls-a"].decode().split() == [".:", "a", "./a:", "x", "y", "./a/y:", "z"]
    assert out["/ls-a.txt"].decode().split() == [".:", "a.txt"]


def _touch(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_collect_outputs_follows_symlinks_and_skips_what_is_not_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    _touch(out / "top")
    _touch(out / "d" / "e" / "deep")
    (out / "empty").mkdir()
    _touch(elsewhere / "f")
    _touch(elsewhere / "sub" / "g")
    (out / "link-file").symlink_to(elsewhere / "f")
    (out / "link-dir").symlink_to(elsewhere / "sub")
    os.mkfifo(out / "fifo")
    found = collect_outputs(out)
    assert [p for p, _ in found] == ["/d/e/deep", "/link-dir/g", "/link-file", "/top"]
    assert dict(found)["/link-dir/g"] == out / "link-dir" / "g"
    assert collect_outputs(tmp_path / "nothing-here") == []


def test_collect_outputs_fails_on_a_dangling_symlink_as_pachyderm(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(InvalidNameError, match="does not exist"):
        collect_outputs(tmp_path / "out")


def test_collect_outputs_refuses_a_name_pachyderm_refuses(tmp_path: Path) -> None:
    _touch(tmp_path / "out" / "bad*name")
    with pytest.raises(InvalidNameError, match="cannot upload file produced by the user code"):
        collect_outputs(tmp_path / "out")

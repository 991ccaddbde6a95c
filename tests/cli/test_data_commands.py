"""The data commands' contract: put/get round trips, ls/commits JSON shapes, exit codes."""

from __future__ import annotations

import os
import random
from pathlib import Path

from tests.clirunner import RunCli


def make_tree(root: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(n):
        sub = root / f"d{i % 13}" / f"e{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        size = 0 if i % 50 == 0 else rng.randint(1, 3000)
        (sub / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_round_trip_10000_files(run_cli: RunCli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, 10_000)
    run_cli("put", "data@master:/tree", str(src))
    run_cli("get", "data@master:/tree", "-o", str(tmp_path / "back"))
    assert tree_bytes(tmp_path / "back") == tree_bytes(src)


def test_ls_json_shape(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("hi")
    run_cli("put", "r@master", str(tmp_path / "a.txt"))
    run_cli("put", "r@master:/sub/", str(tmp_path / "sub" / "b.txt"))
    entries = run_cli("ls", "r@master", "--json").json()
    assert entries == [
        {"path": "/a.txt", "type": "file", "size": 5},
        {"path": "/sub", "type": "dir", "size": 2},
    ]


def test_commits_json_shape(run_cli: RunCli, tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_text("1")
    run_cli("put", "r@master", str(f), "-m", "first")
    f.write_text("2")
    run_cli("put", "r@master", str(f))
    commits = run_cli("commits", "r@master", "--json").json()
    assert len(commits) == 2
    assert set(commits[0]) == {
        "repo",
        "branch",
        "id",
        "parent",
        "origin",
        "started",
        "finished",
        "size",
        "description",
        "error",
    }
    assert commits[0]["parent"] == commits[1]["id"]
    assert commits[1]["description"] == "first" and commits[1]["origin"] == "USER"


def test_repo_commands(run_cli: RunCli) -> None:
    run_cli("repo", "create", "images", "-d", "pictures")
    assert [r["name"] for r in run_cli("repo", "list", "--json").json()] == ["images"]
    assert run_cli("repo", "inspect", "images", "--json").json()["description"] == "pictures"
    err = run_cli("repo", "create", "images", code=7)
    assert "already exists" in err.stderr
    run_cli("repo", "delete", "images")
    assert run_cli("repo", "list", "--json").json() == []


def test_errors_are_one_line_with_hint(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("ls", "nope@master", code=4)
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error: repo 'nope' not found") and lines[1].startswith("hint:")
    assert "Traceback" not in res.stderr
    run_cli("put", "bad name@master", str(tmp_path), code=2)
    bad = tmp_path / "we*ird"
    bad.write_text("x")
    res = run_cli("put", "r@master", str(bad), code=2)
    assert "glob characters" in res.stderr
    assert run_cli("repo", "list", "--json").json() == []


def test_get_never_writes_outside_destination(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a").write_text("x")
    run_cli("put", "r@master:/dir/", str(tmp_path / "s" / "a"))
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, dest / "dir")
    res = run_cli("get", "r@master:/", "-o", str(dest), code=2)
    assert "outside" in res.stderr
    assert list(outside.iterdir()) == []

"""`capstone project ...`, `--project` and CAPSTONE_PROJECT: JSON shapes, exit codes, and repos
and pipelines placed in the project the user names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from tests.clirunner import RunCli


def cat(run_cli: RunCli, tmp_path: Path, ref: str) -> str:
    """A file's contents through `capstone get REF -o FILE`."""
    out = tmp_path / "got"
    out.unlink(missing_ok=True)
    run_cli("get", ref, "-o", str(out))
    return out.read_text()


def test_project_lifecycle_and_json_shapes(run_cli: RunCli) -> None:
    assert [p["name"] for p in run_cli("project", "list", "--json").json()] == ["default"]
    run_cli("project", "create", "staging", "-d", "tests")
    run_cli("--project", "staging", "repo", "create", "edges")
    shown = run_cli("project", "inspect", "staging", "--json").json()
    assert set(shown) == {"name", "description", "created", "repos"}
    assert (shown["name"], shown["description"], shown["repos"]) == ("staging", "tests", ["edges"])
    listed = run_cli("project", "list", "--json").json()
    assert [(p["name"], p["repos"]) for p in listed] == [("default", []), ("staging", ["edges"])]
    assert "staging" in run_cli("project", "list").stdout
    run_cli("project", "delete", "staging", code=ExitCode.CONFLICT)
    run_cli("repo", "delete", "staging/edges")
    run_cli("project", "delete", "staging")
    assert [p["name"] for p in run_cli("project", "list", "--json").json()] == ["default"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("project", "create", "bad name"), ExitCode.USAGE),
        (("project", "create", "default"), ExitCode.CONFLICT),
        (("project", "inspect", "nope"), ExitCode.NOT_FOUND),
        (("project", "delete", "nope"), ExitCode.NOT_FOUND),
        (("project", "delete", "default"), ExitCode.CONFLICT),
        (("--project", "nope", "repo", "create", "r"), ExitCode.NOT_FOUND),
        (("repo", "create", "nope/r"), ExitCode.NOT_FOUND),
        (("repo", "create", "a/b/c"), ExitCode.USAGE),
        (("ls", "nope/r@master"), ExitCode.NOT_FOUND),
    ],
)
def test_bad_names_and_missing_projects(run_cli: RunCli, args: tuple[str, ...], code: int) -> None:
    result = run_cli(*args, code=code)
    assert result.stderr.startswith("error: ")
    assert run_cli("repo", "list", "--json").json() == []


def test_same_repo_name_in_two_projects(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("project", "create", "staging")
    (tmp_path / "a.txt").write_text("default\n")
    run_cli("put", "edges@master:/a.txt", str(tmp_path / "a.txt"))
    (tmp_path / "a.txt").write_text("staging\n")
    monkeypatch.setenv("CAPSTONE_PROJECT", "staging")
    run_cli("put", "edges@master:/a.txt", str(tmp_path / "a.txt"))
    assert cat(run_cli, tmp_path, "edges@master:/a.txt") == "staging\n"
    assert cat(run_cli, tmp_path, "default/edges@master:/a.txt") == "default\n"
    repos = run_cli("repo", "list", "--json").json()
    assert [(r["project"], r["name"]) for r in repos] == [("staging", "edges")]
    assert [c["repo"] for c in run_cli("commits", "edges", "--json").json()] == ["staging/edges"]
    monkeypatch.delenv("CAPSTONE_PROJECT")
    assert cat(run_cli, tmp_path, "edges@master:/a.txt") == "default\n"
    assert cat(run_cli, tmp_path, "staging/edges@master:/a.txt") == "staging\n"


def test_pipeline_in_a_project(run_cli: RunCli, tmp_path: Path) -> None:
    spec = {
        "pipeline": {"name": "copy", "project": {"name": "staging"}},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp /pfs/data/* /pfs/out/"]},
    }
    (tmp_path / "copy.json").write_text(json.dumps(spec))
    (tmp_path / "x").write_text("x\n")
    run_cli("project", "create", "staging")
    run_cli("pipeline", "create", "-f", str(tmp_path / "copy.json"), code=ExitCode.NOT_FOUND)
    run_cli("put", "staging/data@master", str(tmp_path / "x"))
    run_cli("pipeline", "create", "-f", str(tmp_path / "copy.json"))
    assert cat(run_cli, tmp_path, "staging/copy@master:/x") == "x\n"
    assert run_cli("pipeline", "list", "--json").json() == []  # the default project has none
    listed = run_cli("--project", "staging", "pipeline", "list", "--json").json()
    assert [(p["name"], p["inputs"]) for p in listed] == [("staging/copy", ["staging/data"])]
    jobs = run_cli("--project", "staging", "jobs", "-p", "copy", "--json").json()
    assert [j["pipeline"] for j in jobs] == ["staging/copy"]

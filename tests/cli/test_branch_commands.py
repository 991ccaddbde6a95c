"""`capstone branch create|list|delete`: JSON shapes, exit codes for bad names and missing
repos, branches or heads, and a moved head that runs the jobs downstream of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from tests.clirunner import RunCli


@pytest.fixture
def data(run_cli: RunCli, tmp_path: Path) -> str:
    """Repo `data` with one commit on dev; returns that commit's ID."""
    (tmp_path / "a").write_text("a\n")
    run_cli("put", "data@dev", str(tmp_path / "a"))
    commit: str = run_cli("commits", "data", "--json").json()[0]["id"]
    return commit


def test_create_list_delete_and_json_shape(run_cli: RunCli, data: str) -> None:
    run_cli("branch", "create", "data@master", "--head", "dev")
    run_cli("branch", "create", "data@release", "--trigger", "master", "--trigger-commits", "2")
    listed = run_cli("branch", "list", "data", "--json").json()
    assert [set(b) for b in listed] == [{"repo", "name", "head", "trigger", "provenance"}] * 3
    assert [(b["name"], b["head"]) for b in listed][:2] == [("dev", data), ("master", data)]
    release = listed[2]["head"]  # created without a head: an empty commit of its own, as pachd
    assert release not in (None, data)
    empty = run_cli("commits", "data@release", "--json").json()
    assert [(c["id"], c["size"]) for c in empty] == [(release, 0)]
    assert listed[2]["trigger"] == {"branch": "master", "size": "", "commits": 2, "all": False}
    table = run_cli("branch", "list", "data").stdout
    assert "master on 2 commits" in table
    run_cli("branch", "delete", "data@release")
    assert [b["name"] for b in run_cli("branch", "list", "data", "--json").json()] == [
        "dev",
        "master",
    ]


def test_moving_a_head_runs_the_pipeline_on_it(run_cli: RunCli, data: str, tmp_path: Path) -> None:
    spec = {
        "pipeline": {"name": "copy"},
        "input": {"pfs": {"repo": "data", "branch": "master", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp /pfs/data/* /pfs/out/"]},
    }
    (tmp_path / "copy.json").write_text(json.dumps(spec))
    run_cli("pipeline", "create", "-f", str(tmp_path / "copy.json"))
    assert run_cli("ls", "copy@master", "--json").json() == []  # its creation job's commit
    run_cli("branch", "create", "data@master", "--head", data[:8])  # a commit ID prefix
    assert [e["path"] for e in run_cli("ls", "copy@master", "--json").json()] == ["/a"]
    jobs = run_cli("jobs", "-p", "copy", "--json").json()
    assert jobs[0]["id"] == data and jobs[0]["state"] == "JOB_SUCCESS"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("branch", "create", "data"), ExitCode.USAGE),
        (("branch", "create", "data@bad name"), ExitCode.USAGE),
        (("branch", "create", "data@x:/path"), ExitCode.USAGE),
        (("branch", "create", "nope@dev"), ExitCode.NOT_FOUND),
        (("branch", "create", "data@x", "--head", "nope"), ExitCode.NOT_FOUND),
        (("branch", "create", "data@x", "--trigger-size", "1MB"), ExitCode.USAGE),
        (("branch", "create", "data@x", "--trigger", "x", "--trigger-all"), ExitCode.USAGE),
        (("branch", "create", "data@x", "--trigger", "dev", "--trigger-size", "?"), ExitCode.USAGE),
        (("branch", "list", "nope"), ExitCode.NOT_FOUND),
        (("branch", "delete", "data@nope"), ExitCode.NOT_FOUND),
        (("branch", "delete", "nope@dev"), ExitCode.NOT_FOUND),
        (("--project", "nope", "branch", "list", "data"), ExitCode.NOT_FOUND),
    ],
)
def test_refusals(run_cli: RunCli, data: str, args: tuple[str, ...], code: int) -> None:
    before = run_cli("branch", "list", "data", "--json").json()
    result = run_cli(*args, code=code)
    assert result.stderr.startswith("error: ")
    assert run_cli("branch", "list", "data", "--json").json() == before

"""A run that meets a broken or vanishing pipeline finishes the other pipelines' jobs (#17).

A job that cannot start (its glob cannot be compiled) fails with the reason instead of staying
RUNNING and blocking every later job; a pipeline deleted while its job runs (here: by its own
datum, a real `capstone pipeline delete` in another process) drops that job, and the run goes on.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from capstone_cli.errors import ExitCode
from tests.clirunner import RunCli
from tests.reliability.test_bad_inputs import assert_clean_error, store_state


def _spec(tmp_path: Path, name: str, glob: str, cmd: str) -> Path:
    spec = {
        "pipeline": {"name": name},
        "input": {"pfs": {"repo": "data", "glob": glob}},
        "transform": {"cmd": ["sh", "-c", cmd]},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path


def _states(run_cli: RunCli) -> dict[str, str]:
    return {j["pipeline"]: j["state"] for j in run_cli("jobs", "--json").json()}


COPY = 'cp -r "$data" /pfs/out/'


def test_an_invalid_glob_is_refused_at_create(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "data@master", str(tmp_path / "a.txt"), "--no-run")
    before = store_state(capstone_home)
    res = run_cli("pipeline", "create", "-f", str(_spec(tmp_path, "bad", "/[[[*", COPY)), code=3)
    assert_clean_error(res, ExitCode.INVALID_SPEC, "input.pfs.glob", "invalid glob")
    assert store_state(capstone_home) == before


def test_a_job_that_cannot_start_fails_with_its_reason_and_blocks_no_one(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "data@master", str(tmp_path / "a.txt"), "--no-run")
    run_cli("pipeline", "create", "-f", str(_spec(tmp_path, "bad", "/*", COPY)), "--no-run")
    run_cli("pipeline", "create", "-f", str(_spec(tmp_path, "good", "/*", COPY)), "--no-run")
    # a spec stored before create checked globs (an older capstone): plant the bad glob
    db = sqlite3.connect(capstone_home / "store.db")
    for column in ("spec", "effective"):
        db.execute(f"UPDATE pipelines SET {column}=replace({column}, '\"/*\"', '\"/[[[*\"') "
                   "WHERE name='bad'")  # fmt: skip
    db.commit()
    db.close()
    res = run_cli("run", code=5)  # a job failed: the run says so, after running the others
    assert "this is a bug" not in res.stderr
    states = _states(run_cli)
    assert states == {"bad": "JOB_FAILURE", "good": "JOB_SUCCESS"}, states
    [bad] = [j for j in run_cli("jobs", "--json").json() if j["pipeline"] == "bad"]
    assert "invalid glob" in bad["reason"]


def test_a_pipeline_deleted_during_the_run_does_not_stop_the_others(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "data@master", str(tmp_path / "a.txt"), "--no-run")
    delete_self = f"{sys.executable} -m capstone_cli pipeline delete doomed"
    run_cli("pipeline", "create", "-f", str(_spec(tmp_path, "doomed", "/*", delete_self)),
            "--no-run")  # fmt: skip
    run_cli("pipeline", "create", "-f", str(_spec(tmp_path, "zlast", "/*", COPY)), "--no-run")
    run_cli("run")
    assert _states(run_cli) == {"zlast": "JOB_SUCCESS"}
    assert [e["path"] for e in run_cli("ls", "zlast@master:/", "--json").json()] == ["/a.txt"]
    assert run_cli("fsck", "--json").json()["ok"]

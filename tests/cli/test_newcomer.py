"""The newcomer's path (issue 12): what a first-time user runs, checked offline.

Unreachable images come from hostnames under `.invalid` (RFC 6761: never resolves), so the
images stage rejects every line with `dns` without any network.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from capstone_cli import ui
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.results import JobInfo
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env

SPECS = PACKAGED_SPECS


def unreachable_tsv(folder: Path, lines: int, name: str = "unreachable.tsv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tsv = folder / name
    tsv.write_text(
        "".join(f"a dog {i}\thttp://img{i}.example.invalid/x.jpg\n" for i in range(lines))
    )
    return tsv


def train_args(tsv: Path, tmp_path: Path) -> list[str]:
    return ["train", "--tsv", str(tsv), "--specs", str(SPECS), "--out", str(tmp_path / "out")]


def test_train_with_every_image_rejected_says_so_first(run_cli: RunCli, tmp_path: Path) -> None:
    """#12 item 2: not "no model", but the rejects by reason and what to try offline."""
    tsv = unreachable_tsv(tmp_path / "data", 7)
    result = run_cli(*train_args(tsv, tmp_path), code=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: all 7 lines rejected: dns x7; no image to train on"]
    assert "offline? try testdata/offline/train.tsv" in result.stderr
    assert "produced no model" not in result.stderr

    summary = run_cli(*train_args(tsv, tmp_path), "--json", code=1).json()
    assert summary["rejected_images"] == {"dns": 7}
    assert summary["error"].startswith("all 7 lines rejected")

    datums = run_cli("datums", "consolidate", "--specs", str(SPECS))
    warnings = [line for line in datums.stderr.splitlines() if line.startswith("warning:")]
    assert not any("put files into" in w for w in warnings if "features@master" in w)
    assert any("output of pipeline 'features'" in w for w in warnings)
    assert len([w for w in warnings if "no partner" in w]) == 1


COLLIDING = """
pipeline: {name: clash}
transform:
  cmd: [sh, -c, "echo same > /pfs/out/same.txt"]
input:
  pfs: {repo: in, glob: "/*"}
---
pipeline: {name: after}
transform:
  cmd: [sh, -c, "cp -r /pfs/clash/. /pfs/out/"]
input:
  pfs: {repo: clash, glob: "/"}
"""


def test_the_failed_job_named_is_the_cause(run_cli: RunCli, tmp_path: Path) -> None:
    """#12 item 3: a job that fails as a whole (two datums write one path) is the one named,
    by the error and by `status`, not the downstream job it left unrunnable."""
    for name in ("a", "b"):
        (tmp_path / name).write_text(name)
    run_cli("put", "in@master", str(tmp_path / "a"), str(tmp_path / "b"))
    spec = tmp_path / "clash.yaml"
    spec.write_text(COLLIDING)
    failed = run_cli("pipeline", "create", "-f", str(spec), code=5)
    assert "of pipeline clash ended in JOB_FAILURE" in failed.stderr
    assert "duplicate path" in failed.stderr and "capstone logs -p clash" in failed.stderr
    status = run_cli("status", "--json").json()
    assert [j["pipeline"] for j in status["failed_jobs"]] == ["clash"]
    assert "failed job clash@" in run_cli("status").stdout


def test_delete_file_makes_a_commit_without_the_path(run_cli: RunCli, tmp_path: Path) -> None:
    """#12 item 3: `capstone delete file REPO@BRANCH:PATH`, directories recursively."""
    src = tmp_path / "src"
    (src / "dir" / "deep").mkdir(parents=True)
    (src / "dir" / "deep" / "x.txt").write_text("x")
    (src / "dir" / "y.txt").write_text("y")
    (src / "keep.txt").write_text("k")
    run_cli("put", "r@master", str(src))
    run_cli("delete", "file", "r@master:/dir")
    assert [e["path"] for e in run_cli("ls", "r@master", "--json").json()] == ["/keep.txt"]
    assert len(run_cli("commits", "r@master", "--json").json()) == 2
    missing = run_cli("delete", "file", "r@master:/dir", code=4)
    assert "no such file" in missing.stderr or "not found" in missing.stderr
    run_cli("delete", "file", "nope@master:/x", code=4)
    assert len(run_cli("commits", "r@master", "--json").json()) == 2


def test_rerun_after_an_interrupted_train_says_it_resumes(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    """#12 item 6: a train stopped after its upload (here killed there, as Ctrl-C would leave
    it: committed, jobs not finished); the re-run resumes and says so."""
    tsv = unreachable_tsv(tmp_path / "data", 3)
    env = subprocess_env(capstone_home) | {"CAPSTONE_FAULT": "kill:train.uploaded"}
    killed = subprocess.run(
        [*capstone_cmd(), *train_args(tsv, tmp_path)], env=env, capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL
    again = run_cli(*train_args(tsv, tmp_path), code=1)
    assert "unchanged since the last upload: resuming the interrupted run" in again.stderr
    assert "all 3 lines rejected" in again.stderr  # it did run the jobs
    third = run_cli(*train_args(tsv, tmp_path), code=1)
    assert "unchanged since the last upload: nothing to run" in third.stderr


COPY = """
pipeline: {name: copy}
transform:
  cmd: [sh, -c, "cp -r /pfs/in/. /pfs/out/"]
input:
  pfs: {repo: in, glob: "/*"}
"""


def test_jobs_hide_empty_jobs_and_show_short_ids(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    """#12 items 4 and 7: the 0/0 job of pipeline creation only with --all; at 80 columns a
    job is one line with a short ID (the whole ID in --json)."""
    run_cli("repo", "create", "in")
    spec = tmp_path / "copy.yaml"
    spec.write_text(COPY)
    run_cli("pipeline", "create", "-f", str(spec))  # no data yet: an empty job
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "in@master", str(tmp_path / "a.txt"))
    everything = run_cli("jobs", "--all", "--json").json()
    assert [j["data_total"] for j in everything] == [1, 0]
    assert [j["data_total"] for j in run_cli("jobs", "--json").json()] == [1]
    assert [j["data_total"] for j in run_cli("status", "--json").json()["recent_jobs"]] == [1]
    assert len(run_cli("status", "--all", "--json").json()["recent_jobs"]) == 2
    env = subprocess_env(capstone_home) | {"CAPSTONE_WIDTH": "80"}
    shown = subprocess.run([*capstone_cmd(), "jobs"], env=env, capture_output=True, check=True)
    table = shown.stdout.decode().splitlines()
    full = everything[0]["id"]
    assert len(table) == 2 and full not in table[1] and full[:12] in table[1]
    assert max(len(line) for line in table) <= 80
    run_cli("job", "inspect", f"copy@{full[:12]}")  # the short ID names the job


def test_a_finished_jobs_rate_stops_changing() -> None:
    """#12 item 4: the live display's rate is frozen when the job finishes."""
    display = ui.JobsDisplay("jobs")
    job = JobInfo("images", "abc", "JOB_RUNNING", data_total=10, data_processed=4)
    display.first_seen[job.id + job.pipeline] = (time.monotonic() - 10, 0)
    running_rate, eta = display._rate_eta(job)
    assert running_rate.endswith("/s") and eta
    job.state, job.data_processed = "JOB_SUCCESS", 10
    finished = display._rate_eta(job)
    display.first_seen[job.id + job.pipeline] = (time.monotonic() - 1000, 0)  # time passes
    assert display._rate_eta(job) == (finished[0], "") and finished[0].endswith("/s")

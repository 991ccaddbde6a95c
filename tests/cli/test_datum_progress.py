"""`capstone jobs` while a long datum runs: its own progress in --json and in the table."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from capstone_cli import ui
from capstone_cli.results import JobInfo
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env

# reports step 1 of 2 through the workers' runtime helper, then waits for the test's go-ahead
SPEC = """
pipeline: {name: train}
transform:
  cmd:
    - python
    - -c
    - |
      import os, pathlib, time
      from workers.runtime import DatumContext
      ctx = DatumContext(out=pathlib.Path('.'), inputs={}, params={}, env=os.environ)
      ctx.progress(1, 2, 'epoch')
      go = pathlib.Path(os.environ['GO'])
      deadline = time.monotonic() + 120
      while not go.exists() and time.monotonic() < deadline:
          time.sleep(0.05)
      ctx.progress(2, 2, 'epoch')
  env: {GO: "%s"}
input:
  pfs: {repo: in, glob: "/"}
"""


def test_jobs_shows_the_running_datums_progress(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    src = tmp_path / "a.txt"
    src.write_text("x")
    run_cli("put", "in@master:/a.txt", str(src))
    go = tmp_path / "go"
    spec = tmp_path / "train.yaml"
    spec.write_text(SPEC % go)
    runner = subprocess.Popen(
        [*capstone_cmd(), "pipeline", "create", "-f", str(spec)],
        env=subprocess_env(capstone_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        running: list[dict[str, object]] = []
        while not running and time.monotonic() < deadline and runner.poll() is None:
            jobs = run_cli("jobs", "--json").json()
            running = [j for j in jobs if j["datum_progress"] is not None]
            time.sleep(0.1)
        assert [(j["pipeline"], j["state"]) for j in running] == [("train", "JOB_RUNNING")]
        assert running[0]["datum_progress"] == {"done": 1, "total": 2, "unit": "epoch"}
        assert "0/1 (epoch 1/2)" in run_cli("jobs").stdout
    finally:
        go.touch()
        assert runner.wait(timeout=120) == 0
    (job,) = run_cli("jobs", "--json").json()
    assert job["state"] == "JOB_SUCCESS" and job["datum_progress"] is None


def test_live_display_counts_a_running_datums_epochs() -> None:
    """A one-datum job's rate and ETA come from its epochs while it runs."""
    display = ui.JobsDisplay("jobs")
    progress = {"done": 12, "total": 60, "unit": "epoch"}
    job = JobInfo("model", "abc", "JOB_RUNNING", data_total=1, datum_progress=progress)
    assert ui.datum_progress_text(job) == "epoch 12/60"
    display.first_seen[job.id + job.pipeline + "/epoch"] = (time.monotonic() - 12, 0)
    rate, eta = display._rate_eta(job)
    assert rate.endswith(" epoch/s") and eta.endswith("s")
    job.state, job.data_processed = "JOB_SUCCESS", 1
    assert ui.datum_progress_text(job) == ""

"""SIGKILL a real run process mid-job: the store stays consistent and a new run resumes the job
without re-running the datums that had finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.store.store import Store
from tests.unit.engine.run.engine_helpers import make_spec, pfs, put, tree

ROOT = Path(__file__).resolve().parents[4]
N = 6


def _start_run(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "capstone_cli.engine.run.run_main", str(home), "1"], cwd=ROOT
    )


def _executions(marks: Path) -> dict[str, int]:
    return {p.name: p.read_text().count("x") for p in marks.iterdir()}


@pytest.mark.parametrize("kill_after_started", [1, 3, N])
def test_sigkill_then_resume_does_not_rerun_finished_datums(
    store: Store, tmp_path: Path, kill_after_started: int
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    files = {f"/f{i}": f"v{i}".encode() for i in range(N)}
    put(store, "in", files)
    cmd = ["sh", "-c", f'echo x >> {marks}/$(basename "$in"); sleep 0.3; cp "$in" /pfs/out/']
    job_id = P.create_pipeline(store, make_spec("slow", cmd, pfs("in", "/*")))

    proc = _start_run(store.home)
    deadline = time.monotonic() + 30
    while len(list(marks.iterdir())) < kill_after_started:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    # consistent: the job is unfinished, its output commit open, the branch head untouched
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    job = J.get_job(store, "slow", job_id)
    assert job.state == "JOB_RUNNING" and not job.terminal
    assert store.head("slow", "master") is None
    finished_before = {d.id: d.files for d in J.datum_infos(store, job.seq) if d.state == "SUCCESS"}
    assert len(finished_before) <= kill_after_started
    assert list((store.home / "scratch").iterdir())  # the killed run's scratch dir is left

    resumed = _start_run(store.home)
    assert resumed.wait(timeout=60) == 0
    job = J.get_job(store, "slow", job_id)
    assert (job.state, job.data_total, job.data_processed) == ("JOB_SUCCESS", N, N)
    assert tree(store, "slow") == files
    runs = _executions(marks)
    assert sorted(runs) == sorted(p.lstrip("/") for p in files)
    for files_of_datum in finished_before.values():
        name = files_of_datum[0].split("/")[-1]
        assert runs[name] == 1, f"{name} finished before the kill but ran again"
    assert sum(runs.values()) <= N + 1  # at most the interrupted datum runs twice
    assert list((store.home / "scratch").iterdir()) == []


def test_second_runner_waits_for_the_first(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {"/a": b"1", "/b": b"2"})
    cmd = ["sh", "-c", f'echo x >> {marks}/$(basename "$in"); sleep 0.3; cp "$in" /pfs/out/']
    P.create_pipeline(store, make_spec("slow", cmd, pfs("in", "/*")))
    first, second = _start_run(store.home), _start_run(store.home)
    assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
    assert _executions(marks) == {"a": 1, "b": 1}

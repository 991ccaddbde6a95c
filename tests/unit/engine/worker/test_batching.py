"""Datum batching: one long-lived worker process served over the NextDatum gRPC method."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree

ROOT = Path(__file__).resolve().parents[4]
STAGE = str(Path(__file__).with_name("batch_stage.py"))


def _spec(marks: Path, tries: int = 2) -> object:
    return make_spec(
        "batch",
        ["python3", STAGE, "--out", "/pfs/out"],
        pfs("in", "/*"),
        datumTries=tries,
        transform={
            "datumBatching": True,
            "env": {"MARKS": str(marks), "PYTHONPATH": str(ROOT)},
        },
    )


def test_one_process_serves_200_datums_and_a_raising_datum_fails(
    store: Store, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    files = {f"/f{i:03d}": f"v{i}".encode() for i in range(200)}
    files["/f007"] = b"boom"
    put(store, "in", files)
    P.create_pipeline(store, _spec(marks))  # type: ignore[arg-type]
    (job,) = R.run_pending(store, parallelism=1)
    assert counts(job) == ("JOB_FAILURE", 200, 199, 0, 1, 0)
    failed = [d for d in J.datum_infos(store, job.seq) if d.state == "FAILED"]
    assert job.reason == f"datum {failed[0].id} failed" and failed[0].attempts == 2
    calls = (marks / "calls").read_text().split()
    assert (len(calls), calls.count("f007")) == (201, 2), (marks / "pids").read_text()
    # one process for the datums, restarted after each failed attempt of f007
    assert len((marks / "pids").read_text().split()) == 3
    out = tree(store, "batch")
    assert len(out) == 199 and out["/f001"] == b"v1"
    user = " ".join(ln.message for ln in R.logs.query_logs(store, "batch", datum=failed[0].id))
    assert "boom in f007" in user


def test_batching_skips_unchanged_datums(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {"/a": b"1", "/b": b"2"})
    P.create_pipeline(store, _spec(marks))  # type: ignore[arg-type]
    R.run_pending(store)
    put(store, "in", {"/c": b"3"})
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 3, 1, 2, 0, 0)
    assert sorted((marks / "calls").read_text().split()) == ["a", "b", "c"]


def _mode_spec(name: str, marks: Path, mode: str) -> object:
    return make_spec(
        name,
        ["python3", STAGE, "--out", "/pfs/out"],
        pfs("in", "/*"),
        transform={
            "datumBatching": True,
            "env": {"MARKS": str(marks), "PYTHONPATH": str(ROOT), "MODE": mode},
        },
    )


def test_outputs_symlinked_to_inputs_survive_the_next_datum(store: Store, tmp_path: Path) -> None:
    """A result is persisted while the next datum runs, after its inputs were replaced: the
    outputs (here symlinks to the inputs) must have been kept."""
    marks = tmp_path / "marks"
    marks.mkdir()
    files = {f"/f{i:02d}": f"value {i}".encode() for i in range(40)}
    put(store, "in", files)
    P.create_pipeline(store, _mode_spec("link", marks, "link"))  # type: ignore[arg-type]
    (job,) = R.run_pending(store, parallelism=2)
    assert counts(job) == ("JOB_SUCCESS", 40, 40, 0, 0, 0)
    assert tree(store, "link") == files


def test_a_batched_datum_sees_only_its_inputs(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {f"/f{i}": b"x" for i in range(5)})
    P.create_pipeline(store, _mode_spec("list", marks, "list"))  # type: ignore[arg-type]
    (job,) = R.run_pending(store, parallelism=1)
    assert counts(job) == ("JOB_SUCCESS", 5, 5, 0, 0, 0)
    assert tree(store, "list") == {f"/f{i}": f"in\nin/f{i}".encode() for i in range(5)}


def test_sigkill_mid_batch_then_resume(store: Store, tmp_path: Path) -> None:
    """Crash safety with batching: every datum persisted before the kill is not run again; at
    most the datum in flight and the one before it (whose result is persisted while the next
    one runs) run twice."""
    marks = tmp_path / "marks"
    marks.mkdir()
    n = 30
    files = {f"/f{i:02d}": f"v{i}".encode() for i in range(n)}
    put(store, "in", files)
    spec = make_spec(
        "slowb",
        ["python3", STAGE, "--out", "/pfs/out"],
        pfs("in", "/*"),
        transform={
            "datumBatching": True,
            "env": {"MARKS": str(marks), "PYTHONPATH": str(ROOT), "SLEEP": "0.05"},
        },
    )
    job_id = P.create_pipeline(store, spec)
    run_main = [sys.executable, "-m", "capstone_cli.engine.run.run_main", str(store.home), "1"]
    proc = subprocess.Popen(run_main, cwd=ROOT)
    calls = marks / "calls"
    deadline = time.monotonic() + 30
    while not calls.exists() or len(calls.read_text().split()) < 10:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    job = J.get_job(store, "slowb", job_id)
    done_before = {
        d.files[0].rsplit("/", 1)[-1] for d in J.datum_infos(store, job.seq) if d.state == "SUCCESS"
    }
    assert 5 <= len(done_before) < n

    assert subprocess.run(run_main, cwd=ROOT, timeout=60).returncode == 0
    job = J.get_job(store, "slowb", job_id)
    assert counts(job) == ("JOB_SUCCESS", n, n, 0, 0, 0)
    assert tree(store, "slowb") == files
    runs = calls.read_text().split()
    assert all(runs.count(name) == 1 for name in done_before)
    assert sorted(set(runs)) == sorted(p.lstrip("/") for p in files)
    assert len(runs) <= n + 2

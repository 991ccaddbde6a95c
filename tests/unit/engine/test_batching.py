"""Datum batching: one long-lived worker process served over the NextDatum gRPC method."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.engine import jobs as J
from capstone_cli.engine import pipelines as P
from capstone_cli.engine import runner as R
from capstone_cli.engine.store import Store
from tests.unit.engine.engine_helpers import counts, make_spec, pfs, put, tree

ROOT = Path(__file__).resolve().parents[3]
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

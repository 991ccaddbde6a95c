"""A long datum's own progress (`protocol.progress`): on the job row while it runs, gone after.

The transform reports a step through the workers' runtime helper and waits until the test has
SEEN that step (an acknowledgement file), so every step must be observed, with no timing
assumption beyond a bounded wait.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.results import JobInfo
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put

STEPS = 3
# a stage (either mode: one process per datum, or datum batching) with one datum that reports
# STEPS steps, each only after the previous one was acknowledged
REPORTER = (
    "import os, pathlib, sys, time\n"
    "from workers.runtime import main\n"
    "class Steps:\n"
    "    def __init__(self, params):\n"
    "        pass\n"
    "    def process(self, ctx):\n"
    "        acks = pathlib.Path(os.environ['ACKS'])\n"
    f"        for done in range(1, {STEPS + 1}):\n"
    f"            ctx.progress(done, {STEPS}, 'step')\n"
    "            deadline = time.monotonic() + 60\n"
    "            while not (acks / str(done)).exists() and time.monotonic() < deadline:\n"
    "                time.sleep(0.02)\n"
    "sys.exit(main(Steps, []))\n"
)


@pytest.mark.parametrize("batching", [False, True], ids=["per-datum", "batching"])
def test_running_datum_progress_is_on_the_job_row_and_cleared_after(
    store: Store, tmp_path: Path, batching: bool
) -> None:
    acks = tmp_path / "acks"
    acks.mkdir()
    put(store, "in", {"/a": b"x"})
    transform = {"env": {"ACKS": str(acks)}, "datumBatching": batching}
    cmd = ["python", "-c", REPORTER, "--out", "/pfs/out"]
    spec = make_spec("train", cmd, pfs("in", "/"), transform=transform)
    P.create_pipeline(store, spec)
    seen: list[dict[str, object]] = []
    rows: list[str | None] = []

    def on_progress(jobs: list[JobInfo]) -> None:
        (job,) = [j for j in jobs if j.pipeline == "train"]
        if job.datum_progress is None or job.datum_progress in seen:
            return
        seen.append(job.datum_progress)
        other = Store(store.home)  # what another process (`capstone jobs`) reads meanwhile
        try:
            (row,) = [r for r in J.list_jobs(other, "train") if r.state == J.RUNNING]
            rows.append(row.datum_progress)
        finally:
            other.close()
        (acks / str(job.datum_progress["done"])).touch()

    jobs = R.run_pending(store, on_progress=on_progress)
    (job,) = [j for j in jobs if j.pipeline == "train" and j.data_total]
    assert counts(job) == ("JOB_SUCCESS", 1, 1, 0, 0, 0)
    assert seen == [{"done": d, "total": STEPS, "unit": "step"} for d in range(1, STEPS + 1)]
    assert [json.loads(r) for r in rows if r is not None] == seen
    assert job.datum_progress is None and job.info().datum_progress is None
    assert not list((store.home / "scratch").glob("*/progress"))


def test_progress_of_a_job_that_is_not_running_is_not_shown(store: Store) -> None:
    put(store, "in", {"/a": b"x"})
    P.create_pipeline(store, make_spec("quick", ["true"], pfs("in", "/")))
    (job,) = [j for j in R.run_pending(store) if j.data_total]
    # a killed runner could leave a value behind: only a RUNNING job's counts
    J.set_datum_progress(store, job.seq, {"done": 1, "total": 2, "unit": "epoch"})
    assert J.job_by_seq(store, job.seq).info().datum_progress is None

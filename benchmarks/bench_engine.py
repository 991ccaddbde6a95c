"""Engine benchmarks: per-datum overhead, datum batching throughput, skipping 100k datums.

Run: `.venv/bin/python benchmarks/bench_engine.py [--datums N] [--batch N] [--skip N] [--rounds R]
[--cmd "python3 -c pass"]` (`--cmd`: the per-datum command of (a), `true` by default; a Python
start shows what a mode costs per system call, e.g. `CAPSTONE_PFS_MODE=proot`).
Prints a markdown table. Targets: (a) <= 1.5x `subprocess.run` per datum, (b) >= 1000 datums/s,
(c) <= 5 s for a job whose 100,000 datums are all unchanged.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capstone_cli.engine.run import jobs as J  # noqa: E402
from capstone_cli.engine.run import pipeline_records as PR  # noqa: E402
from capstone_cli.engine.run import pipelines as P  # noqa: E402
from capstone_cli.engine.run import runner as R  # noqa: E402
from capstone_cli.engine.run.propagation import on_input_commit  # noqa: E402
from capstone_cli.engine.store.records import NewFile  # noqa: E402
from capstone_cli.engine.store.store import Store  # noqa: E402
from capstone_cli.specs.parse import parse_spec  # noqa: E402

NOOP_STAGE = """
import sys
from workers.runtime import main
class Noop:
    def __init__(self, params): pass
    def process(self, ctx): pass
sys.exit(main(Noop, ["in"]))
"""


def _spec(name: str, cmd: list[str], glob: str, **extra: Any) -> Any:
    transform = {"cmd": cmd, **extra.pop("transform", {})}
    doc = {
        "pipeline": {"name": name},
        "transform": transform,
        "input": {"pfs": {"repo": "in", "glob": glob}},
        **extra,
    }
    return parse_spec(doc, name)


def _store(n: int, prefix: str = "/d/") -> Store:
    store = Store(Path(tempfile.mkdtemp(prefix="bench-")))
    files = (NewFile(f"{prefix}{i:07d}", data=str(i).encode()) for i in range(n))
    store.put_files("in", "master", files, on_commit=on_input_commit(store))
    return store


def bench_overhead(
    n: int, rounds: int = 1, cmd: tuple[str, ...] = ("true",)
) -> tuple[float, float]:
    """(engine, subprocess.run) seconds per datum. With `rounds` > 1 the two alternate, each
    round on a fresh store, and the medians are returned: on a shared machine a load burst
    then hits both sides instead of skewing the ratio."""
    engine: list[float] = []
    baseline: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            subprocess.run(cmd, check=True)
        baseline.append((time.perf_counter() - t0) / n)
        store = _store(n)
        P.create_pipeline(store, _spec("noop", list(cmd), "/d/*"))
        t0 = time.perf_counter()
        (job,) = R.run_pending(store, parallelism=1)
        engine.append((time.perf_counter() - t0) / n)
        assert job.state == "JOB_SUCCESS" and job.data_processed == n, job
    return statistics.median(engine), statistics.median(baseline)


def bench_batching(n: int, slots: int) -> float:
    stage = Path(tempfile.mkdtemp()) / "noop_stage.py"
    stage.write_text(NOOP_STAGE)
    store = _store(n)
    spec = _spec(
        "batch",
        ["python3", str(stage), "--out", "/pfs/out"],
        "/d/*",
        transform={"datumBatching": True, "env": {"PYTHONPATH": str(ROOT)}},
    )
    P.create_pipeline(store, spec)
    t0 = time.perf_counter()
    (job,) = R.run_pending(store, parallelism=slots)
    seconds = time.perf_counter() - t0
    assert job.state == "JOB_SUCCESS" and job.data_processed == n, job
    return n / seconds


def _seed_successful_job(store: Store, pipeline: str) -> None:
    """Mark the first job's datums PROCESSED with one output each, without running them (what
    a real first run would leave behind), so the measured job is the unchanged second one."""
    (job,) = J.list_jobs(store, pipeline)
    rec = PR.get_pipeline(store, pipeline)
    with store.transaction():
        J.set_state(store, job.seq, J.RUNNING)
    _total, to_run, base = R.plan(
        store, job, rec, R.CommitSource(store, J.job_inputs(store, job.seq))
    )
    digest, size = b"\0" * 32, 0
    with store.transaction():
        store.blobs.put_bytes(b"")
        digest, size = store.blobs.put_bytes(b"")
        store.db.executemany(
            "INSERT INTO job_datums(job_seq, datum, state, hash) VALUES(?,?,'SUCCESS',?)",
            ((job.seq, d.id, h) for d, h in to_run),
        )
        store.db.executemany(
            "INSERT INTO datum_outputs(job_seq, datum, path, blob, size) VALUES(?,?,?,?,?)",
            ((job.seq, d.id, "/o/" + d.id, digest, size) for d, _h in to_run),
        )
    R.finish_job(store, job, base)


def bench_skip(n: int) -> float:
    store = _store(n)
    P.create_pipeline(store, _spec("skip", ["false"], "/d/*"))
    _seed_successful_job(store, "skip")
    store.put_files(
        "in", "master", [NewFile("/other/x", data=b"x")], on_commit=on_input_commit(store)
    )
    t0 = time.perf_counter()
    (job,) = R.run_pending(store)
    seconds = time.perf_counter() - t0
    assert (job.state, job.data_skipped) == ("JOB_SUCCESS", n), job
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datums", type=int, default=300)
    parser.add_argument("--batch", type=int, default=3000)
    parser.add_argument("--skip", type=int, default=100_000)
    parser.add_argument(
        "--rounds", type=int, default=1, help="(a): alternate engine and baseline, report medians"
    )
    parser.add_argument("--cmd", default="true", help="(a): the per-datum command")
    args = parser.parse_args()
    cmd = tuple(shlex.split(args.cmd))
    engine, baseline = bench_overhead(args.datums, max(1, args.rounds), cmd)
    rate1 = bench_batching(args.batch, 1)
    rate2 = bench_batching(args.batch, 2)
    skip = bench_skip(args.skip)
    print("| benchmark | result | target |")
    print("|---|---|---|")
    print(
        f"| (a) per-datum, `{args.cmd}`, parallelism 1 ({args.datums} datums"
        f"{f', median of {args.rounds} rounds' if args.rounds > 1 else ''}) | "
        f"{engine * 1e3:.2f} ms vs {baseline * 1e3:.2f} ms subprocess.run = "
        f"{engine / baseline:.2f}x | <= 1.5x |"
    )
    for slots, rate in ((1, rate1), (2, rate2)):
        print(
            f"| (b) datum batching, no-op Python stage, {slots} worker(s), {args.batch} datums"
            f" (whole job, process start included) | {rate:.0f} datums/s | >= 1000 |"
        )
    print(f"| (c) job over {args.skip} unchanged datums | {skip:.2f} s | <= 5 s |")


if __name__ == "__main__":
    main()

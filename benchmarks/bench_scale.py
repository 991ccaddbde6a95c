"""The whole DAG at scale: `capstone train` on 1k, 10k and 50k caption/URL lines, then +1%.

A loopback HTTP server (127.0.0.1, a separate process that stops when this script's pipe to it
closes) serves a pool of generated JPEGs; each TSV line points at one of them. Every size runs
`capstone train` in a fresh CAPSTONE_HOME through images -> features -> consolidate -> model,
with a small image size and `weights: none` so that 50k lines fit on 2 cores. Per stage: wall
time (its job's start to finish, which includes waiting for the stage before it), worker
seconds (the engine's summed datum processing time: what the per-line costs compare), lines per
second of worker time, the engine's per-datum profile (ms laying out inputs, waiting on the
worker, persisting outputs; from the store's datum rows), and peak RSS (of the stage's worker
processes, sampled from /proc every 0.2 s). Then the largest TSV grows by 1% and trains again:
only the new chunks should go through images and features. The table is printed (and with
`--write-results` written) after each size, so a stopped run keeps the sizes it finished.

Goals (issue 18): per-line cost within 20% from the middle size to the largest, peak RSS per
stage within 25%, images stage >= 0.8x the local decode loop (same imaging, same threads,
measured in this run; the stage's rate is lines per second of its job's wall time, as the
loop's is), incremental re-run (without the model stage) <= 5% of the full run.

    .venv/bin/python benchmarks/bench_scale.py --sizes 1000,10000,50000 [--write-results]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_images import local_loop, make_jpegs  # noqa: E402

from tests.smallspecs import shrink_specs  # noqa: E402

STAGES = ("images", "features", "consolidate", "model")
WORDS = ("red", "green", "blue", "dog", "cat", "car", "tree", "on", "the", "grass", "road", "sky")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MARK_START, MARK_END = "<!-- bench-scale:start -->", "<!-- bench-scale:end -->"


class RssSampler(threading.Thread):
    """Peak RSS (MiB) of each stage's worker processes among `root_pid`'s descendants."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak: dict[str, float] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            for cmdline, rss in self._descendants():
                stage = next((s for s in STAGES if f"workers.{s}" in cmdline), "capstone")
                self.peak[stage] = max(self.peak.get(stage, 0.0), rss)
            time.sleep(0.2)

    def _descendants(self) -> list[tuple[str, float]]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        family, found = {self.root_pid}, True
        while found:
            found = False
            for pid, parent in parents.items():
                if parent in family and pid not in family:
                    family.add(pid)
                    found = True
        out = []
        for pid in family:
            try:
                cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
                status = (Path("/proc") / str(pid) / "status").read_text()
                rss = next(
                    int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS")
                )
            except (OSError, StopIteration, ValueError):
                continue
            out.append((cmdline.decode(errors="replace"), rss / 1024))
        return out


def write_tsv(path: Path, lines: range, base_url: str, pool: int, mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as handle:
        for i in lines:
            words = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(4))
            handle.write(f"a {words}\t{base_url}/{i % pool:06d}.jpg\n")


def seconds(job: dict[str, Any]) -> float:
    if not job.get("started") or not job.get("finished"):
        return 0.0
    started = datetime.fromisoformat(job["started"])
    return (datetime.fromisoformat(job["finished"]) - started).total_seconds()


def datum_profile(home: Path, pipeline: str, job_id: str) -> dict[str, float]:
    """Mean milliseconds per processed datum that the engine spent laying out its inputs
    (`populate`), waiting on the worker (`process`; with datum batching this includes persisting
    the previous datum, which overlaps the worker) and persisting outputs + rows (`persist`)."""
    db = sqlite3.connect(f"file:{home / 'store.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT count(*), sum(d.download_seconds), sum(d.process_seconds), "
            "sum(d.upload_seconds) FROM job_datums d JOIN jobs ON jobs.seq = d.job_seq "
            "WHERE jobs.pipeline = ? AND jobs.id = ? AND d.attempts > 0",
            (pipeline, job_id),
        ).fetchone()
    finally:
        db.close()
    count = row[0] or 0
    if not count:
        return {"populate_ms": 0.0, "process_ms": 0.0, "persist_ms": 0.0}
    return {
        "populate_ms": 1000 * row[1] / count,
        "process_ms": 1000 * row[2] / count,
        "persist_ms": 1000 * row[3] / count,
    }


def train(home: Path, tsv: Path, specs: Path, out: Path) -> dict[str, Any]:
    """One `capstone train`; per stage wall seconds, datums and peak RSS."""
    env = {**os.environ, "CAPSTONE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [str(ROOT / ".venv" / "bin" / "capstone"), "train", "--tsv", str(tsv)]
    command += ["--out", str(out), "--specs", str(specs), "--json"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = RssSampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"capstone train failed: {stderr.decode()[-2000:]}")
    summary = json.loads(stdout)
    stages: dict[str, dict[str, float]] = {}
    for job in summary["jobs"]:
        if job["pipeline"] in STAGES and job.get("data_total"):
            stages[job["pipeline"]] = {
                "seconds": seconds(job),
                "busy": float(job.get("process_seconds") or 0.0),
                "processed": job["data_processed"],
                "skipped": job["data_skipped"],
                "rss": sampler.peak.get(job["pipeline"], 0.0),
                **datum_profile(home, job["pipeline"], job["id"]),
            }
    return {
        "wall": wall,
        "stages": stages,
        "lines": summary["lines"],
        "metrics": summary["metrics"],
    }


def table(results: dict[int, dict[str, Any]], local_rate: float, grown: dict[str, Any]) -> str:
    sizes = sorted(results)
    rows = [
        "| lines | stage | job wall s | worker s | lines/s (worker) | datums run "
        "| ms/datum populate / process / persist | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        for stage in STAGES:
            s = results[n]["stages"].get(stage)
            if s:
                rate = n / s["busy"] if s["busy"] else 0.0
                rows.append(
                    f"| {n:,} | {stage} | {s['seconds']:.1f} | {s['busy']:.1f} | {rate:,.1f} | "
                    f"{s['processed']:,} | {s['populate_ms']:.1f} / {s['process_ms']:.1f} / "
                    f"{s['persist_ms']:.1f} | {s['rss']:.0f} |"
                )
        rows.append(f"| {n:,} | **capstone train total** | {results[n]['wall']:.1f} | | | | | |")
    lines = ["\n".join(rows), ""]
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        lines.append(f"Per-line cost {large:,} vs {small:,} (goal within 20%), peak RSS (25%):\n")
        lines.append("| stage | per-line cost ratio | peak RSS ratio |\n|---|---|---|")
        for stage in STAGES:
            a, b = results[small]["stages"].get(stage), results[large]["stages"].get(stage)
            if a and b and a["busy"] and b["busy"]:
                cost = (b["busy"] / large) / (a["busy"] / small)
                rss = b["rss"] / a["rss"] if a["rss"] else 0.0
                lines.append(f"| {stage} | {cost:.2f} | {rss:.2f} |")
        lines.append("")
    largest = results[sizes[-1]]
    images = largest["stages"].get("images", {})
    if images.get("busy") and images.get("seconds"):
        # the local loop's rate is images per wall second of the whole machine; the stage's
        # comparable rate is lines per wall second of its job (its slots run in parallel, so
        # the summed worker seconds count each wall second once per slot)
        wall_rate, busy_rate = sizes[-1] / images["seconds"], sizes[-1] / images["busy"]
        lines.append(
            f"Images stage {wall_rate:,.1f} lines/s of job wall time ({busy_rate:,.1f} per "
            f"worker second) vs local decode loop {local_rate:,.1f} img/s: "
            f"**{wall_rate / local_rate:.2f}x** (goal >= 0.8x)\n"
        )
    if grown:

        def no_model(run: dict[str, Any]) -> float:
            return float(run["wall"] - run["stages"].get("model", {}).get("seconds", 0.0))

        full, again = no_model(largest), no_model(grown)
        runs = ", ".join(
            f"{stage} {s['processed']} run / {s['skipped']} skipped in {s['seconds']:.1f} s"
            for stage, s in grown["stages"].items()
        )
        lines.append(
            f"Incremental: +1% lines ({grown['lines']:,} in all) re-run without the model stage "
            f"{again:.1f} s vs full {full:.1f} s: **{again / full:.1%}** (goal <= 5%); "
            f"datums: {runs}\n"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--pool", type=int, default=200, help="distinct JPEGs served")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "jpegs").mkdir()
        paths = make_jpegs(scratch / "jpegs", args.pool)
        started = time.perf_counter()
        local_loop(paths * 5, scratch / "local", args.threads, args.image_size)
        local_rate = len(paths) * 5 / (time.perf_counter() - started)
        size = args.image_size
        specs = shrink_specs(
            scratch / "specs",
            {
                "images": {"image_size": size, "concurrency": args.threads},
                "features": {"image_size": size, "weights": "none", "batch_size": 64},
                "model": {"epochs": 1, "batch_size": 256, "eval_images": 200},
            },
        )
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "workers" / "httpserver.py"),
                str(scratch / "jpegs"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        results: dict[int, dict[str, Any]] = {}
        grown: dict[str, Any] = {}
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().strip()
            for n in sizes:
                data = scratch / f"data{n}"
                data.mkdir()
                tsv = data / "train.tsv"
                write_tsv(tsv, range(n), base_url, args.pool)
                results[n] = train(data / "home", tsv, specs, data / "model")
                print(f"{n} lines: {results[n]['wall']:.1f} s", file=sys.stderr, flush=True)
                # the figures so far, kept if a later (larger) size is stopped
                report(args, results, local_rate, {}, args.write_results)
            n = sizes[-1]
            tsv = scratch / f"data{n}" / "train.tsv"
            write_tsv(tsv, range(n, n + max(1, n // 100)), base_url, args.pool, mode="a")
            grown = train(scratch / f"data{n}" / "home", tsv, specs, scratch / f"data{n}" / "model")
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
    report(args, results, local_rate, grown, args.write_results)
    return 0


def report(
    args: argparse.Namespace,
    results: dict[int, dict[str, Any]],
    local_rate: float,
    grown: dict[str, Any],
    write: bool,
) -> None:
    """Print the table of `results`; with `write`, replace the block in RESULTS.md."""
    text = (
        f"`capstone train` at {', '.join(f'{n:,}' for n in sorted(results))} lines "
        f"({args.image_size} px images and features, ResNet50 weights none, model 1 epoch), "
        f"5 lines per chunk, {args.pool} distinct 640x480 JPEGs over HTTP 127.0.0.1\n\n"
        + table(results, local_rate, grown)
    )
    print(text, flush=True)
    if write:
        page = RESULTS.read_text()
        block = f"{MARK_START}\n{text}\n{MARK_END}"
        if MARK_START in page:
            head, rest = page.split(MARK_START, 1)
            page = head + block + rest.split(MARK_END, 1)[1]
        else:
            page += f"\n## The whole DAG at scale\n\nCommand: `make bench-scale`\n\n{block}\n"
        RESULTS.write_text(page)


if __name__ == "__main__":
    raise SystemExit(main())

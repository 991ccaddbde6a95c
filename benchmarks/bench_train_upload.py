"""`capstone train` up to the end of the upload (split + one commit) vs `split -l 5`.

A synthetic Conceptual-Captions-sized TSV (3.3M lines, ~500 MB) is split into 5-line chunks
and committed to rawdata exactly as `capstone train` does (the same `split_tsv` generator into
the embedded backend's `put_files`), against coreutils `split -l 5` writing the chunks as
files on the same disk. Both in one run; each in its own process for peak RSS.
Targets (issue: Workflows): ratio <= 0.5x, peak RSS <= 500 MB.
Usage: python benchmarks/bench_train_upload.py [--lines 3300000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from capstone_cli.backends.embedded import EmbeddedBackend
from capstone_cli.tsv import SplitReport, split_tsv
tsv, home = Path(sys.argv[1]), Path(sys.argv[2])
t = time.perf_counter()
backend = EmbeddedBackend(home)
report = SplitReport()
backend.put_files("rawdata", "master", split_tsv(tsv, report=report),
                  delete_paths=[f"/{tsv.name}"], skip_unchanged=True)
print(json.dumps({"seconds": time.perf_counter() - t, "chunks": report.chunks,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WORDS = [f"w{i}" for i in range(20_000)]


def make_tsv(path: Path, lines: int) -> None:
    rng = random.Random(3)
    with path.open("w") as f:
        for i in range(lines):
            caption = " ".join(rng.choices(WORDS, k=10))
            f.write(
                f"{caption}\thttps://img{i % 97}.static-{i % 13}.example.com/photos/2019/"
                f"{i % 12 + 1:02d}/{rng.getrandbits(128):032x}.jpg\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=3_300_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=ROOT / "benchmarks"))
    try:
        tsv = work / "train.tsv"
        make_tsv(tsv, args.lines)
        size_mb = tsv.stat().st_size / 1e6
        chunks = work / "chunks"
        chunks.mkdir()
        subprocess.run(["sync"], check=False)
        t = time.perf_counter()
        subprocess.run(
            ["split", "-l", "5", "-x", "-a", "16", str(tsv), str(chunks) + "/"], check=True
        )
        split_s = time.perf_counter() - t
        shutil.rmtree(chunks)
        subprocess.run(["sync"], check=False)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(tsv), str(work / "home")],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        put = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"### train upload: {args.lines:,} lines ({size_mb:.0f} MB), {put['chunks']:,} chunks\n"
        )
        print("| case | seconds | chunks/s | peak RSS MB |")
        print("|---|---|---|---|")
        print(f"| `split -l 5` (files) | {split_s:.1f} | {put['chunks'] / split_s:,.0f} | - |")
        print(
            f"| capstone split + commit | {put['seconds']:.1f} | "
            f"{put['chunks'] / put['seconds']:,.0f} | {put['peak_rss_mb']:.0f} |"
        )
        print(
            f"\nratio capstone / split: **{put['seconds'] / split_s:.2f}x** (target <= 0.5x); "
            f"peak RSS target <= 500 MB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

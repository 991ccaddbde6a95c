"""Peak memory of the images stage on a chunk of near-limit images, against its 2Gi request.

Issue #17: six 7000x7000 PNGs (49 M pixels each, just under `max_pixels`) in one chunk took
3.7 GB with sixteen threads decoding at once. The stage now bounds the pixels decoded at once
(`pixels_in_flight`, a budget shared by its threads). This runs the real worker process
(`python -m workers.images`) over such a chunk twice in one run: with the default budget, and
with a budget so large that only the thread count bounds it (the old behaviour, the baseline),
and reports each process's peak RSS (`ru_maxrss` of the child) against the stage's request.

    .venv/bin/python benchmarks/bench_images_rss.py --images 6 --side 7000 --mode RGBA
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUEST_MIB = 2048  # specs/defaults.yaml: resources.memory 2Gi (the images stage's request)


def make_chunk(folder: Path, count: int, side: int, mode: str) -> Path:
    """`count` lines naming distinct `side` x `side` PNGs (cheap to write: one colour each).

    RGBA (a transparent PNG) is the costly case: decoded at 4 bytes a pixel, then flattened
    onto a white RGB canvas (3 more) before the resize.
    """
    lines = []
    for index in range(count):
        path = folder / f"near-limit-{index}.png"
        color = (index * 40 % 256, 90, 160, 128)[: len(mode)]
        Image.new(mode, (side, side), color).save(path, compress_level=1)
        lines.append(f"near limit {index}\t{path}\n")
    chunk = folder / "0000000000000000"
    chunk.write_text("".join(lines))
    return chunk


def peak_rss_mib(chunk: Path, out: Path, params: dict[str, object]) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of one worker process over the chunk."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "rawdata": str(chunk)}
    env.pop("PPS_WORKER_GRPC_PORT", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "workers.images", "--out", str(out), "--params", json.dumps(params)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"images worker failed: {done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        print("note: this run's peak did not exceed an earlier run's; reported as that peak")
    return after / 1024, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--side", type=int, default=7000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--mode", choices=["RGB", "RGBA"], default="RGBA")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-images-rss-") as tmp:
        folder = Path(tmp)
        chunk = make_chunk(folder, args.images, args.side, args.mode)
        base = {"image_size": 224, "concurrency": args.concurrency}
        # ru_maxrss of children is a running max over every child so far: the smaller first
        bounded, t_bounded = peak_rss_mib(chunk, folder / "out-bounded", base)
        unbounded, t_unbounded = peak_rss_mib(
            chunk, folder / "out-unbounded", {**base, "pixels_in_flight": 10**12}
        )
    pixels = args.side * args.side
    print(
        f"chunk: {args.images} {args.mode} PNGs of {args.side}x{args.side}"
        f" ({pixels / 1e6:.0f} M pixels each), concurrency {args.concurrency}"
    )
    print("| run | peak RSS MiB | seconds | vs 2Gi request |")
    print("|---|---|---|---|")
    print(f"| threads only (baseline) | {unbounded:,.0f} | {t_unbounded:.1f} | "
          f"{unbounded / REQUEST_MIB:.2f}x |")  # fmt: skip
    print(f"| pixel budget (default) | {bounded:,.0f} | {t_bounded:.1f} | "
          f"{bounded / REQUEST_MIB:.2f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

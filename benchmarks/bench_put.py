"""`capstone put` of N small files vs `shutil.copytree` of the same tree, on the same disk.

Both run in this one process's run, each in a fresh subprocess so peak RSS is per case.
Target (issue: Foundations): put no slower than the plain copy, in bounded memory.
Usage: python benchmarks/bench_put.py [--files 100000]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, shutil, sys, time
mode, src, dst = sys.argv[1:4]
t = time.perf_counter()
if mode == "copytree":
    shutil.copytree(src, dst)
else:
    from capstone_cli.app import main
    sys.argv = ["capstone", "--home", dst, "put", "bench@master", src]
    try:
        main()
    except SystemExit as e:
        if e.code:
            raise
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_tree(root: Path, n: int) -> int:
    rng = random.Random(1)
    total = 0
    for i in range(n):
        d = root / f"{i % 100:02d}" / f"{(i // 100) % 10}"
        d.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(50, 1500))
        (d / f"{i:06d}.txt").write_bytes(data)
        total += len(data)
    return total


def run(mode: str, src: Path, dst: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(src), str(dst)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-put-", dir=ROOT / "benchmarks"))
    try:
        src = work / "src"
        total = make_tree(src, args.files)
        subprocess.run(["sync"], check=False)
        copy = run("copytree", src, work / "copy")
        subprocess.run(["sync"], check=False)
        put = run("put", src, work / "home")
        ratio = put["seconds"] / copy["seconds"]
        print(f"### put: {args.files:,} small files ({total / 1e6:.1f} MB)\n")
        print("| case | seconds | files/s | peak RSS MB |")
        print("|---|---|---|---|")
        for name, r in (("shutil.copytree", copy), ("capstone put", put)):
            print(
                f"| {name} | {r['seconds']:.2f} | {args.files / r['seconds']:,.0f} "
                f"| {r['peak_rss_mb']:.0f} |"
            )
        print(f"\nput / copytree time ratio: **{ratio:.2f}x** (target <= 1.0x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

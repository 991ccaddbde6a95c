"""`make bench`: run every benchmark script, print their tables, refresh RESULTS.md.

Each script measures its target as a ratio against a baseline run in the same run, and prints
a markdown section. Pass script names to run a subset: `python benchmarks/run_all.py put`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPTS = [
    "put",
    "datums",
    "engine",
    "images",
    "ml",
    "quality",
    "train_upload",
    "ui",
    "kill_harness",
]
# entries that are not benchmarks/bench_<name>.py scripts: python arguments
MODULES = {
    "kill_harness": [
        "-m",
        "tests.reliability.harness",
        "--seed",
        "1",
        "--kills",
        "50",
        "--markdown",
    ]
}


def main(argv: list[str]) -> int:
    chosen = argv or SCRIPTS
    sections: list[str] = []
    failed = []
    for name in chosen:
        script = HERE / f"bench_{name}.py"
        args = MODULES.get(name, [str(script)])
        if name not in MODULES and not script.exists():
            print(f"no benchmark {name}", file=sys.stderr)
            failed.append(name)
            continue
        start = time.monotonic()
        shown = " ".join(args) if name in MODULES else f"benchmarks/{script.name}"
        print(f"== {shown}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
        took = time.monotonic() - start
        if proc.returncode != 0:
            failed.append(name)
            print(proc.stderr[-4000:], file=sys.stderr)
            continue
        print(proc.stdout, flush=True)
        sections.append(
            f"## `{name if name in MODULES else script.name}` ({took:.0f} s)\n\n"
            f"Command: `.venv/bin/python {shown}`\n\n"
            f"{proc.stdout.strip()}\n"
        )
    if not argv and sections:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        (HERE / "RESULTS.md").write_text(
            f"# Benchmark results\n\nProduced by `make bench` "
            f"(`python benchmarks/run_all.py`) on {stamp}, on the 2-core development machine "
            "(shared, so wall-clock figures are noisy; the ratios are measured in one run).\n\n"
            + "\n".join(sections)
        )
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Benchmark: datum listing at the scale of Conceptual Captions (3.3M lines in 660,000 chunks).

Builds `rawdata` with N files `/test.tsv/<16 hex>` and `features` with N directories
`/<16 hex>/` of 5 files each (a tenth of the chunks lack features), then times `list_datums` for
the `images` input (rawdata `/*/*`) and the `consolidate` join (rawdata `/*/(*)` on `$1` with
features `/(*)` on `$1`). Each case runs in a fresh subprocess, so its peak RSS is its own.

    .venv/bin/python benchmarks/bench_datums.py            # full size: 660,000 chunks
    .venv/bin/python benchmarks/bench_datums.py --files 20000
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from capstone_cli.engine.datums import list_datums
from capstone_cli.engine.inputs import Input, JoinInput, PfsInput
from capstone_cli.engine.memsource import MemorySource

CASES: dict[str, Input] = {
    "images: rawdata /*/*": PfsInput(repo="rawdata", glob="/*/*"),
    "consolidate: join rawdata /*/(*) + features /(*) on $1": JoinInput(
        (
            PfsInput(repo="features", glob="/(*)", join_on="$1"),
            PfsInput(repo="rawdata", glob="/*/(*)", join_on="$1"),
        )
    ),
}
LINES_PER_CHUNK = 5


def _rawdata(count: int) -> Iterator[tuple[str, bytes]]:
    for chunk in range(count):
        yield f"/test.tsv/{chunk:016x}", b"a caption\thttp://example.com/x.jpg\n" * 5


def _features(count: int) -> Iterator[tuple[str, bytes]]:
    for chunk in range(count):
        if chunk % 10 == 9:
            continue  # images that failed to download: no features for this chunk
        for line in range(LINES_PER_CHUNK):
            yield f"/{chunk:016x}/{line}.npy", b"\x93NUMPY features"


def _rss_mib() -> float:
    """Peak RSS of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark (VmHWM) so the listing's own peak can be read."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _vm_hwm_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_case(name: str, files: int) -> dict[str, float | int | str]:
    """Build the source, then time one listing; returns the numbers as a dict."""
    needs_features = isinstance(CASES[name], JoinInput)
    source = MemorySource({"rawdata": _rawdata(files)})
    if needs_features:
        source.add_repo("features", _features(files))
    gc.collect()
    build_peak = _rss_mib()
    can_reset = _reset_peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    datums = list_datums(CASES[name], source)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "case": name,
        "datums": len(datums),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "build_peak_mib": round(build_peak),
        "listing_peak_mib": round(_vm_hwm_mib()) if can_reset else "n/a",
        "process_peak_mib": round(_rss_mib()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=660_000, help="rawdata chunk files")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.files)))
        return
    print(f"datum listing, {args.files:,} rawdata files\n")
    print(
        "| case | datums | wall s | CPU s | peak RSS while building source (MiB) "
        "| peak RSS during listing (MiB) | process peak RSS (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in CASES:
        command = [sys.executable, __file__, "--files", str(args.files), "--case", name]
        result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
        print(
            f"| {result['case']} | {result['datums']:,} | {result['seconds']} "
            f"| {result['cpu_seconds']} | {result['build_peak_mib']} "
            f"| {result['listing_peak_mib']} | {result['process_peak_mib']} |"
        )


if __name__ == "__main__":
    main()

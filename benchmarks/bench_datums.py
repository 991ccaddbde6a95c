"""Benchmark: datum listing at the scale of Conceptual Captions (3.3M lines in 660,000 chunks).

Builds a real embedded store with `rawdata` holding N files `/test.tsv/<16 hex>` and
`features` holding N directories `/<16 hex>/` of 5 files each (a tenth of the chunks lack
features), every file with its own content, then times `list_datums` for the `images` input
(rawdata `/*/*`) and the `consolidate` join (rawdata `/*/(*)` on `$1` with features `/(*)` on
`$1`):

- cold: the first listing after the commits (directory hashes not cached yet, so computed from
  every file row and stored);
- warm: the next listing (directory hashes read from the cache);
- memory: the same files in the in-memory `MemorySource`, for comparison.

Each listing runs in a fresh subprocess, so its peak RSS is its own. The store is built once
(timed separately) in a temporary directory, or in `--home DIR`, which is reused when it
already holds the repos.

    .venv/bin/python benchmarks/bench_datums.py            # full size: 660,000 chunks
    .venv/bin/python benchmarks/bench_datums.py --files 20000
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from capstone_cli.engine.datums.listing import list_datums
from capstone_cli.engine.datums.memsource import MemorySource
from capstone_cli.engine.inputs import FileSource, Input, JoinInput, PfsInput
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store

CASES: dict[str, Input] = {
    "images: rawdata /*/*": PfsInput(repo="rawdata", glob="/*/*"),
    "consolidate: join rawdata /*/(*) + features /(*) on $1": JoinInput(
        (
            PfsInput(repo="features", glob="/(*)", join_on="$1"),
            PfsInput(repo="rawdata", glob="/*/(*)", join_on="$1"),
        )
    ),
}
MODES = ("cold", "warm", "memory")
LINES_PER_CHUNK = 5


def _rawdata(count: int) -> Iterator[tuple[str, bytes]]:
    for chunk in range(count):
        lines = (
            f"a caption of image {chunk} {line}\thttp://example.com/{chunk}/{line}.jpg\n"
            for line in range(LINES_PER_CHUNK)
        )
        yield f"/test.tsv/{chunk:016x}", "".join(lines).encode()


def _features(count: int) -> Iterator[tuple[str, bytes]]:
    for chunk in range(count):
        if chunk % 10 == 9:
            continue  # images that failed to download: no features for this chunk
        for line in range(LINES_PER_CHUNK):
            yield f"/{chunk:016x}/{line}.npy", b"\x93NUMPY features %d.%d" % (chunk, line)


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


def build_store(home: Path, files: int) -> dict[str, float]:
    """Put both repos through `Store.put_files` (one commit each); returns seconds per repo."""
    seconds: dict[str, float] = {}
    with Store(home) as store:
        for repo, make in (("rawdata", _rawdata), ("features", _features)):
            if repo in _repos(store) and store.head_commit(repo, "master"):
                continue  # reused --home
            start = time.perf_counter()
            store.put_files(repo, "master", (NewFile(p, data=d) for p, d in make(files)))
            seconds[repo] = time.perf_counter() - start
    return seconds


def _repos(store: Store) -> set[str]:
    return {repo.name for repo in store.list_repos(include_hidden=True)}


def clear_cache(home: Path) -> None:
    """Forget every cached directory hash: the next listing is a first one again."""
    with Store(home) as store, store.transaction():
        store.db.execute("DELETE FROM dir_cache")


def run_case(name: str, mode: str, files: int, home: Path) -> dict[str, float | int | str]:
    """Open the source, then time one listing; returns the numbers as a dict."""
    source: FileSource
    if mode == "memory":
        memory = MemorySource({"rawdata": _rawdata(files)})
        if isinstance(CASES[name], JoinInput):
            memory.add_repo("features", _features(files))
        source = memory
    else:
        source = Store(home)
    gc.collect()
    open_peak = _vm_hwm_mib()  # not ru_maxrss: that one keeps the forking parent's peak
    can_reset = _reset_peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    datums = list_datums(CASES[name], source)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "case": name,
        "mode": mode,
        "datums": len(datums),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "open_peak_mib": round(open_peak),
        "listing_peak_mib": round(_vm_hwm_mib()) if can_reset else "n/a",
    }


def _measure(name: str, mode: str, files: int, home: Path) -> dict[str, float | int | str]:
    command = [sys.executable, __file__, "--files", str(files), "--home", str(home)]
    command += ["--case", name, "--mode", mode]
    result: dict[str, float | int | str] = json.loads(
        subprocess.run(command, check=True, capture_output=True).stdout
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=660_000, help="rawdata chunk files")
    parser.add_argument("--home", type=Path, help="store directory to build in (or reuse)")
    parser.add_argument("--modes", default=",".join(MODES), help="of: " + ", ".join(MODES))
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.mode, args.files, args.home)))
        return
    modes = [m for m in args.modes.split(",") if m]
    with tempfile.TemporaryDirectory(prefix="bench-datums-") as tmp:
        home = args.home or Path(tmp)
        built = build_store(home, args.files)
        print(f"datum listing, {args.files:,} rawdata files\n")
        for repo, seconds in built.items():
            print(f"built {repo} with Store.put_files in {seconds:.1f} s")
        size = sum(p.stat().st_size for p in home.glob("store.db*"))
        print(f"store.db: {size / 2**20:,.0f} MiB\n")
        print(
            "| case | source | datums | wall s | CPU s | peak RSS before listing (MiB) "
            "| peak RSS during listing (MiB) |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for name in CASES:
            for mode in modes:
                if mode == "cold":
                    clear_cache(home)
                result = _measure(name, mode, args.files, home)
                source = "in-memory" if mode == "memory" else f"store, {mode}"
                print(
                    f"| {result['case']} | {source} | {result['datums']:,} | {result['seconds']} "
                    f"| {result['cpu_seconds']} | {result['open_peak_mib']} "
                    f"| {result['listing_peak_mib']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

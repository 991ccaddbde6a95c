"""Benchmark: the dashboard's repo and directory pages over 660,000 chunks in `rawdata`.

Builds a real embedded store with `rawdata` holding N files `/test.tsv/<16 hex>` (and `images`
holding N/5 directories of one PNG each, so a root listing has many directories), with
`Store.put_files` as `bench_datums.py` does. Then, through the real app (Starlette's test
client, the embedded backend, SQLite), times each page (median of repeated requests after one
warm-up), beside the store's own full listing of the same directory (`Store.list_dir`), the
baseline a page must not pay.

    .venv/bin/python benchmarks/bench_ui.py               # full size: 660,000 chunks
    .venv/bin/python benchmarks/bench_ui.py --files 20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from capstone_cli.backends.embedded import EmbeddedBackend
from capstone_cli.engine.store.store import NewFile, Store

TARGET_MS = 300.0
REPEAT = 7


def _rawdata(count: int) -> Iterator[NewFile]:
    for chunk in range(count):
        yield NewFile(
            f"/test.tsv/{chunk:016x}", data=b"a caption %d\thttp://x/%d.jpg\n" % (chunk, chunk)
        )


def _images(count: int) -> Iterator[NewFile]:
    for chunk in range(count):
        yield NewFile(f"/{chunk:016x}/0.png", data=b"\x89PNG %d" % chunk)


def _timed_ms(fn: Callable[[], object], repeat: int = REPEAT) -> tuple[float, float]:
    """(first call, median of the next `repeat`) in ms; the first opens the backend and reads
    the pages from disk."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=660_000)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        with Store(home) as store:
            if "rawdata" not in {r.name for r in store.list_repos()}:
                start = time.perf_counter()
                store.put_files("rawdata", "master", _rawdata(args.files))
                store.put_files("images", "master", _images(args.files // 5))
                print(f"built the store in {time.perf_counter() - start:.0f} s\n")
        run(home, args.files)


def run(home: Path, files: int) -> None:
    warnings.simplefilter("ignore")  # starlette's note about httpx versions
    from starlette.testclient import TestClient

    from capstone_cli.web import create_app

    middle = f">/test.tsv/{files // 2:016x}"
    pages = {
        "repo page `/repos/rawdata`": "/repos/rawdata",
        "`test.tsv/`, first page": "/repos/rawdata/files/master/test.tsv",
        "`test.tsv/`, a page in the middle": f"/repos/rawdata/files/master/test.tsv?after={middle}",
        "repo page `/repos/images` (root: dirs)": "/repos/images",
    }
    rows = []
    with TestClient(create_app(lambda: EmbeddedBackend(home))) as client:
        for label, url in pages.items():

            def get(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                assert response.text.count("<tr>") >= 2, url

            rows.append((label, *_timed_ms(get)))
    with Store(home) as store:
        commit = store.resolve("rawdata", "master")
        _, baseline = _timed_ms(lambda: store.list_dir(commit, "/test.tsv"), repeat=3)
    print(f"{files:,} files in `rawdata/test.tsv/`, {files // 5:,} directories in `images`; ")
    print(f"pages of 200 entries; first request, then the median of {REPEAT} more.\n")
    print("| request | first ms | median ms | median vs full `Store.list_dir` |")
    print("|---|---|---|---|")
    for label, first, ms in rows:
        print(f"| {label} | {first:.1f} | {ms:.1f} | {ms / baseline:.4f}x |")
    print(
        f"| baseline: `Store.list_dir(rawdata, /test.tsv)` (all entries) | | {baseline:.1f} | 1x |"
    )
    worst = max(max(first, ms) for _, first, ms in rows[:3])
    verdict = "met" if worst < TARGET_MS else "NOT met"
    print(f"\ntarget: rawdata's repo and directory pages < {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()

"""Where the images stage's time goes at scale: HTTP fetch vs decode, outside the engine.

`bench_scale.py` compares the images stage (lines fetched over loopback HTTP, decoded, resized,
written) with a local decode loop that reads files from disk. This splits the gap: the same
thread pool (16 threads) and the same loopback server process as `bench_scale.py`, over the
same kind of JPEGs, timing (1) fetch only, (2) decode + resize + PNG only from local files
(the local decode loop), (3) fetch + decode as the stage does per line, in one process with no
engine. (3) vs (2) is what the HTTP server and client cost on the shared cores; the stage vs
(3) is what the engine, the 5-line datums and the NextDatum round trips cost.

    .venv/bin/python benchmarks/profile_images_fetch.py [--images 100 --repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_images import make_jpegs  # noqa: E402

from workers.fetch import FetchConfig, fetch  # noqa: E402
from workers.imaging import process_image  # noqa: E402


def rate(pool: ThreadPoolExecutor, work: Callable[[int], object], count: int) -> float:
    """Items per wall second of `work` over `count` items in `pool`."""
    started = time.perf_counter()
    list(pool.map(work, range(count)))
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-images-") as folder:
        paths = make_jpegs(Path(folder), args.images)
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "workers" / "httpserver.py"), folder],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            config = FetchConfig.from_params({})
            urls = [f"{base}/{path.name}" for path in paths]
            count, size = len(paths) * args.repeat, args.image_size

            def fetch_only(i: int) -> object:
                return fetch(urls[i % len(urls)], config).data

            def decode_only(i: int) -> object:
                return process_image(paths[i % len(paths)].read_bytes(), size).png

            def fetch_and_decode(i: int) -> object:
                data = fetch(urls[i % len(urls)], config).data
                assert data is not None
                return process_image(data, size).png

            with ThreadPoolExecutor(args.threads) as pool:
                rates = {
                    "fetch only (loopback HTTP)": rate(pool, fetch_only, count),
                    "decode only (local files: the local decode loop)": rate(
                        pool, decode_only, count
                    ),
                    "fetch + decode (the stage's per-line work, no engine)": rate(
                        pool, fetch_and_decode, count
                    ),
                }
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
    print(f"{count} images, {args.threads} threads, {size} px\n")
    print("| loop | img/s |\n|---|---|")
    for name, value in rates.items():
        print(f"| {name} | {value:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

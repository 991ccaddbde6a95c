"""Images stage over HTTP vs the same decode-and-resize loop over local files, in one run.

The stage's cost should be the imaging (decode + resize + PNG encode, ~6-12 ms of CPU per
640x480 JPEG), not the fetching (~1 ms on loopback): target stage >= 80% of the local loop's
img/s (reference/measurements.md section 5). Both sides use `workers.imaging.process_image`,
the same `image_size` and the same thread count. The HTTP server runs in a separate process
(tests/workers/httpserver.py) so it does not compete with the stage for the GIL.

    .venv/bin/python benchmarks/bench_images.py --count 300 --threads 16 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from workers import images  # noqa: E402
from workers.imaging import process_image  # noqa: E402
from workers.runtime import DatumContext  # noqa: E402


def make_jpegs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """640x480 quality-85 JPEGs: gradient + blurred noise + ellipses (~50 KB, like photos)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    paths = []
    for index in range(count):
        noise = rng.normal(0, 40, (480, 640, 3)).astype(np.float32)
        base = np.stack(
            [
                ramp[None, :].repeat(480, 0),
                ramp[::-1][None, :].repeat(480, 0),
                np.full((480, 640), 128.0 + index % 100, dtype=np.float32),
            ],
            axis=2,
        )
        image = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
        image = image.filter(ImageFilter.GaussianBlur(1.5))
        pen = ImageDraw.Draw(image)
        for _ in range(5):
            x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            pen.ellipse((x, y, x + 80, y + 80), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        path = folder / f"{index:06d}.jpg"
        image.save(path, format="JPEG", quality=85)
        paths.append(path)
    return paths


def local_loop(paths: list[Path], out: Path, threads: int, size: int) -> None:
    """The baseline: read the local file, the same imaging, write the PNG, same pool size."""
    out.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        result = process_image(path.read_bytes(), size)
        assert result.png is not None, result.detail
        (out / f"{path.stem}.png").write_bytes(result.png)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, paths))


def stage_run(stage: images.Stage, chunk: Path, out: Path) -> None:
    stage.process(DatumContext(out=out, inputs={"rawdata": chunk}, params={}))


CPU_SECONDS: dict[str, list[float]] = {"local": [], "stage": []}


def timed(action: Callable[[], None], kind: str) -> float:
    """Wall seconds; CPU seconds of this process go to CPU_SECONDS[kind] (robust to a busy box:
    the wall clock is not, when other processes share the 2 cores)."""
    cpu_started, started = time.process_time(), time.perf_counter()
    action()
    CPU_SECONDS[kind].append(time.process_time() - cpu_started)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "jpegs").mkdir()
        paths = make_jpegs(scratch / "jpegs", args.count)
        mean_kib = statistics.mean(p.stat().st_size for p in paths) / 1024
        server = subprocess.Popen(
            [
                sys.executable,
                str(REPO_ROOT / "tests" / "workers" / "httpserver.py"),
                str(scratch / "jpegs"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().strip()
            chunk = scratch / "rawdata" / "bench.tsv" / "0000000000000000"
            chunk.parent.mkdir(parents=True)
            chunk.write_text(
                "".join(f"synthetic photo {p.stem}\t{base_url}/{p.name}\n" for p in paths),
                encoding="utf-8",
            )
            stage = images.Stage({"image_size": args.size, "concurrency": args.threads})
            stage_times: list[float] = []
            local_times: list[float] = []
            local_loop(paths[:20], scratch / "warm", args.threads, args.size)  # warm-up
            for run in range(args.runs):  # interleaved, so drift hits both alike
                local_out, stage_out = scratch / f"local{run}", scratch / f"stage{run}"
                local_times.append(
                    timed(partial(local_loop, paths, local_out, args.threads, args.size), "local")
                )
                stage_times.append(timed(partial(stage_run, stage, chunk, stage_out), "stage"))
                written = len(list((stage_out / chunk.name).glob("*.png")))
                assert written == args.count, f"stage wrote {written} of {args.count}"
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
    local_rate = args.count / statistics.median(local_times)
    stage_rate = args.count / statistics.median(stage_times)
    print(
        f"\n{args.count} JPEGs 640x480 (mean {mean_kib:.1f} KiB) -> {args.size}px PNG, "
        f"{args.threads} threads, median of {args.runs} runs\n"
    )
    print("| method | img/s (median) | CPU ms/img, this process (median) | runs (s) |")
    print("|---|---|---|---|")
    rows = (
        ("local files, same imaging loop", local_rate, "local", local_times),
        ("images stage over HTTP 127.0.0.1", stage_rate, "stage", stage_times),
    )
    for name, rate, kind, times in rows:
        cpu_ms = 1000 * statistics.median(CPU_SECONDS[kind]) / args.count
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {name} | {rate:.1f} | {cpu_ms:.2f} | {runs} |")
    print(f"| **stage / local** | **{stage_rate / local_rate:.0%}** | | target >= 80% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""10,000 small files put through `capstone serve` (pachyderm_sdk, one commit) vs `capstone put`
of the same files, each into a fresh CAPSTONE_HOME, measured in the same run.

The SDK side reads each file and sends it as `put_file_from_bytes` inside one
`client.pfs.commit(...)` (one ModifyFile stream per file, as the SDK does), then waits for the
commit; the server is a `capstone serve` subprocess on a free 127.0.0.1 port. The ratio is
put-seconds / serve-seconds (goal, issue 15: >= 0.5, i.e. the API at most 2x slower).
Usage: python benchmarks/bench_serve.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_tree(root: Path, n: int) -> None:
    rng = random.Random(1)
    for i in range(n):
        d = root / f"{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:06d}.txt").write_bytes(rng.randbytes(rng.randint(50, 1500)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def capstone_put(src: Path, home: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CAPSTONE_HOME=str(home))
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "capstone_cli", "put", "bench@master", str(src)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def sdk_put(src: Path, home: Path) -> float:
    import grpc
    from pachyderm_sdk import Client
    from pachyderm_sdk.api import pfs

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), CAPSTONE_HOME=str(home))
    server = subprocess.Popen(
        [sys.executable, "-m", "capstone_cli", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        channel.close()
        client = Client(host="127.0.0.1", port=port)
        files = sorted(p for p in src.rglob("*") if p.is_file())
        t = time.perf_counter()
        client.pfs.create_repo(repo=pfs.Repo(name="bench"))
        with client.pfs.commit(branch=pfs.Branch.from_uri("bench@master")) as commit:
            for p in files:
                commit.put_file_from_bytes(path=f"/{p.relative_to(src)}", data=p.read_bytes())
        commit.wait()
        return time.perf_counter() - t
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        make_tree(src, args.files)
        put_s = capstone_put(src, Path(tmp) / "home-put")
        serve_s = sdk_put(src, Path(tmp) / "home-serve")
    print(
        json.dumps(
            {
                "files": args.files,
                "capstone_put_s": round(put_s, 2),
                "sdk_via_serve_s": round(serve_s, 2),
                "ratio_put_over_serve": round(put_s / serve_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

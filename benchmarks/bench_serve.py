"""10,000 small files put through `capstone serve` (pachyderm_sdk, one commit) vs `capstone put`
of the same files, each into a fresh CAPSTONE_HOME, measured in the same run.

Two SDK ways, each inside one `client.pfs.commit(...)` then waiting for the commit: the SDK's
`put_file_from_bytes` per file (one ModifyFile stream per file: its client alone spends ~3 ms
CPU per call here), and every file in ONE ModifyFile stream through the SDK's generated stub
(as `pachctl put file -r` does). The server is a `capstone serve` subprocess on a free
127.0.0.1 port. Ratios are put-seconds / API-seconds (goal, issue 15: >= 0.5).
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


def sdk_put(src: Path, home: Path, one_stream: bool) -> float:
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
            if one_stream:  # as `pachctl put file -r`: every file in ONE ModifyFile stream
                ops = (
                    pfs.ModifyFileRequest(
                        add_file=pfs.AddFile(path=f"/{p.relative_to(src)}", raw=p.read_bytes())
                    )
                    for p in files
                )
                client.pfs.modify_file(
                    iter([pfs.ModifyFileRequest(set_commit=commit._commit), *ops])
                )
            else:  # the SDK's per-file call: one ModifyFile stream per file
                for p in files:
                    path = f"/{p.relative_to(src)}"
                    commit.put_file_from_bytes(path=path, data=p.read_bytes())
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
        per_file_s = sdk_put(src, Path(tmp) / "home-serve-1", one_stream=False)
        stream_s = sdk_put(src, Path(tmp) / "home-serve-2", one_stream=True)
    print(
        json.dumps(
            {
                "files": args.files,
                "capstone_put_s": round(put_s, 2),
                "sdk_put_file_from_bytes_s": round(per_file_s, 2),
                "sdk_one_modify_file_stream_s": round(stream_s, 2),
                "ratio_put_over_per_file": round(put_s / per_file_s, 3),
                "ratio_put_over_one_stream": round(put_s / stream_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""A small demo store for the dashboard's tests, built with the real CLI (no TensorFlow).

`rawdata/test.tsv/<chunk>` as `capstone train` lays it out; an `images` pipeline whose transform
is a Python one-liner writing one tiny PNG per TSV line (`images/<chunk>/<line>.png`) and logging
each; an `audit` pipeline that fails on one chunk (a failed job with a reason and a log tail);
a `model` commit holding the `saved/metrics.json` the model stage writes; and a predict
gallery (`inpredict/<image>`, `predict/<image>.txt`).
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env


def make_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid single-colour RGB PNG (signature, IHDR, IDAT, IEND), built without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PNG = make_png(48, 48, (200, 40, 40))
CHUNKS = {
    "0000000000000000": [("a red circle on grass", "https://example.invalid/1.jpg")] * 3,
    "0000000000000001": [("a blue square in snow", "https://example.invalid/2.jpg")] * 2,
}
IMAGES_CODE = (
    "import os, pathlib;"
    "src = pathlib.Path(os.environ['rawdata']);"
    "out = pathlib.Path('/pfs/out') / src.name; out.mkdir(parents=True, exist_ok=True);"
    "png = bytes.fromhex('" + PNG.hex() + "');"
    "[(out.joinpath(f'{i}.png').write_bytes(png), print('image', src.name, i, l.split(chr(9))[0]))"
    " for i, l in enumerate(src.read_text().splitlines())]"
)
AUDIT_CODE = (
    "import os, sys;"
    "src = os.environ['rawdata'];"
    "print('auditing', src);"
    "sys.exit('audit: chunk 1 is not allowed' if src.endswith('1') else 0)"
)
METRICS = {
    "bleu": {"bleu1": 0.61, "bleu2": 0.42, "bleu3": 0.30, "bleu4": 0.21},
    "baseline_bleu": {"bleu1": 0.35, "bleu2": 0.18, "bleu3": 0.09, "bleu4": 0.05},
    "baseline_caption": "a red circle on grass",
    "train_loss_per_epoch": [2.9, 2.1, 1.6, 1.3],
    "train_loss": 1.3,
    "examples": [
        {
            "image": "0000000000000000/0",
            "reference": "a red circle on grass",
            "caption": "a red circle on grass",
        }
    ],
}
CAPTION = "a blue square in snow"


def pipeline_spec(name: str, code: str, glob: str) -> dict[str, object]:
    return {
        "pipeline": {"name": name},
        "transform": {"cmd": [sys.executable, "-c", code]},
        "input": {"pfs": {"repo": "rawdata", "glob": glob}},
        "parallelism_spec": {"constant": 1},
    }


def build_demo_store(run_cli: RunCli, work: Path) -> None:
    """Fill the current CAPSTONE_HOME with the demo store (every step a real CLI command)."""
    tsv = work / "test.tsv"
    tsv.mkdir(parents=True)
    for chunk, lines in CHUNKS.items():
        (tsv / chunk).write_text("".join(f"{c}\t{u}\n" for c, u in lines))
    run_cli("put", "rawdata@master:/test.tsv", str(tsv))
    for name, code in (("images", IMAGES_CODE), ("audit", AUDIT_CODE)):
        spec = work / f"{name}.json"
        spec.write_text(json.dumps(pipeline_spec(name, code, "/*/*")))
        # the audit job fails by design: `pipeline create` then exits non-zero
        run_cli("pipeline", "create", "-f", str(spec), code=0 if name == "images" else 5)
    metrics = work / "metrics.json"
    metrics.write_text(json.dumps(METRICS))
    run_cli("put", "model@master:/saved/metrics.json", str(metrics))
    image = work / "snow.png"
    image.write_bytes(PNG)
    run_cli("put", "inpredict@master:/snow.png", str(image))
    caption = work / "snow.png.txt"
    caption.write_text(CAPTION + "\n")
    run_cli("put", "predict@master:/snow.png.txt", str(caption))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_ui(home: Path) -> Iterator[str]:
    """`capstone ui --no-browser` as a real subprocess on a free 127.0.0.1 port; yields its URL."""
    port = free_port()
    env = subprocess_env(home)
    proc = subprocess.Popen(
        [*capstone_cmd(), "ui", "--no-browser", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"capstone ui exited with {proc.returncode}:\n{out}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("capstone ui did not answer within 30 s")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

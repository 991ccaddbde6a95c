"""The model stage trains under an address-space limit that the in-memory loader cannot fit in.

The data: 10x the offline set's captions (3,200, in 640 five-line shards), 11-word captions
(12 teacher-forcing samples each) and wide feature rows (16,384 float32), so materialising
`features[rows]` for every teacher-forcing sample, as the loader before streaming did, needs
38,400 x 64 KiB = 2.5 GB. Both runs happen in a fresh process that imports TensorFlow first,
then caps its address space (`RLIMIT_AS`) at what it has mapped plus BUDGET; the negative
control proves the cap is one the old way of loading exceeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ml

ROOT = Path(__file__).resolve().parents[2]
CAPTIONS, PER_SHARD, WIDTH, MAX_LEN = 3200, 5, 16384, 12
BUDGET = 1536 << 20  # bytes of address space above what TensorFlow itself maps
WORDS = ("red", "green", "blue", "circle", "square", "left", "right", "top", "bottom", "small")

LIMITED = """
import json, os, resource, sys
import numpy as np
import tensorflow, keras
import workers.model
from workers.captioning import shards
mapped = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1])
limit = mapped * 1024 + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
root, mode = sys.argv[1], sys.argv[2]
if mode == "stream":
    from workers import runtime
    params = json.loads(sys.argv[4])
    out = os.path.join(os.path.dirname(root), "out")
    ctx = runtime.DatumContext(out=__import__("pathlib").Path(out), inputs={"consolidate":
        __import__("pathlib").Path(root)}, params=params)
    workers.model.Stage(params).process(ctx)
else:  # what the loader before streaming did: every shard, then one row per sample
    from pathlib import Path
    names = shards.shard_names(Path(root))
    features = np.concatenate([np.load(Path(root, n, "features.npy")) for n in names])
    samples = np.repeat(np.arange(len(features)), int(sys.argv[4]))
    rows = features[samples]
print("fitted under", limit >> 20, "MiB")
"""


def write_consolidated(root: Path) -> None:
    rng = np.random.default_rng(0)
    for start in range(0, CAPTIONS, PER_SHARD):
        shard = root / f"{start // PER_SHARD:016x}"
        shard.mkdir(parents=True)
        rows = []
        for line in range(start, start + PER_SHARD):
            words = " ".join(WORDS[(line + k) % len(WORDS)] for k in range(MAX_LEN - 1))
            rows.append(f"{line:06d}\timage{line % 1600}\t{words}\n")
        (shard / "captions.tsv").write_text("".join(rows))
        features = rng.random((PER_SHARD, WIDTH), dtype=np.float32)
        np.save(shard / "features.npy", features, allow_pickle=False)


def run_limited(root: Path, mode: str, arg: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "MALLOC_ARENA_MAX": "2",  # glibc's per-thread arenas would reserve 64 MiB per thread
        "TF_NUM_INTEROP_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(root), mode, str(BUDGET), arg],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_model_stage_streams_under_a_limit_the_in_memory_loader_exceeds(tmp_path: Path) -> None:
    root = tmp_path / "consolidate"
    write_consolidated(root)
    assert CAPTIONS * MAX_LEN * WIDTH * 4 > BUDGET  # the old loader's teacher-forcing rows alone

    old = run_limited(root, "in-memory", str(MAX_LEN))
    assert old.returncode != 0 and "MemoryError" in old.stderr, old.stderr[-2000:]

    params = {
        "epochs": 1,
        "batch_size": 64,
        "max_len": MAX_LEN,
        "embedding_dim": 8,
        "units": 8,
        "shuffle_captions": 256,
        "eval_images": 50,
        "features": {"weights": "none", "image_size": 32},
    }
    streamed = run_limited(root, "stream", json.dumps(params))
    assert streamed.returncode == 0, streamed.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "saved" / "metrics.json").read_text())
    assert metrics["captions"] == CAPTIONS
    assert metrics["train_samples"] + metrics["val_samples"] == CAPTIONS * MAX_LEN
    assert metrics["val_images"] == 50 and len(metrics["train_loss_per_epoch"]) == 1

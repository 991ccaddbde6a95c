"""`make demo` timed, then `capstone predict --json` of all 80 held-out images: BLEU-4 and exact.

What a user of a clean clone sees: the demo trains on the offline set through the embedded
engine (every stage, as `make demo` runs it), then the held-out images (never trained on) are
captioned through `capstone predict` and scored against `testdata/offline/heldout.tsv`.
Goals (issue 18): BLEU-4 >= 0.8, >= 60 of 80 exact, `make demo` under 3 minutes on 2 cores.

    .venv/bin/python benchmarks/bench_demo.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.captioning.bleu import bleu_1_to_4  # noqa: E402
from workers.captioning.text import clean_caption  # noqa: E402

OFFLINE = ROOT / "testdata" / "offline"
CAPSTONE = str(ROOT / ".venv" / "bin" / "capstone")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        started = time.perf_counter()
        subprocess.run(["make", "demo", f"DEMO_HOME={home}"], cwd=ROOT, env=env, check=True)
        demo_seconds = time.perf_counter() - started
        rows = [ln.split("\t") for ln in (OFFLINE / "heldout.tsv").read_text().splitlines() if ln]
        images = [str(OFFLINE / path) for _, path in rows]
        started = time.perf_counter()
        done = subprocess.run(
            [CAPSTONE, "predict", *images, "--json", "--out", str(Path(tmp) / "predictions")],
            cwd=ROOT,
            env={**env, "CAPSTONE_HOME": str(home)},
            check=True,
            capture_output=True,
            text=True,
        )
        predict_seconds = time.perf_counter() - started
        metrics = json.loads((ROOT / "out" / "model" / "metrics.json").read_text())
        shutil.rmtree(home, ignore_errors=True)
    captions = {item["image"]: item["caption"] for item in json.loads(done.stdout)}
    hypotheses = [captions[image] for image in images]
    references = [clean_caption(caption) for caption, _ in rows]
    scores = bleu_1_to_4([h.split() for h in hypotheses], [[r.split()] for r in references])
    exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    print("| measure | value | goal |\n|---|---|---|")
    print(f"| `make demo` wall time | {demo_seconds:.0f} s | < 180 s on 2 cores |")
    print(
        f"| held-out BLEU-4 (`capstone predict`, {len(rows)} images) | "
        f"{scores['bleu4']:.3f} | >= 0.8 |"
    )
    print(f"| held-out exact captions | {exact} / {len(rows)} | >= 60 |")
    print(
        f"| BLEU-1 / 2 / 3 | {scores['bleu1']:.3f} / {scores['bleu2']:.3f} / "
        f"{scores['bleu3']:.3f} | |"
    )
    print(
        f"| model stage's own validation split | BLEU-4 {metrics['bleu']['bleu4']:.3f}, "
        f"{metrics.get('exact')} / {metrics.get('exact_of')} exact | |"
    )
    print(f"| `capstone predict` of {len(rows)} images | {predict_seconds:.0f} s | |")
    wrong = [(h, r) for h, r in zip(hypotheses, references, strict=True) if h != r]
    for h, r in wrong[:8]:
        print(f"\n- wrong: {h!r} (expected {r!r})", end="")
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

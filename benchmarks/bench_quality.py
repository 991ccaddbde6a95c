"""Caption quality on the offline synthetic set: features -> consolidate -> model, then BLEU.

Runs the real stage classes in one process (as datum batching would): train.tsv is split into
5-line chunks laid out as `rawdata/train.tsv/<%016x>`, images squared by `workers.imaging` (the
images stage's decode), one features/consolidate datum per chunk, one model datum. Reports the
model stage's held-out BLEU (its `val_fraction` split of train.tsv) and BLEU of greedy captions
for `heldout.tsv` (never seen in training) through the predict stage's `Captioner`, each against
the most-frequent-training-caption baseline.

    .venv/bin/python benchmarks/bench_quality.py [--image-size 224] [--param epochs=40 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from workers import runtime  # noqa: E402
from workers.captioning.bleu import bleu_1_to_4  # noqa: E402
from workers.captioning.text import clean_caption  # noqa: E402

OFFLINE = ROOT / "testdata" / "offline"


def context(out: Path, params: dict[str, Any], **inputs: Path) -> runtime.DatumContext:
    ctx = runtime.DatumContext(out=out, inputs=dict(inputs), params=params)
    ctx.log = lambda message: None  # type: ignore[method-assign]
    return ctx


def square_png(source: Path, size: int) -> bytes:
    try:
        from workers import imaging
    except ImportError:
        import io

        from PIL import Image

        with Image.open(source) as image:
            buffer = io.BytesIO()
            image.convert("RGB").resize((size, size)).save(buffer, format="PNG")
            return buffer.getvalue()
    result = imaging.process_image(source.read_bytes(), size)
    if result.png is None:
        raise RuntimeError(f"{source}: {result.reason}")
    return result.png


def read_tsv(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in path.read_text().splitlines() if line]  # type: ignore[misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--weights", default="none")
    parser.add_argument("--chunk-lines", type=int, default=5)
    parser.add_argument("--param", action="append", default=[], help="model param KEY=JSON")
    args = parser.parse_args()
    if not (OFFLINE / "train.tsv").is_file():
        print(f"no offline dataset at {OFFLINE}", file=sys.stderr)
        return 2
    from workers import consolidate, features, model, predict

    feature_params = {"weights": args.weights, "seed": 0, "image_size": args.image_size}
    model_params: dict[str, Any] = {"features": feature_params}
    for item in args.param:
        key, _, value = item.partition("=")
        model_params[key] = json.loads(value)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pfs = Path(tmp)
        lines = read_tsv(OFFLINE / "train.tsv")
        started = time.perf_counter()
        chunks = []
        for start in range(0, len(lines), args.chunk_lines):
            name = f"{start // args.chunk_lines:016x}"
            raw = pfs / "rawdata" / "train.tsv" / name
            raw.parent.mkdir(parents=True, exist_ok=True)
            group = lines[start : start + args.chunk_lines]
            raw.write_text("".join(f"{c}\t{u}\n" for c, u in group))
            (pfs / "images" / name).mkdir(parents=True)
            for i, (_, url) in enumerate(group):
                png = square_png(OFFLINE / url, args.image_size)
                (pfs / "images" / name / f"{i:06d}.png").write_bytes(png)
            chunks.append(name)
        timings["images"] = time.perf_counter() - started

        started = time.perf_counter()
        stage = features.Stage(feature_params)
        for name in chunks:
            stage.process(context(pfs / "features", {}, images=pfs / "images" / name))
        timings["features"] = time.perf_counter() - started
        joiner = consolidate.Stage({})
        for name in chunks:
            joiner.process(
                context(
                    pfs / "consolidate",
                    {},
                    rawdata=pfs / "rawdata" / "train.tsv" / name,
                    features=pfs / "features" / name,
                )
            )
        started = time.perf_counter()
        model.Stage(model_params).process(
            context(pfs / "model", {}, consolidate=pfs / "consolidate")
        )
        timings["model"] = time.perf_counter() - started
        saved = pfs / "model" / "saved"
        metrics = json.loads((saved / "metrics.json").read_text())

        started = time.perf_counter()
        heldout = read_tsv(OFFLINE / "heldout.tsv")
        captioner = predict.Captioner(saved)
        hyps = captioner.caption([OFFLINE / u for _, u in heldout], beam_width=1)
        timings["predict heldout"] = time.perf_counter() - started
        refs = [[clean_caption(c).split()] for c, _ in heldout]
        held = bleu_1_to_4([h.split() for h in hyps], refs)
        base = bleu_1_to_4([metrics["baseline_caption"].split()] * len(refs), refs)
        exact = sum(h == clean_caption(c) for h, (c, _) in zip(hyps, heldout, strict=True))

    print(
        f"## Offline caption quality (image_size {args.image_size}, weights {args.weights}, "
        f"model params {json.dumps({k: v for k, v in model_params.items() if k != 'features'})})\n"
    )
    print("| split | n images | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | baseline BLEU-4 |")
    print("|---|---|---|---|---|---|---|")
    b, bb = metrics["bleu"], metrics["baseline_bleu"]
    print(
        f"| train.tsv val split ({metrics['val_images']} images) | {metrics['val_images']} | "
        + " | ".join(f"{b[f'bleu{n}']:.3f}" for n in range(1, 5))
        + f" | {bb['bleu4']:.3f} |"
    )
    print(
        f"| heldout.tsv | {len(heldout)} | "
        + " | ".join(f"{held[f'bleu{n}']:.3f}" for n in range(1, 5))
        + f" | {base['bleu4']:.3f} |"
    )
    print(
        f"\nheldout exact-match captions: {exact}/{len(heldout)}; baseline caption: "
        f'"{metrics["baseline_caption"]}"; train loss {metrics["train_loss"]:.4f}, '
        f"val loss {metrics['val_loss']:.4f}, {metrics['train_samples']} training samples"
    )
    print("\n| step | seconds |\n|---|---|")
    for step, seconds in timings.items():
        print(f"| {step} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Worker overhead vs bare Keras: (a) features stage vs a bare ResNet50, (b) model-stage
training loop vs bare `model.fit` on in-memory arrays. Markdown table on stdout.

(a) The stage path includes what a datum costs beyond the network: PNG decode from disk,
batching, the `tf.function` call and one `.npy` write per image. The bare path is
`tf.function(ResNet50)` on already-decoded arrays, same batch size (the measurements.md method).
(b) The stage path is `training.fit` streaming five-line shards from disk (teacher-forcing
batches made on the fly, `tf.data` from a generator); the bare path is `model.fit` on the same
samples pre-built in memory arrays. Runs alternate (A/B/A/B) because epoch times on
this machine are bimodal; medians are reported.

    .venv/bin/python benchmarks/bench_ml.py [--images 128] [--image-size 224] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from workers import runtime  # noqa: E402


def write_pngs(root: Path, count: int, size: int, per_chunk: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    chunks = []
    for c in range(0, count, per_chunk):
        chunk = root / f"{c // per_chunk:016x}"
        chunk.mkdir(parents=True)
        for i in range(min(per_chunk, count - c)):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(chunk / f"{i:06d}.png", compress_level=1)
        chunks.append(chunk)
    return chunks


def bench_features(args: argparse.Namespace, tmp: Path) -> tuple[float, float]:
    import keras
    import tensorflow as tf

    from workers import features

    chunks = write_pngs(tmp / "images", args.images, args.image_size, args.batch_size)
    stage = features.Stage(
        {"weights": "none", "image_size": args.image_size, "batch_size": args.batch_size}
    )
    ctx = runtime.DatumContext(out=tmp / "out", inputs={"images": chunks[0]}, params={})
    ctx.log = lambda message: None  # type: ignore[method-assign]
    stage.process(ctx)  # warm-up (trace)
    model = keras.applications.ResNet50(
        include_top=False,
        weights=None,
        pooling="avg",
        input_shape=(args.image_size, args.image_size, 3),
    )
    forward = tf.function(
        lambda x: model(keras.applications.resnet50.preprocess_input(x), training=False)
    )
    batch = (
        np.random.default_rng(1)
        .integers(0, 256, (args.batch_size, args.image_size, args.image_size, 3))
        .astype(np.float32)
    )
    forward(batch)  # warm-up (trace)
    stage_rates, bare_rates = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for chunk in chunks:
            ctx.inputs = {"images": chunk}
            stage.process(ctx)
        stage_rates.append(args.images / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in chunks:
            np.asarray(forward(batch))
        bare_rates.append(len(chunks) * args.batch_size / (time.perf_counter() - started))
    return statistics.median(stage_rates), statistics.median(bare_rates)


def bench_training(args: argparse.Namespace, tmp: Path) -> tuple[float, float]:
    import keras

    from workers.captioning import shards, training
    from workers.captioning.model import ModelConfig, build_caption_model, compile_caption_model

    rng = np.random.default_rng(0)
    images, max_len, words = 400, 12, [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(36)]
    root = tmp / "consolidate"
    for start in range(0, images, 5):  # five-line shards, as `capstone train` makes them
        shard = root / f"{start // 5:016x}"
        shard.mkdir(parents=True)
        captions = [" ".join(rng.choice(words, rng.integers(3, 10))) for _ in range(5)]
        rows = [f"{i:06d}\timage{start + i}\t{c}\n" for i, c in enumerate(captions)]
        (shard / "captions.tsv").write_text("".join(rows))
        np.save(shard / "features.npy", rng.random((5, 2048), dtype=np.float32))
    names = shards.shard_names(root)
    split = shards.Split(0.0, 0)  # everything trains
    stats = shards.scan_corpus(root, names, split, max_len)
    vocab = stats.vocabulary(100)
    stream = training.CaptionStream(root, names, split, vocab, max_len, args.train_batch)
    batches = list(stream)  # the bare path: the same samples, built in memory beforehand
    x_bare = [
        np.concatenate([f for (f, _), _ in batches]),
        np.concatenate([p for (_, p), _ in batches]),
    ]
    y_bare = np.concatenate([t for _, t in batches])
    n = stats.train_samples

    def fresh() -> keras.Model:
        keras.utils.set_random_seed(0)
        config = ModelConfig(vocab_size=vocab.size, max_len=max_len)
        model = build_caption_model(config, None, stats.feature_moments())
        compile_caption_model(model, 0.003)
        return model

    stage_model, bare_model = fresh(), fresh()
    training.fit(stage_model, stream, 2048, 1, n)  # warm-up
    bare_model.fit(x_bare, y_bare, epochs=1, batch_size=args.train_batch, verbose=0)
    stage_rates, bare_rates = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        training.fit(stage_model, stream, 2048, args.epochs, n)
        stage_rates.append(n * args.epochs / (time.perf_counter() - started))
        started = time.perf_counter()
        bare_model.fit(
            x_bare, y_bare, epochs=args.epochs, batch_size=args.train_batch, shuffle=True, verbose=0
        )
        bare_rates.append(n * args.epochs / (time.perf_counter() - started))
    return statistics.median(stage_rates), statistics.median(bare_rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        f_stage, f_bare = bench_features(args, Path(tmp))
        t_stage, t_bare = bench_training(args, Path(tmp))
    print(f"## Worker overhead vs bare Keras ({args.rounds} alternating rounds, medians)\n")
    print("| measure | stage | bare Keras | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| features img/s (ResNet50, {args.image_size} px, batch {args.batch_size}, "
        f"{args.images} images) | {f_stage:.1f} | {f_bare:.1f} | {f_stage / f_bare:.0%} "
        "| >= 90% |"
    )
    print(
        f"| training samples/s (batch {args.train_batch}, {args.epochs} epochs per round) | "
        f"{t_stage:.0f} | {t_bare:.0f} | {t_stage / t_bare:.0%} | >= 90% |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

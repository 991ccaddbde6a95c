"""model stage: train the inject-and-merge caption model on every consolidated shard.

Input `consolidate` with glob `/` (the whole repo: `<chunk>/captions.tsv` + `<chunk>/features.npy`).
Output `saved/saved_model.h5` (the tutorial's artifact; reloads with `keras.models.load_model`
once `workers.captioning.model` is imported), `saved/vocab.json`, `saved/metrics.json`
(train/val loss, held-out BLEU-1..4 vs the most-frequent-caption baseline, counts) and
`saved/params.json` (every parameter, including how features were extracted, so predict
extracts them the same way).

The features stage's settings are not visible from here: they come as the `features` parameter
(`params_from: [features]` in specs/model.yaml puts the features stage's params there).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from capstone_cli.protocol import stage_params
from workers import runtime

INPUT_NAMES = ("consolidate",)


class Stage:
    """Trains once per datum (there is one: glob `/`); TensorFlow imported at construction."""

    def __init__(self, params: dict[str, Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.params = stage_params.resolve("model", params)  # defaults filled in
        import keras

        self.keras = keras

    def process(self, ctx: runtime.DatumContext) -> None:
        from workers.captioning import decode, training
        from workers.captioning.model import (
            ModelConfig,
            build_caption_model,
            compile_caption_model,
            read_glove,
        )
        from workers.captioning.text import Vocabulary

        p = self.params
        corpus = training.load_corpus(ctx.input("consolidate"))
        groups = training.image_groups(corpus.images)
        train_groups, val_groups = training.split_by_image(groups, p["val_fraction"], p["seed"])
        train_rows = sorted(i for g in train_groups for i in g)
        val_rows = sorted(i for g in val_groups for i in g)
        train_captions = [corpus.captions[i] for i in train_rows]
        vocab = Vocabulary.build(train_captions, max_size=p["vocab_size"])
        encoded = training.encode_all(vocab, corpus.captions, p["max_len"])
        train_samples = training.teacher_forcing(train_rows, encoded, p["max_len"])
        val_samples = training.teacher_forcing(val_rows, encoded, p["max_len"])
        ctx.log(
            f"model: {len(corpus.captions)} captions, {len(groups)} images "
            f"({len(train_groups)} train, {len(val_groups)} held out), vocabulary "
            f"{vocab.size}, {len(train_samples[2])} training samples"
        )

        self.keras.utils.set_random_seed(p["seed"])
        config = ModelConfig(
            vocab_size=vocab.size,
            max_len=p["max_len"],
            embedding_dim=p["embedding_dim"],
            units=p["units"],
            dropout=p["dropout"],
        )
        glove = (
            read_glove(Path(p["glove_path"]), vocab.words, p["embedding_dim"], p["seed"])
            if p["glove_path"]
            else None
        )
        model = build_caption_model(config, glove, corpus.features[train_rows])
        compile_caption_model(model, p["learning_rate"])
        history = training.fit(
            model,
            corpus.features,
            train_samples,
            p["epochs"],
            p["batch_size"],
            on_epoch=lambda done, total: ctx.progress(done, total, "epoch"),
        )
        ctx.log(
            f"model: trained {p['epochs']} epochs in {history['train_seconds']} s, "
            f"loss {history['train_loss']}"
        )

        step = decode.make_step(model)
        val_loss = mean_loss(step, corpus.features, val_samples, p["batch_size"] * 4)
        val_images = corpus.features[[g[0] for g in val_groups]] if val_groups else None
        hypotheses = (
            [
                vocab.decode(ids)
                for ids in decode.greedy_decode(
                    step, val_images, vocab.start_id, vocab.end_id, p["max_len"]
                )
            ]
            if val_images is not None
            else []
        )
        metrics: dict[str, Any] = {
            **history,
            "val_loss": val_loss,
            "captions": len(corpus.captions),
            "images": len(groups),
            "train_images": len(train_groups),
            "val_images": len(val_groups),
            "train_samples": len(train_samples[2]),
            "val_samples": len(val_samples[2]),
            "vocab_size": vocab.size,
        }
        if val_groups:
            baseline = training.most_frequent_caption(train_captions)
            metrics.update(
                training.evaluate_bleu(corpus.captions, val_groups, hypotheses, baseline)
            )
            metrics["examples"] = [
                {"image": corpus.keys[g[0]], "caption": h, "reference": corpus.captions[g[0]]}
                for g, h in list(zip(val_groups, hypotheses, strict=True))[:5]
            ]
            ctx.log(
                f"model: held-out BLEU {metrics['bleu']} vs baseline {metrics['baseline_bleu']}"
            )
        write_outputs(ctx.out / "saved", model, vocab, metrics, p)


def mean_loss(
    step: Any, features: np.ndarray, samples: tuple[np.ndarray, np.ndarray, np.ndarray], batch: int
) -> float | None:
    """Cross-entropy of held-out samples via the compiled step (not `model.evaluate`)."""
    rows, prefixes, targets = samples
    if len(targets) == 0:
        return None
    total = 0.0
    for i in range(0, len(targets), batch):
        probs = step(features[rows[i : i + batch]], prefixes[i : i + batch])
        picked = probs[np.arange(len(probs)), targets[i : i + batch]]
        total += float(-np.log(np.maximum(picked, 1e-12)).sum())
    return total / len(targets)


def write_outputs(
    saved: Path, model: Any, vocab: Any, metrics: dict[str, Any], params: dict[str, Any]
) -> None:
    """The four artifacts; the .h5 is written under a temporary name, then renamed."""
    saved.mkdir(parents=True, exist_ok=True)
    tmp = saved / "saved_model.partial.h5"
    model.save(tmp)
    tmp.replace(saved / "saved_model.h5")
    vocab.save(saved / "vocab.json")
    metrics["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (saved / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (saved / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(runtime.main(Stage, INPUT_NAMES, description=__doc__ or ""))

"""model stage: train the inject-and-merge caption model on every consolidated shard.

Input `consolidate` with glob `/` (the whole repo: `<chunk>/captions.tsv` + `<chunk>/features.npy`).
Training streams the shards (`workers.captioning.shards`, `.training`): memory depends on the
batch, the shuffle buffer and the model, not on the number of captions.

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
PCA_SAMPLE_ROWS = 4096  # training feature rows the PCA is fit on (memory: rows x feature_dim)


class Stage:
    """Trains once per datum (there is one: glob `/`); TensorFlow imported at construction."""

    def __init__(self, params: dict[str, Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.params = stage_params.resolve("model", params)  # defaults filled in
        import keras

        self.keras = keras

    def process(self, ctx: runtime.DatumContext) -> None:
        from workers.captioning import decode, pca, shards, training
        from workers.captioning.model import (
            ModelConfig,
            build_caption_model,
            compile_caption_model,
            read_glove,
        )

        p = self.params
        root = ctx.input("consolidate")
        names = shards.shard_names(root)
        split = shards.choose_split(root, names, p["val_fraction"], p["seed"])
        stats = shards.scan_corpus(
            root, names, split, p["max_len"], PCA_SAMPLE_ROWS if p["feature_pca"] else 0, p["seed"]
        )
        vocab = stats.vocabulary(p["vocab_size"])
        ctx.log(
            f"model: {len(names)} shards, {stats.train_captions} training and "
            f"{stats.val_captions} held-out captions, vocabulary {vocab.size}, "
            f"{stats.train_samples} training samples"
        )

        def stream(validation: bool) -> training.CaptionStream:
            return training.CaptionStream(
                root,
                names,
                split,
                vocab,
                p["max_len"],
                p["batch_size"],
                validation,
                shuffle_captions=0 if validation else p["shuffle_captions"],
                seed=p["seed"],
            )

        self.keras.utils.set_random_seed(p["seed"])
        config = ModelConfig(
            vocab_size=vocab.size,
            max_len=p["max_len"],
            embedding_dim=p["embedding_dim"],
            units=p["units"],
            dropout=p["dropout"],
            feature_dim=stats.feature_dim,
            feature_pca=p["feature_pca"],
        )
        glove = (
            read_glove(Path(p["glove_path"]), vocab.words, p["embedding_dim"], p["seed"])
            if p["glove_path"]
            else None
        )
        whitening = (
            pca.whitening(np.stack(stats.sample.rows), p["feature_pca"])
            if stats.sample is not None
            else None
        )
        model = build_caption_model(config, glove, stats.feature_moments(), whitening)
        steps = training.decay_steps(stats.train_samples, p["batch_size"], p["epochs"])
        compile_caption_model(
            model, p["learning_rate"], steps if p["lr_schedule"] == "cosine" else None
        )
        history = training.fit(
            model,
            stream(False),
            stats.feature_dim,
            p["epochs"],
            stats.train_samples,
            on_epoch=lambda done, total: ctx.progress(done, total, "epoch"),
        )
        ctx.log(
            f"model: trained {p['epochs']} epochs in {history['train_seconds']} s, "
            f"loss {history['train_loss']}"
        )

        step = decode.make_step(model)
        held = training.held_out_images(root, names, split, p["eval_images"])
        metrics: dict[str, Any] = {
            **history,
            "val_loss": training.mean_loss(step, stream(True)),
            "captions": stats.train_captions + stats.val_captions,
            "train_captions": stats.train_captions,
            "val_captions": stats.val_captions,
            "val_images": len(held.keys),
            "train_samples": stats.train_samples,
            "val_samples": stats.val_samples,
            "vocab_size": vocab.size,
        }
        if held.keys:
            ids = decode.greedy_decode(
                step, np.stack(held.features), vocab.start_id, vocab.end_id, p["max_len"]
            )
            hypotheses = [vocab.decode(seq) for seq in ids]
            counts = training.caption_counts(root, names, split, p["eval_images"])
            baseline = training.most_frequent_caption(counts)
            metrics.update(training.evaluate(held, hypotheses, baseline))
            metrics["examples"] = [
                {"image": key, "caption": h, "reference": refs[0]}
                for key, h, refs in list(zip(held.keys, hypotheses, held.references, strict=True))[
                    :5
                ]
            ]
            ctx.log(
                f"model: held-out BLEU {metrics['bleu']} vs baseline "
                f"{metrics['baseline_bleu']}, {metrics['exact']} of {len(held.keys)} exact"
            )
        write_outputs(ctx.out / "saved", model, vocab, metrics, p)


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

"""Training data, the training loop and held-out evaluation for the model stage.

Data: `consolidate/<chunk>/captions.tsv` (`line<TAB>image<TAB>cleaned caption`) with row-aligned
`features.npy`. Each caption becomes teacher-forcing samples `(image, prefix) -> next word`.
The validation split is by image identity (the digest of the image file, carried from the
features stage), so no held-out image leaks into training through another caption, a copy of
the image on another line, or a shorter prefix of the same caption.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.captioning.bleu import bleu_1_to_4
from workers.captioning.text import Vocabulary, clean_caption


@dataclass
class Corpus:
    """All training shards in memory: one row per (image, caption)."""

    captions: list[str]
    features: np.ndarray  # float32 (rows, 2048)
    keys: list[str]  # "<chunk>/<line>", for messages
    images: list[str]  # the image's identity, one per row


def load_corpus(root: Path) -> Corpus:
    """Read every `<chunk>/captions.tsv` + `features.npy` under `root`, in chunk-name order."""
    captions: list[str] = []
    arrays: list[np.ndarray] = []
    keys: list[str] = []
    images: list[str] = []
    for shard in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        tsv, npy = shard / "captions.tsv", shard / "features.npy"
        if not tsv.is_file() or not npy.is_file():
            continue
        lines = [ln for ln in tsv.read_text(encoding="utf-8").split("\n") if ln]
        feats = np.load(npy, allow_pickle=False)
        if feats.ndim != 2 or feats.shape[0] != len(lines):
            raise RuntimeError(
                f"{shard}: features.npy has shape {feats.shape} but captions.tsv "
                f"has {len(lines)} rows; rerun the consolidate stage"
            )
        for line in lines:
            fields = line.split("\t", 2)
            if len(fields) != 3:
                raise RuntimeError(
                    f"{tsv}: row {line[:80]!r} is not line<TAB>image<TAB>caption; "
                    f"rerun the consolidate stage"
                )
            number, image, caption = fields
            captions.append(clean_caption(caption))
            keys.append(f"{shard.name}/{number}")
            images.append(image)
        arrays.append(feats.astype(np.float32, copy=False))
    if not captions:
        raise RuntimeError(
            f"no training data under {root} (expected <chunk>/captions.tsv and "
            f"<chunk>/features.npy); check the consolidate stage's output"
        )
    return Corpus(captions, np.concatenate(arrays), keys, images)


def image_groups(images: list[str]) -> list[list[int]]:
    """Row indices grouped by image identity, in first-seen order (one group per image)."""
    groups: dict[str, list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image, []).append(i)
    return list(groups.values())


def split_by_image(
    groups: list[list[int]], val_fraction: float, seed: int
) -> tuple[list[list[int]], list[list[int]]]:
    """(train groups, validation groups); at least one of each when there are 2+ images."""
    if not 0.0 <= val_fraction < 1.0:
        raise RuntimeError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(groups))
    n_val = math.ceil(val_fraction * len(groups)) if val_fraction > 0 else 0
    n_val = min(n_val, len(groups) - 1) if len(groups) > 1 else 0
    return [groups[i] for i in order[n_val:]], [groups[i] for i in order[:n_val]]


def teacher_forcing(
    rows: list[int], encoded: list[list[int]], max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image row per sample, pre-padded prefixes (n, max_len) int32, next-word targets)."""
    image_rows: list[int] = []
    prefixes: list[np.ndarray] = []
    targets: list[int] = []
    for row in rows:
        ids = encoded[row]
        for t in range(1, len(ids)):
            prefix = np.zeros(max_len, dtype=np.int32)
            tail = ids[max(0, t - max_len) : t]
            prefix[max_len - len(tail) :] = tail
            image_rows.append(row)
            prefixes.append(prefix)
            targets.append(ids[t])
    if not targets:
        return (np.zeros(0, np.int64), np.zeros((0, max_len), np.int32), np.zeros(0, np.int32))
    return np.asarray(image_rows), np.stack(prefixes), np.asarray(targets, dtype=np.int32)


def encode_all(vocab: Vocabulary, captions: list[str], max_len: int) -> list[list[int]]:
    """`<start> words <end>`, words cut to max_len - 1 so every prefix fits the model input."""
    out = []
    for caption in captions:
        ids = vocab.encode(caption, add_bounds=False)[: max_len - 1]
        out.append([vocab.start_id, *ids, vocab.end_id])
    return out


def most_frequent_caption(captions: list[str]) -> str:
    """The trivial baseline: the most common training caption (ties: alphabetically first)."""
    counts = Counter(captions)
    return min(counts, key=lambda c: (-counts[c], c))


def fit(
    model: Any,
    features: np.ndarray,
    samples: tuple[np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    on_epoch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """`model.fit` on in-memory arrays (the fastest path measured), seeded shuffling.

    `on_epoch(done, epochs)` runs after every epoch: training is the longest datum of the DAG,
    and this is what lets the live display move while it runs.
    """
    import keras

    class _EpochProgress(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if on_epoch is not None:
                on_epoch(epoch + 1, epochs)

    rows, prefixes, targets = samples
    if on_epoch is not None:
        on_epoch(0, epochs)
    started = time.perf_counter()
    history = model.fit(
        [features[rows], prefixes],
        targets,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[_EpochProgress()] if on_epoch is not None else None,
    )
    seconds = time.perf_counter() - started
    losses = [float(x) for x in history.history.get("loss", [])]
    return {
        "train_loss": losses[-1] if losses else None,
        "train_loss_per_epoch": losses,
        "train_seconds": round(seconds, 3),
        "train_samples_per_s": round(len(targets) * epochs / seconds, 1) if seconds else None,
    }


def evaluate_bleu(
    captions: list[str], val_groups: list[list[int]], hypotheses: list[str], baseline: str
) -> dict[str, Any]:
    """BLEU-1..4 of the model's captions and of the baseline caption, against all references."""
    references = [[captions[i].split() for i in group] for group in val_groups]
    model_scores = bleu_1_to_4([h.split() for h in hypotheses], references)
    base_scores = bleu_1_to_4([baseline.split()] * len(val_groups), references)
    return {"bleu": model_scores, "baseline_bleu": base_scores, "baseline_caption": baseline}

"""Streaming training and held-out evaluation for the model stage.

Each caption becomes teacher-forcing samples `(image, prefix) -> next word`, made on the fly
from one shard at a time (`workers.captioning.shards`): a shuffle buffer of captions is filled
from shards in a seeded, per-epoch order, expanded to samples, shuffled and cut into batches.
Memory is the buffer plus one batch of feature rows, whatever the number of captions.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.captioning.bleu import bleu_1_to_4
from workers.captioning.shards import Split, iter_shards
from workers.captioning.text import Vocabulary

Batch = tuple[tuple[np.ndarray, np.ndarray], np.ndarray]
StepFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def encode(vocab: Vocabulary, caption: str, max_len: int) -> list[int]:
    """`<start> words <end>`, words cut to max_len - 1 so every prefix fits the model input."""
    ids = vocab.encode(caption, add_bounds=False)[: max_len - 1]
    return [vocab.start_id, *ids, vocab.end_id]


def teacher_forcing(
    encoded: list[list[int]], max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(caption index per sample, pre-padded prefixes (n, max_len) int32, next-word targets)."""
    count = sum(len(ids) - 1 for ids in encoded)
    owners = np.zeros(count, np.int64)
    prefixes = np.zeros((count, max_len), np.int32)
    targets = np.zeros(count, np.int32)
    k = 0
    for owner, ids in enumerate(encoded):
        for t in range(1, len(ids)):
            tail = ids[max(0, t - max_len) : t]
            prefixes[k, max_len - len(tail) :] = tail
            owners[k], targets[k] = owner, ids[t]
            k += 1
    return owners, prefixes, targets


@dataclass
class CaptionStream:
    """Batches of one side of the split, re-iterable (one pass per epoch), seeded per epoch."""

    root: Path
    names: list[str]
    split: Split
    vocab: Vocabulary
    max_len: int
    batch_size: int
    validation: bool = False
    shuffle_captions: int = 1024  # captions held at once; 0 keeps the shards' order
    seed: int = 0
    epoch: int = field(default=0, init=False)

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        shuffle = rng if self.shuffle_captions > 0 else None
        order = rng.permutation(len(self.names)) if shuffle else range(len(self.names))
        pending: list[tuple[np.ndarray, list[int]]] = []
        carry: Batch = (
            (np.zeros((0, 0), np.float32), np.zeros((0, self.max_len), np.int32)),
            np.zeros(0, np.int32),
        )
        for shard in iter_shards(self.root, [self.names[i] for i in order]):
            for i, (image, caption) in enumerate(zip(shard.images, shard.captions, strict=True)):
                if self.split.is_val(image) == self.validation:
                    ids = encode(self.vocab, caption, self.max_len)
                    pending.append((np.asarray(shard.features[i], np.float32), ids))
            if len(pending) >= max(self.shuffle_captions, 1):
                carry = yield from self._batches(pending, shuffle, carry)
                pending = []
        carry = yield from self._batches(pending, shuffle, carry)
        if len(carry[1]):
            yield carry

    def _batches(
        self,
        captions: list[tuple[np.ndarray, list[int]]],
        rng: np.random.Generator | None,
        carry: Batch,
    ) -> Generator[Batch, None, Batch]:
        """Full batches of last round's leftover plus these captions' samples; returns the
        new leftover (less than a batch). Feature rows are gathered one batch at a time."""
        if not captions:
            return carry
        owners, prefixes, targets = teacher_forcing([ids for _, ids in captions], self.max_len)
        if rng is not None:
            order = rng.permutation(len(targets))
            owners, prefixes, targets = owners[order], prefixes[order], targets[order]
        features = np.stack([f for f, _ in captions])
        size, start = self.batch_size, 0
        (carry_rows, carry_prefixes), carry_targets = carry
        if len(carry_targets):
            start = min(size - len(carry_targets), len(targets))
            joined: Batch = (
                (
                    np.concatenate([carry_rows, features[owners[:start]]]),
                    np.concatenate([carry_prefixes, prefixes[:start]]),
                ),
                np.concatenate([carry_targets, targets[:start]]),
            )
            if len(joined[1]) < size:
                return joined
            yield joined
        end = start + (len(targets) - start) // size * size
        for i in range(start, end, size):
            yield (features[owners[i : i + size]], prefixes[i : i + size]), targets[i : i + size]
        return (features[owners[end:]], prefixes[end:]), targets[end:]

    def dataset(self, feature_dim: int) -> Any:
        """A `tf.data.Dataset` over this stream (a fresh pass, so a fresh order, per epoch)."""
        import tensorflow as tf

        spec = (
            (
                tf.TensorSpec((None, feature_dim), tf.float32),
                tf.TensorSpec((None, self.max_len), tf.int32),
            ),
            tf.TensorSpec((None,), tf.int32),
        )
        dataset = tf.data.Dataset.from_generator(self.__iter__, output_signature=spec)
        return dataset.repeat().prefetch(2)  # each repetition calls __iter__: a new epoch


def fit(
    model: Any,
    stream: CaptionStream,
    feature_dim: int,
    epochs: int,
    samples: int,
    on_epoch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """`model.fit` over the stream, one streaming pass (`samples` samples) per epoch.

    `on_epoch(done, epochs)` runs after every epoch: training is the longest datum of the DAG,
    and this is what lets the live display move while it runs.
    """
    import keras

    class _EpochProgress(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if on_epoch is not None:
                on_epoch(epoch + 1, epochs)

    if on_epoch is not None:
        on_epoch(0, epochs)
    started = time.perf_counter()
    history = model.fit(
        stream.dataset(feature_dim),
        epochs=epochs,
        steps_per_epoch=math.ceil(samples / stream.batch_size),
        verbose=0,
        callbacks=[_EpochProgress()] if on_epoch is not None else None,
    )
    seconds = time.perf_counter() - started
    losses = [float(x) for x in history.history.get("loss", [])]
    return {
        "train_loss": losses[-1] if losses else None,
        "train_loss_per_epoch": losses,
        "train_seconds": round(seconds, 3),
    }


def mean_loss(step: StepFn, stream: CaptionStream) -> float | None:
    """Cross-entropy of the held-out samples via the compiled step (not `model.evaluate`)."""
    total, count = 0.0, 0
    for (rows, prefixes), targets in stream:
        probs = step(rows, prefixes)
        picked = probs[np.arange(len(probs)), targets]
        total += float(-np.log(np.maximum(picked, 1e-12)).sum())
        count += len(targets)
    return total / count if count else None


@dataclass
class HeldOut:
    """Up to `limit` held-out images (first seen first): one feature row, all their captions."""

    keys: list[str] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)
    references: list[list[str]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)


def held_out_images(root: Path, names: list[str], split: Split, limit: int) -> HeldOut:
    """A bounded sample for BLEU: memory grows with `limit`, never with the data."""
    held = HeldOut()
    for shard in iter_shards(root, names):
        for i, (image, caption) in enumerate(zip(shard.images, shard.captions, strict=True)):
            if not split.is_val(image):
                continue
            if image in held.index:
                held.references[held.index[image]].append(caption)
            elif len(held.keys) < limit:
                held.index[image] = len(held.keys)
                held.keys.append(f"{shard.name}/{shard.lines[i]}")
                held.features.append(np.asarray(shard.features[i], np.float32))
                held.references.append([caption])
    return held


def most_frequent_caption(counts: Counter[str]) -> str:
    """The trivial baseline: the most common training caption (ties: alphabetically first)."""
    return min(counts, key=lambda c: (-counts[c], c)) if counts else ""


def caption_counts(root: Path, names: list[str], split: Split, limit: int) -> Counter[str]:
    """Training captions' frequencies, for the baseline; stops growing after `limit` distinct."""
    counts: Counter[str] = Counter()
    for shard in iter_shards(root, names):
        for image, caption in zip(shard.images, shard.captions, strict=True):
            if not split.is_val(image) and (caption in counts or len(counts) < limit):
                counts[caption] += 1
    return counts


def evaluate(held: HeldOut, hypotheses: list[str], baseline: str) -> dict[str, Any]:
    """BLEU-1..4 of the model's captions and of the baseline, against all references of each
    image; `exact`: captions equal to one of their image's references."""
    references = [[r.split() for r in refs] for refs in held.references]
    return {
        "bleu": bleu_1_to_4([h.split() for h in hypotheses], references),
        "baseline_bleu": bleu_1_to_4([baseline.split()] * len(references), references),
        "baseline_caption": baseline,
        "exact": sum(h in refs for h, refs in zip(hypotheses, held.references, strict=True)),
        "exact_of": len(hypotheses),
    }


def decay_steps(samples: int, batch_size: int, epochs: int) -> int:
    """Optimizer steps of the whole run (the learning-rate schedule's length)."""
    return max(1, math.ceil(samples / batch_size) * epochs)

"""Greedy and beam-search captioning, batched across images.

The tutorial calls `model.predict()` once per word; on Keras 3 that costs ~50 ms of overhead per
step (reference/measurements.md 3.2). Here one `tf.function` step (traced once, `None` batch) scores
every image (and every beam) per word, so a batch of images decodes in `max_len` calls.
Prefixes are pre-padded with `<pad>`=0, as in training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

StepFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def make_step(model: Any) -> StepFn:
    """`(features (n, d), prefixes (n, max_len) int32) -> probs (n, vocab)`, compiled once."""
    import tensorflow as tf

    feature_dim = int(model.inputs[0].shape[-1])
    max_len = int(model.inputs[1].shape[-1])

    @tf.function(  # type: ignore[untyped-decorator]
        input_signature=[
            tf.TensorSpec((None, feature_dim), tf.float32),
            tf.TensorSpec((None, max_len), tf.int32),
        ]
    )
    def step(features: Any, prefixes: Any) -> Any:
        return model([features, prefixes], training=False)

    def run(features: np.ndarray, prefixes: np.ndarray) -> np.ndarray:
        return np.asarray(step(features.astype(np.float32), prefixes.astype(np.int32)))

    return run


def _prefix_rows(sequences: list[list[int]], max_len: int) -> np.ndarray:
    rows = np.zeros((len(sequences), max_len), dtype=np.int32)
    for i, seq in enumerate(sequences):
        tail = seq[-max_len:]
        rows[i, max_len - len(tail) :] = tail
    return rows


def greedy_decode(
    step: StepFn, features: np.ndarray, start_id: int, end_id: int, max_len: int
) -> list[list[int]]:
    """Most likely word at each step, for all images at once; each result excludes start/end."""
    sequences = [[start_id] for _ in range(len(features))]
    done = np.zeros(len(features), dtype=bool)
    for _ in range(max_len):
        if done.all():
            break
        probs = step(features, _prefix_rows(sequences, max_len))
        best = probs.argmax(axis=-1)
        for i, word in enumerate(best):
            if not done[i]:
                sequences[i].append(int(word))
                done[i] = int(word) == end_id
    return [_strip(seq, end_id) for seq in sequences]


def beam_decode(
    step: StepFn,
    features: np.ndarray,
    start_id: int,
    end_id: int,
    max_len: int,
    beam_width: int = 3,
) -> list[list[int]]:
    """Beam search with summed log-probabilities; all images x beams go through one step call.

    A finished beam (it emitted `<end>`) keeps its score and only extends with `<end>`, so it
    competes fairly with the open beams until every beam of every image has finished.
    """
    if beam_width <= 1:
        return greedy_decode(step, features, start_id, end_id, max_len)
    n, k = len(features), beam_width
    beams: list[list[list[int]]] = [[[start_id] for _ in range(k)] for _ in range(n)]
    scores = np.full((n, k), -np.inf)
    scores[:, 0] = 0.0  # one live beam at the start; the others join after the first step
    repeated = np.repeat(features, k, axis=0)
    for _ in range(max_len):
        finished = np.array([[b[-1] == end_id and len(b) > 1 for b in row] for row in beams])
        if finished[np.isfinite(scores)].all():
            break
        flat = [b for row in beams for b in row]
        logp = np.log(np.maximum(step(repeated, _prefix_rows(flat, max_len)), 1e-12))
        vocab = logp.shape[-1]
        logp = logp.reshape(n, k, vocab)
        logp[finished] = -np.inf
        logp[finished, end_id] = 0.0
        total = (scores[:, :, None] + logp).reshape(n, k * vocab)
        top = np.argsort(-total, axis=1, kind="stable")[:, :k]
        new_beams: list[list[list[int]]] = []
        for i in range(n):
            row: list[list[int]] = []
            for j, flat_index in enumerate(top[i]):
                beam, word = divmod(int(flat_index), vocab)
                row.append([*beams[i][beam], word])
                scores[i, j] = total[i, flat_index]
            new_beams.append(row)
        beams = new_beams
    return [_strip(beams[i][int(np.argmax(scores[i]))], end_id) for i in range(n)]


def _strip(sequence: list[int], end_id: int) -> list[int]:
    words = sequence[1:]
    return words[: words.index(end_id)] if end_id in words else words

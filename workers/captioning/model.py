"""The tutorial's inject-and-merge caption model, built so that it carries the caption mask
through the merge and reloads from `saved_model.h5`.

Two Keras 3.15 traps shape this module (reference/measurements.md section 3.3):
- `Embedding(mask_zero=True)` turns the mask into a `NotEqual` op node, which the legacy `.h5`
  loader cannot rebuild. Here a tiny registered layer, `TokenMask`, computes the mask instead, so
  the graph holds only layers, and `keras.models.load_model("saved_model.h5")` works in a fresh
  process once this module is imported (importing it registers `TokenMask`).
- `add()` drops the mask when one input (the repeated image vector) has none, so the merge LSTMs
  would run over padded steps. The mask tensor is passed explicitly (`mask=`) to every recurrent
  layer instead, which the saved config records, so the reloaded model masks the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

FEATURE_DIM = 2048
# Captions up to this many tokens run their LSTMs unrolled: on 2 CPU cores a batch of 128
# 12-token prefixes trains ~1.5x faster than in TensorFlow's while-loop (benchmarks/RESULTS.md);
# longer sequences keep the loop (an unrolled graph grows with the length)
MAX_UNROLL = 32


@keras.saving.register_keras_serializable(package="capstone")
class TokenMask(keras.layers.Layer):  # type: ignore[misc]
    """`tokens != 0` as a boolean (batch, steps) mask: `<pad>` is id 0."""

    def call(self, tokens: Any) -> Any:
        return keras.ops.not_equal(tokens, 0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_output_spec(self, tokens: Any) -> Any:
        return keras.KerasTensor(tokens.shape, dtype="bool")


@dataclass(frozen=True)
class ModelConfig:
    """Model sizes; the tutorial's are vocab 5000, max_len 20, embedding 200, units 256/128/512.

    The defaults here are small (the offline set has a tiny vocabulary); `units` scales all
    three LSTMs (caption branch `units`, merge `units // 2` then `units * 2`, as in the tutorial).
    """

    vocab_size: int
    max_len: int = 12
    embedding_dim: int = 64
    units: int = 128
    dropout: float = 0.2
    feature_dim: int = FEATURE_DIM
    carry_mask: bool = True  # False rebuilds Keras 3's default (mask lost at add) for comparison
    normalize_features: bool = True
    feature_pca: int = 0  # > 0: PCA-whiten to this many components instead of standardising

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_caption_model(
    config: ModelConfig,
    embedding_matrix: np.ndarray | None = None,
    feature_moments: tuple[np.ndarray, np.ndarray] | None = None,
    feature_whitening: tuple[np.ndarray, np.ndarray] | None = None,
) -> keras.Model:
    """Inputs `[features (n, 2048), caption prefix (n, max_len) int]` -> next-word softmax.

    One addition to the tutorial's graph: the image features are standardised per dimension
    (a `Normalization` layer holding the training features' `feature_moments`, mean and
    variance, gathered in the model stage's streaming pass; they are weights, so they travel in
    the .h5 and predict applies the same). CNN features share a large common component
    (random-weight ResNet50: mean 2.8, per-dimension std 0.26), which otherwise drowns what
    differs between images.

    With `config.feature_pca`, a fixed Dense layer instead projects the features onto their
    leading principal components at unit variance (`feature_whitening`: kernel and bias from
    `workers.captioning.pca`); why is in that module.
    """
    features = keras.Input(shape=(config.feature_dim,), name="features")
    caption = keras.Input(shape=(config.max_len,), dtype="int32", name="caption")

    image = features
    if config.feature_pca > 0:
        width = config.feature_pca if feature_whitening is None else feature_whitening[0].shape[1]
        whiten = keras.layers.Dense(width, trainable=False, name="feature_pca")
        image = whiten(image)
        if feature_whitening is not None:
            whiten.set_weights([w.astype("float32") for w in feature_whitening])
    elif config.normalize_features:
        normalize = keras.layers.Normalization(axis=-1, name="feature_norm")
        image = normalize(image)
        if feature_moments is not None:
            mean, variance = feature_moments
            count = np.array(1, dtype="int64")
            normalize.set_weights([mean.astype("float32"), variance.astype("float32"), count])
            normalize.finalize_state()  # the layer reads constants made from its weights
    image = keras.layers.Dropout(config.dropout, name="image_dropout")(image)
    image = keras.layers.Dense(config.embedding_dim, activation="relu", name="image_dense")(image)
    image = keras.layers.RepeatVector(config.max_len, name="image_repeat")(image)

    mask = TokenMask(name="token_mask")(caption) if config.carry_mask else None
    embedding = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")
    words = embedding(caption)
    if embedding_matrix is not None:
        embedding.set_weights([embedding_matrix.astype("float32")])
    words = keras.layers.Dropout(config.dropout, name="caption_dropout")(words)
    unroll = config.max_len <= MAX_UNROLL
    words = keras.layers.LSTM(
        config.units, return_sequences=True, unroll=unroll, name="caption_lstm"
    )(words, mask=mask)
    words = keras.layers.TimeDistributed(
        keras.layers.Dense(config.embedding_dim), name="caption_project"
    )(words)

    merged = keras.layers.Add(name="merge")([image, words])
    merged = keras.layers.LSTM(
        max(config.units // 2, 1), return_sequences=True, unroll=unroll, name="merge_lstm_1"
    )(merged, mask=mask)
    merged = keras.layers.LSTM(config.units * 2, unroll=unroll, name="merge_lstm_2")(
        merged, mask=mask
    )
    output = keras.layers.Dense(config.vocab_size, activation="softmax", name="next_word")(merged)
    return keras.Model([features, caption], output, name="caption_model")


def compile_caption_model(
    model: keras.Model, learning_rate: float, decay_steps: int | None = None
) -> None:
    """Adam; with `decay_steps`, the rate follows a cosine from `learning_rate` down to 1% of it
    over that many steps (large steps early, fine ones late: fewer epochs for the same fit)."""
    rate: Any = learning_rate
    if decay_steps:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate),
        loss="sparse_categorical_crossentropy",
    )


def output_vocab_size(model: keras.Model) -> int:
    """Width of the softmax layer, to check a vocabulary against the model."""
    return int(model.outputs[0].shape[-1])


def model_max_len(model: keras.Model) -> int:
    return int(model.inputs[1].shape[-1])


def load_caption_model(path: Path) -> keras.Model:
    """Load `saved_model.h5` for inference, with a one-line error for a missing or corrupt file."""
    if not path.is_file():
        raise RuntimeError(f"model file {path} does not exist; run the model stage first")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # h5py, Keras and OS errors all mean "unusable file" here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(f"cannot load model {path}: {first}"[:400]) from None


def read_glove(path: Path, words: list[str], dim: int, seed: int = 0) -> np.ndarray:
    """An embedding matrix from a local GloVe text file (`word v1 v2 ...` per line).

    Words not in the file keep a small random vector; `<pad>` stays zero. Never downloads.
    """
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.05, size=(len(words), dim)).astype("float32")
    matrix[0] = 0.0
    index = {w: i for i, w in enumerate(words)}
    found = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip().split(" ")
            if len(parts) != dim + 1 or parts[0] not in index:
                continue
            matrix[index[parts[0]]] = np.asarray(parts[1:], dtype="float32")
            found += 1
    if found == 0:
        raise RuntimeError(
            f"no vocabulary word with a {dim}-d vector in {path}; "
            f"check glove_path and embedding_dim"
        )
    return matrix

"""Image features from a CNN backbone (ResNet50 without its classifier, one layer average-pooled).

`layer`: "top" is the tutorial's vector (the last block, 2048-d); a Keras layer name such as
`conv3_block4_out` (512-d) pools that block instead. With random weights the deep blocks lose the
shape of a small drawn object, which an intermediate block keeps (benchmarks/RESULTS.md).

Throughput rules measured here (reference/measurements.md section 2): call a `tf.function`-wrapped
model, never `model.predict()` (which stalls ~5 s after its last batch on Keras 3.15), and feed
batches of at least 8 images. The function is traced once with a `None` batch dimension, so a
short last batch (a 5-image chunk) costs no retrace and no padded compute.

`weights`: "imagenet" (Keras' download path, kept for users who have the internet or a warm
`~/.keras` cache), "none" (random init after `keras.utils.set_random_seed(seed)`, identical in every
process), or a local weights file path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from capstone_cli.protocol import stage_params

_DEFAULTS = stage_params.defaults("features")
BACKBONES = ("resnet50",)


def load_image(path: Path, image_size: int) -> np.ndarray:
    """RGB uint8 (image_size, image_size, 3), made square exactly like the images stage does.

    Training images were already squared by the images stage (a no-op here); predict-time images
    go through the same `workers.imaging` decode (aspect-preserving resize + letterbox), so their
    features match the training distribution. Falls back to a plain resize without that module.
    """
    try:
        from workers import imaging
    except ImportError:  # the images stage's module is not shipped: plain Pillow resize
        from PIL import Image

        with Image.open(path) as image:
            rgb = image.convert("RGB")
            if rgb.size != (image_size, image_size):
                rgb = rgb.resize((image_size, image_size), Image.Resampling.BICUBIC)
            return np.asarray(rgb, dtype=np.uint8)
    try:
        with imaging.open_checked(path.read_bytes()) as image:
            square = imaging.decode_to_square(image, image_size)
    except imaging.ImageRejected as rejected:
        raise RuntimeError(f"{path}: {rejected.reason}: {rejected.detail}") from None
    except OSError as exc:
        raise RuntimeError(f"{path}: cannot decode image: {exc}") from None
    return np.asarray(square, dtype=np.uint8)


class FeatureExtractor:
    """A backbone built once per process; `extract` maps uint8 images to float32
    (n, `feature_dim`)."""

    def __init__(
        self,
        backbone: str = _DEFAULTS["backbone"],
        weights: str = _DEFAULTS["weights"],
        seed: int = _DEFAULTS["seed"],
        image_size: int = _DEFAULTS["image_size"],
        batch_size: int = _DEFAULTS["batch_size"],
        layer: str = _DEFAULTS["layer"],
    ) -> None:
        import keras
        import tensorflow as tf

        if backbone not in BACKBONES:
            raise RuntimeError(f"unknown backbone {backbone!r}; supported: {', '.join(BACKBONES)}")
        if image_size < 32:
            raise RuntimeError(f"image_size must be >= 32 for {backbone} (got {image_size})")
        if batch_size < 1:
            raise RuntimeError("batch_size must be >= 1")
        self.image_size = image_size
        self.batch_size = batch_size
        keras_weights: str | None
        if weights == "none":
            keras_weights = None
        elif weights == "imagenet":
            keras_weights = "imagenet"
        else:
            if not Path(weights).is_file():
                raise RuntimeError(
                    f"weights file {weights} does not exist; use weights "
                    f"'imagenet', 'none' or a local .h5 path"
                )
            keras_weights = weights
        keras.utils.set_random_seed(seed)  # before building: random init identical everywhere
        base = keras.applications.ResNet50(
            include_top=False,
            weights=keras_weights,
            pooling="avg" if layer == "top" else None,
            input_shape=(image_size, image_size, 3),
        )
        if layer == "top":
            self.model = base
        else:
            names = [one.name for one in base.layers]
            if layer not in names:
                blocks = ", ".join(n for n in names if n.endswith("_out"))
                raise RuntimeError(
                    f"unknown layer {layer!r} of {backbone}; use 'top' or one of: {blocks}"
                )
            pooled = keras.layers.GlobalAveragePooling2D()(base.get_layer(layer).output)
            self.model = keras.Model(base.input, pooled)
        self.feature_dim = int(self.model.output_shape[-1])
        preprocess = keras.applications.resnet50.preprocess_input
        model = self.model
        spec = tf.TensorSpec((None, image_size, image_size, 3), tf.float32)

        @tf.function(input_signature=[spec])  # type: ignore[untyped-decorator]
        def forward(batch: Any) -> Any:
            return model(preprocess(batch), training=False)

        self._forward = forward

    def extract(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, feature_dim) features of uint8/float (n, size, size, 3) RGB images."""
        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(
                f"expected (n, {self.image_size}, {self.image_size}, 3) images, got {images.shape}"
            )
        chunks = [
            np.asarray(self._forward(images[i : i + self.batch_size].astype(np.float32)))
            for i in range(0, len(images), self.batch_size)
        ]
        if not chunks:
            return np.zeros((0, self.feature_dim), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def extract_files(self, paths: Sequence[Path]) -> np.ndarray:
        """Features of image files, loaded and batched `batch_size` at a time."""
        out: list[np.ndarray] = []
        for i in range(0, len(paths), self.batch_size):
            group = paths[i : i + self.batch_size]
            batch = np.stack([load_image(p, self.image_size) for p in group])
            out.append(self.extract(batch))
        return np.concatenate(out) if out else np.zeros((0, self.feature_dim), dtype=np.float32)

"""features stage: one 2048-d ResNet50 vector per image of a chunk.

Input `images` with glob `/*`: the directory `images/<chunk>` (PNG files named `<line>.png`, and
maybe `rejects.tsv`, ignored). Output `<chunk>/<line>.npy` (float32 (2048,), no pickle) and
`<chunk>/images.tsv` (`line<TAB>digest` of each image file's bytes): the image's identity, which
the model stage splits train/validation by. Feature vectors cannot serve as identity: the same
image does not always give bit-identical vectors (batch position changes the float sums).
The backbone is built once per process, so with datum batching many chunks share one model.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from capstone_cli.protocol import stage_params
from workers import runtime

INPUT_NAMES = ("images",)
IMAGE_IDS_FILE = "images.tsv"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_digest(path: Path) -> str:
    """The identity of an image: a digest of its file's bytes (identical images, one digest)."""
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


class Stage:
    def __init__(self, params: dict[str, Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.params = stage_params.resolve("features", params)
        from workers.captioning.features import FeatureExtractor

        self.extractor = FeatureExtractor(**self.params)

    def process(self, ctx: runtime.DatumContext) -> None:
        chunk = ctx.input("images")
        if not chunk.is_dir():
            raise RuntimeError(f"{chunk} is not a directory; the features input glob must be /*")
        images = sorted(
            p for p in chunk.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not images:
            ctx.log(f"features: no images in {chunk.name} (all rejected?)")
            return
        vectors = self.extractor.extract_files(images)
        target = ctx.out / chunk.name
        target.mkdir(parents=True, exist_ok=True)
        for path, vector in zip(images, vectors, strict=True):
            np.save(target / f"{Path(path).stem}.npy", vector, allow_pickle=False)
        (target / IMAGE_IDS_FILE).write_text(
            "".join(f"{p.stem}\t{image_digest(p)}\n" for p in images), encoding="utf-8"
        )
        ctx.log(f"features: {len(images)} images of {chunk.name}")


if __name__ == "__main__":
    raise SystemExit(runtime.main(Stage, INPUT_NAMES, description=__doc__ or ""))

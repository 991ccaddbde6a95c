"""predict stage: caption new images with the trained model.

Input: cross of `model` (glob `/saved`, the directory) and `inpredict` (glob `/*`, an image, or a
directory of images). Output `<image file name>.txt`: the caption and a newline. The model, the
vocabulary and the feature extractor are loaded once per process and reused across datums
(datum batching); features are extracted exactly as the features stage did (params.json).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from capstone_cli.protocol import stage_params
from workers import runtime

INPUT_NAMES = ("model", "inpredict")


class Captioner:
    """A loaded model directory: model + vocabulary + feature extractor + compiled step."""

    def __init__(self, saved: Path) -> None:
        from workers.captioning import decode
        from workers.captioning.features import FeatureExtractor
        from workers.captioning.model import (
            load_caption_model,
            model_max_len,
            output_vocab_size,
        )
        from workers.captioning.text import Vocabulary

        try:
            params = json.loads((saved / "params.json").read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot read {saved / 'params.json'}: {exc}") from None
        try:
            self.vocab = Vocabulary.load(saved / "vocab.json")
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None
        self.model = load_caption_model(saved / "saved_model.h5")
        width = output_vocab_size(self.model)
        if width != self.vocab.size:
            raise RuntimeError(
                f"vocabulary {saved / 'vocab.json'} has {self.vocab.size} words "
                f"but the model predicts {width}; they come from different "
                f"training runs: rerun the model stage"
            )
        self.max_len = model_max_len(self.model)
        try:  # a model trained before a parameter existed has its default
            feat = stage_params.resolve("features", params.get("features", {}))
        except ValueError as exc:
            raise RuntimeError(f"{saved / 'params.json'}: {exc}") from None
        self.extractor = FeatureExtractor(**feat)
        self.step = decode.make_step(self.model)
        self.decode = decode

    def caption(self, images: list[Path], beam_width: int) -> list[str]:
        features = self.extractor.extract_files(images)
        ids = self.decode.beam_decode(
            self.step, features, self.vocab.start_id, self.vocab.end_id, self.max_len, beam_width
        )
        return [self.vocab.decode(seq) for seq in ids]


MODEL_FILES = ("saved_model.h5", "vocab.json", "params.json")


def model_digest(saved: Path) -> str:
    """A digest of the files a Captioner loads (a missing file hashes as empty)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in MODEL_FILES:
        path = saved / name
        digest.update(name.encode() + b"\0")
        if path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


class Stage:
    def __init__(self, params: dict[str, Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.params = stage_params.resolve("predict", params)
        self._loaded: tuple[str, Captioner] | None = None

    def captioner(self, saved: Path) -> Captioner:
        """The cached model for `saved`; reloaded only when the model's files change.

        Keyed by the files' contents, not the directory: each datum sees the model at another
        path (its own `/pfs` layout), and loading the model and the backbone takes seconds.
        """
        key = model_digest(saved)
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = (key, Captioner(saved))
        return self._loaded[1]

    def process(self, ctx: runtime.DatumContext) -> None:
        saved = ctx.input("model")
        if not saved.is_dir():
            raise RuntimeError(
                f"{saved} is not the model's saved/ directory; the model input glob must be /saved"
            )
        target = ctx.input("inpredict")
        if target.is_dir():
            images = sorted(p for p in target.rglob("*") if p.is_file())
            names = [p.relative_to(target.parent) for p in images]
        else:
            images, names = [target], [Path(target.name)]
        captioner = self.captioner(saved)
        batch = int(self.params["batch_size"])
        for i in range(0, len(images), batch):
            captions = captioner.caption(images[i : i + batch], int(self.params["beam_width"]))
            for name, caption in zip(names[i : i + batch], captions, strict=True):
                out = ctx.out / f"{name}.txt"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(caption + "\n", encoding="utf-8")
                ctx.log(f"predict: {name}: {caption}")


if __name__ == "__main__":
    raise SystemExit(runtime.main(Stage, INPUT_NAMES, description=__doc__ or ""))

"""The consolidated shards, read one at a time, and the two streaming passes over them.

Data: `consolidate/<chunk>/captions.tsv` (`line<TAB>image<TAB>cleaned caption`) with row-aligned
`features.npy`. Nothing here holds more than one shard's rows: features are memory-mapped per
shard, so the model stage's memory depends on its batch and shuffle buffer, not on how many
captions there are (3.3M captions x 2048 float32 would be 27 GB).

The validation split is by image identity (the digest of the image file, carried from the
features stage): an image is held out when a seeded hash of its identity falls below
`val_fraction`. The decision needs no table of images, and every copy or caption of an image
lands on the same side.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.captioning.pca import Reservoir
from workers.captioning.text import Vocabulary, clean_caption


@dataclass(frozen=True)
class ShardRows:
    """One shard: its rows and its memory-mapped, row-aligned features."""

    name: str
    lines: list[str]
    images: list[str]
    captions: list[str]
    features: np.ndarray  # float32 (rows, feature_dim), memory-mapped


def shard_names(root: Path) -> list[str]:
    """Chunk directory names in order; the only list that grows with the data (one per chunk)."""
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if (p / "captions.tsv").is_file() and (p / "features.npy").is_file()
    )


def read_shard(root: Path, name: str) -> ShardRows:
    """Rows of one shard; a shard that does not match its features asks for consolidate again."""
    shard = root / name
    tsv = shard / "captions.tsv"
    lines, images, captions = [], [], []
    for row in tsv.read_text(encoding="utf-8").split("\n"):
        if not row:
            continue
        fields = row.split("\t", 2)
        if len(fields) != 3:
            raise RuntimeError(
                f"{tsv}: row {row[:80]!r} is not line<TAB>image<TAB>caption; "
                f"rerun the consolidate stage"
            )
        lines.append(fields[0])
        images.append(fields[1])
        captions.append(clean_caption(fields[2]))
    features = np.load(shard / "features.npy", mmap_mode="r", allow_pickle=False)
    if features.ndim != 2 or features.shape[0] != len(lines):
        raise RuntimeError(
            f"{shard}: features.npy has shape {features.shape} but captions.tsv "
            f"has {len(lines)} rows; rerun the consolidate stage"
        )
    return ShardRows(name, lines, images, captions, features)


def iter_shards(root: Path, names: list[str]) -> Iterator[ShardRows]:
    for name in names:
        yield read_shard(root, name)


def image_hash(image: str, seed: int) -> float:
    """A seeded, uniform position in [0, 1) for an image identity (same in every process)."""
    digest = hashlib.blake2b(f"{seed}\0{image}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Split:
    """Held out: hash below `val_fraction`, or the one image forced there so that a set of 2+
    images always has a validation image (and always a training image)."""

    val_fraction: float
    seed: int
    forced_val: str | None = None
    forced_train: str | None = None

    def is_val(self, image: str) -> bool:
        if image == self.forced_val:
            return True
        if image == self.forced_train:
            return False
        return image_hash(image, self.seed) < self.val_fraction


def choose_split(root: Path, names: list[str], val_fraction: float, seed: int) -> Split:
    """One pass over the captions files (not the features): the split, with its two fallbacks."""
    if not 0.0 <= val_fraction < 1.0:
        raise RuntimeError(f"val_fraction must be in [0, 1), got {val_fraction}")
    lowest: tuple[float, str] | None = None
    highest: tuple[float, str] | None = None
    has_val = has_train = False
    for shard in iter_shards(root, names):
        for image in shard.images:
            h = image_hash(image, seed)
            has_val, has_train = has_val or h < val_fraction, has_train or h >= val_fraction
            lowest = min(lowest, (h, image)) if lowest else (h, image)
            highest = max(highest, (h, image)) if highest else (h, image)
    if lowest is None or highest is None or lowest[1] == highest[1]:
        return Split(0.0, seed)  # zero or one image: all of it trains
    forced_val = lowest[1] if val_fraction > 0 and not has_val else None
    forced_train = highest[1] if not has_train else None
    return Split(val_fraction, seed, forced_val, forced_train)


@dataclass
class CorpusStats:
    """What one streaming pass learns: word counts, feature moments, row and sample counts."""

    feature_dim: int = 0
    words: Counter[str] = field(default_factory=Counter)
    train_captions: int = 0
    val_captions: int = 0
    train_samples: int = 0
    val_samples: int = 0
    feature_sum: np.ndarray | None = None
    feature_sq: np.ndarray | None = None
    sample: Reservoir | None = None  # training feature rows for PCA (bounded)

    def feature_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-dimension mean and variance of the training images' features (float32)."""
        if self.feature_sum is None or self.feature_sq is None or not self.train_captions:
            return np.zeros(self.feature_dim, np.float32), np.ones(self.feature_dim, np.float32)
        mean = self.feature_sum / self.train_captions
        variance = np.maximum(self.feature_sq / self.train_captions - mean**2, 0.0)
        return mean.astype(np.float32), variance.astype(np.float32)

    def vocabulary(self, max_size: int) -> Vocabulary:
        return Vocabulary.from_counts(self.words, max_size=max_size)


def samples_per_caption(caption: str, max_len: int) -> int:
    """Teacher-forcing samples of one caption: its words (cut to max_len - 1) plus `<end>`."""
    return min(len(caption.split()), max_len - 1) + 1


def scan_corpus(
    root: Path, names: list[str], split: Split, max_len: int, sample_rows: int = 0, seed: int = 0
) -> CorpusStats:
    """The vocabulary's counts and the normalisation statistics, in one pass over the shards;
    with `sample_rows`, also a seeded uniform sample of that many training feature rows."""
    stats = CorpusStats(sample=Reservoir(sample_rows, seed) if sample_rows else None)
    for shard in iter_shards(root, names):
        if not stats.feature_dim and shard.lines:
            stats.feature_dim = int(shard.features.shape[1])
            stats.feature_sum = np.zeros(stats.feature_dim, np.float64)
            stats.feature_sq = np.zeros(stats.feature_dim, np.float64)
        if shard.lines and shard.features.shape[1] != stats.feature_dim:
            raise RuntimeError(
                f"{root / shard.name}/features.npy has {shard.features.shape[1]} features per "
                f"row, other shards {stats.feature_dim}; rerun features and consolidate"
            )
        train_rows = []
        for i, (image, caption) in enumerate(zip(shard.images, shard.captions, strict=True)):
            n = samples_per_caption(caption, max_len)
            if split.is_val(image):
                stats.val_captions += 1
                stats.val_samples += n
            else:
                train_rows.append(i)
                stats.words.update(caption.split())
                stats.train_captions += 1
                stats.train_samples += n
        if train_rows and stats.feature_sum is not None and stats.feature_sq is not None:
            block = np.asarray(shard.features[train_rows], dtype=np.float64)
            stats.feature_sum += block.sum(axis=0)
            stats.feature_sq += (block * block).sum(axis=0)
            if stats.sample is not None:
                stats.sample.add(block)
    if not stats.train_captions:
        raise RuntimeError(
            f"no training data under {root} (expected <chunk>/captions.tsv and "
            f"<chunk>/features.npy); check the consolidate stage's output"
        )
    return stats

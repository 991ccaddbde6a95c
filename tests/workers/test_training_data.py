"""The model stage's data side without TensorFlow: shards, image identity, the split by image,
teacher-forcing batches made on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.captioning import shards, training
from workers.captioning.text import Vocabulary


def write_shard(root: Path, chunk: str, rows: list[tuple[str, str, str]]) -> None:
    shard = root / chunk
    shard.mkdir(parents=True)
    (shard / "captions.tsv").write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows))
    # Copies of one image need not give bit-identical vectors: make them differ on purpose.
    features = np.arange(len(rows) * 4, dtype=np.float32).reshape(len(rows), 4)
    np.save(shard / "features.npy", features, allow_pickle=False)


def word(k: int) -> str:
    """A distinct letters-only word per image (digits do not survive caption cleaning)."""
    return "x" + chr(97 + k % 26) + chr(97 + k // 26)


def corpus(root: Path, images: int, copies: int, per_shard: int = 5) -> list[str]:
    """`images * copies` rows, image k's copies spread over shards; returns the shard names."""
    rows = [
        (f"{i:06d}", f"img{i % images}", f"caption {word(i % images)}")
        for i in range(images * copies)
    ]
    for start in range(0, len(rows), per_shard):
        write_shard(root, f"{start // per_shard:016x}", rows[start : start + per_shard])
    return shards.shard_names(root)


@pytest.mark.parametrize(("images", "fraction"), [(5, 0.4), (2, 0.2), (40, 0.25), (3, 0.9)])
def test_copies_of_an_image_never_straddle_the_split(
    tmp_path: Path, images: int, fraction: float
) -> None:
    """Lines of one image (different vectors, different shards) land on one side; 2+ images
    always give both sides, whatever the hash says."""
    names = corpus(tmp_path, images, copies=4)
    for seed in range(10):
        split = shards.choose_split(tmp_path, names, fraction, seed)
        sides: dict[str, set[bool]] = {}
        for shard in shards.iter_shards(tmp_path, names):
            for image in shard.images:
                sides.setdefault(image, set()).add(split.is_val(image))
        assert all(len(s) == 1 for s in sides.values())
        assert {next(iter(s)) for s in sides.values()} == {True, False}


def test_one_image_trains_and_holds_nothing_out(tmp_path: Path) -> None:
    names = corpus(tmp_path, 1, copies=3)
    split = shards.choose_split(tmp_path, names, 0.5, 0)
    assert not split.is_val("img0")


def test_scan_counts_words_and_moments_of_training_rows_only(tmp_path: Path) -> None:
    names = corpus(tmp_path, 6, copies=2)
    split = shards.choose_split(tmp_path, names, 0.3, 1)
    stats = shards.scan_corpus(tmp_path, names, split, max_len=8)
    train = [
        r
        for s in shards.iter_shards(tmp_path, names)
        for r in zip(s.images, s.features, strict=True)
        if not split.is_val(r[0])
    ]
    assert stats.train_captions == len(train) and stats.val_captions == 12 - len(train)
    assert stats.train_samples == 3 * len(train)  # "caption N": 2 words + <end>
    mean, variance = stats.feature_moments()
    block = np.stack([f for _, f in train])
    np.testing.assert_allclose(mean, block.mean(0), rtol=1e-6)
    np.testing.assert_allclose(variance, block.var(0), rtol=1e-5)
    assert stats.words["caption"] == len(train)
    expected = {"caption", *(word(int(image[3:])) for image, _ in train)}
    assert set(stats.vocabulary(100).words[4:]) == expected


@pytest.mark.parametrize("shuffle", [0, 7])
def test_stream_yields_every_training_sample_once_per_epoch(tmp_path: Path, shuffle: int) -> None:
    names = corpus(tmp_path, 9, copies=3, per_shard=4)
    split = shards.choose_split(tmp_path, names, 0.3, 0)
    stats = shards.scan_corpus(tmp_path, names, split, max_len=3)
    vocab = stats.vocabulary(100)
    stream = training.CaptionStream(tmp_path, names, split, vocab, 3, 5, shuffle_captions=shuffle)
    epochs = [list(stream), list(stream)]
    for batches in epochs:
        sizes = [len(t) for _, t in batches]
        assert all(n == 5 for n in sizes[:-1]) and 0 < sizes[-1] <= 5
        assert sum(sizes) == stats.train_samples
        # each sample's prefix is the caption's start, and its features are its row's
        seen = sorted(
            (tuple(p), int(t), tuple(f))
            for (f_, p_), t_ in batches
            for f, p, t in zip(f_, p_, t_, strict=True)
        )
        assert len(seen) == stats.train_samples
    if shuffle:
        assert [t.tolist() for _, t in epochs[0]] != [t.tolist() for _, t in epochs[1]]
    start = vocab.start_id
    first = next(p for (_, prefixes), _ in epochs[0] for p in prefixes if p[-1] == start)
    assert first.tolist() == [0, 0, start]


def test_a_two_column_shard_asks_for_consolidate_again(tmp_path: Path) -> None:
    shard = tmp_path / "0000000000000000"
    shard.mkdir()
    (shard / "captions.tsv").write_text("000000\ta red circle\n")
    np.save(shard / "features.npy", np.zeros((1, 4), np.float32), allow_pickle=False)
    with pytest.raises(RuntimeError, match="rerun the consolidate stage"):
        shards.choose_split(tmp_path, shards.shard_names(tmp_path), 0.2, 0)


def test_vocabulary_from_counts_equals_build() -> None:
    captions = ["a red circle", "a blue square", "a red square"]
    from collections import Counter

    counts = Counter(w for c in captions for w in c.split())
    assert Vocabulary.from_counts(counts, 6).words == Vocabulary.build(captions, 6).words

"""The model stage's data side without TensorFlow: shards, image identity, the split by image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.captioning import training


def write_shard(root: Path, chunk: str, rows: list[tuple[str, str, str]]) -> None:
    shard = root / chunk
    shard.mkdir(parents=True)
    (shard / "captions.tsv").write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows))
    # Copies of one image need not give bit-identical vectors: make them differ on purpose.
    features = np.arange(len(rows) * 4, dtype=np.float32).reshape(len(rows), 4)
    np.save(shard / "features.npy", features, allow_pickle=False)


@pytest.mark.parametrize(
    ("images", "groups"),
    [
        (["a", "b", "a", "c", "b"], [[0, 2], [1, 4], [3]]),
        (["x"], [[0]]),
        ([], []),
        (["p", "q", "r"], [[0], [1], [2]]),
    ],
)
def test_image_groups_follow_identity_not_vectors(
    images: list[str], groups: list[list[int]]
) -> None:
    assert training.image_groups(images) == groups


def test_copies_of_an_image_never_straddle_the_split(tmp_path: Path) -> None:
    """Two lines of one image with different feature vectors land on the same side."""
    rows = [(f"{i:06d}", f"img{i % 5}", f"caption {i % 5}") for i in range(20)]
    write_shard(tmp_path, "0000000000000000", rows)
    corpus = training.load_corpus(tmp_path)
    groups = training.image_groups(corpus.images)
    assert len(groups) == 5
    for seed in range(10):
        train, val = training.split_by_image(groups, 0.4, seed)
        train_images = {corpus.images[i] for g in train for i in g}
        val_images = {corpus.images[i] for g in val for i in g}
        assert train_images and val_images and not train_images & val_images


def test_a_two_column_shard_asks_for_consolidate_again(tmp_path: Path) -> None:
    shard = tmp_path / "0000000000000000"
    shard.mkdir()
    (shard / "captions.tsv").write_text("000000\ta red circle\n")
    np.save(shard / "features.npy", np.zeros((1, 4), np.float32), allow_pickle=False)
    with pytest.raises(RuntimeError, match="rerun the consolidate stage"):
        training.load_corpus(tmp_path)

"""PCA whitening of the image features and its bounded row sample (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.captioning import pca, shards
from workers.captioning.pca import Reservoir


def correlated(rows: int, width: int, rank: int, seed: int = 0) -> np.ndarray:
    """Rows of a `rank`-dimensional signal spread over `width` columns, plus an offset."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, width))
    scale = np.linspace(5.0, 1.0, rank)
    return (rng.normal(size=(rows, rank)) * scale @ basis + 3.0).astype(np.float32)


@pytest.mark.parametrize(
    ("rows", "width", "rank", "components", "expected_k"),
    [
        (200, 16, 6, 4, 4),  # more rows than columns: covariance path
        (12, 40, 6, 4, 4),  # fewer rows than columns: Gram path
        (200, 16, 3, 8, 3),  # asked for more components than the data has
        (12, 40, 20, 30, 11),  # the sample's rank (rows - 1 after centring) caps k
    ],
)
def test_whitened_coordinates_are_centred_uncorrelated_unit_variance(
    rows: int, width: int, rank: int, components: int, expected_k: int
) -> None:
    sample = correlated(rows, width, rank)
    kernel, bias = pca.whitening(sample, components)
    assert kernel.shape == (width, expected_k) and bias.shape == (expected_k,)
    coords = sample @ kernel + bias
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.cov(coords, rowvar=False), np.eye(expected_k), atol=1e-3)


def test_both_paths_find_the_same_leading_directions() -> None:
    sample = correlated(30, 30, 5)
    wide, _ = pca.whitening(sample[:, :29], 3)  # 30 rows > 29 columns: covariance
    tall, _ = pca.whitening(sample[:29, :], 3)  # 29 rows < 30 columns: Gram
    assert wide.shape[1] == tall.shape[1] == 3
    full, _ = pca.whitening(sample, 3)
    again, _ = pca.whitening(sample.copy(), 3)
    np.testing.assert_allclose(np.abs(full), np.abs(again), rtol=1e-5)


def test_identical_rows_give_a_zero_projection() -> None:
    kernel, bias = pca.whitening(np.ones((5, 8), np.float32), 4)
    assert kernel.shape == (8, 1) and not kernel.any() and not bias.any()


@pytest.mark.parametrize(("limit", "rows"), [(10, 4), (10, 10), (10, 1000)])
def test_reservoir_keeps_at_most_limit_rows_seeded(limit: int, rows: int) -> None:
    data = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    first, second = Reservoir(limit, seed=3), Reservoir(limit, seed=3)
    for start in range(0, rows, 7):  # fed in blocks, as shards come
        first.add(data[start : start + 7])
        second.add(data[start : start + 7])
    assert len(first.rows) == min(limit, rows) and first.seen == rows
    assert all(np.array_equal(a, b) for a, b in zip(first.rows, second.rows, strict=True))
    picked = {int(r[0]) // 2 for r in first.rows}
    assert len(picked) == len(first.rows) and picked <= set(range(rows))
    if rows > 10 * limit:  # a uniform sample reaches past the first rows
        assert max(picked) >= limit


def test_scan_samples_training_rows_only(tmp_path: Path) -> None:
    for s in range(3):
        shard = tmp_path / f"{s:016x}"
        shard.mkdir()
        images = [f"img{s * 4 + i}" for i in range(4)]
        (shard / "captions.tsv").write_text(
            "".join(f"{s * 4 + i}\t{img}\ta caption\n" for i, img in enumerate(images))
        )
        rows = np.array([[s * 4 + i] * 3 for i in range(4)], np.float32)
        np.save(shard / "features.npy", rows, allow_pickle=False)
    names = shards.shard_names(tmp_path)
    split = shards.choose_split(tmp_path, names, 0.25, 0)
    stats = shards.scan_corpus(tmp_path, names, split, max_len=4, sample_rows=100, seed=0)
    assert stats.sample is not None
    sampled = sorted(int(r[0]) for r in stats.sample.rows)
    assert sampled == [k for k in range(12) if not split.is_val(f"img{k}")]
    assert shards.scan_corpus(tmp_path, names, split, max_len=4).sample is None

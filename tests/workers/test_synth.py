"""workers.synth: deterministic, caption-faithful, and the committed copy is what it generates."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workers import synth

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED = REPO_ROOT / "testdata" / "offline"


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "README.md"
    }


def read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(len(row) == 2 for row in rows)
    return [(row[0], row[1]) for row in rows]


def test_same_seed_same_bytes_different_seed_different(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synth.write_dataset(first, 60, seed=7)
    synth.write_dataset(second, 60, seed=7)
    synth.write_dataset(other, 60, seed=8)
    assert digest_tree(first) == digest_tree(second)
    assert digest_tree(first) != digest_tree(other)


def test_regenerating_replaces_stale_images(tmp_path: Path) -> None:
    synth.write_dataset(tmp_path, 30, seed=1)
    synth.write_dataset(tmp_path, 10, seed=1)
    assert len(list((tmp_path / "images").glob("*.png"))) == 10


def test_committed_dataset_is_what_the_cli_regenerates(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "workers.synth",
            "--out",
            str(tmp_path),
            "--count",
            "400",
            "--seed",
            "0",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "320 train, 80 held out" in done.stdout
    assert digest_tree(tmp_path) == digest_tree(COMMITTED)
    total = sum(path.stat().st_size for path in COMMITTED.rglob("*") if path.is_file())
    assert total < 3 * 1024 * 1024


def test_split_is_80_20_and_heldout_combinations_are_trained_on() -> None:
    train, heldout = read_tsv(COMMITTED / "train.tsv"), read_tsv(COMMITTED / "heldout.tsv")
    assert (len(train), len(heldout)) == (320, 80)
    assert {caption for caption, _ in heldout} <= {caption for caption, _ in train}
    paths = [path for _, path in train + heldout]
    assert len(set(paths)) == 400 and all((COMMITTED / path).is_file() for path in paths)


@pytest.mark.parametrize("index", range(0, 400, 37))
def test_the_caption_says_what_is_drawn(index: int) -> None:
    """Colour: the most common non-background pixel; position: that colour's centroid."""
    captions = dict(
        (path, caption)
        for caption, path in read_tsv(COMMITTED / "train.tsv") + read_tsv(COMMITTED / "heldout.tsv")
    )
    path = f"images/{index:06d}.png"
    with Image.open(COMMITTED / path) as image:
        assert (image.size, image.mode) == ((96, 96), "RGB")
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
    background = Counter(map(tuple, pixels)).most_common(1)[0][0]
    mask = np.abs(pixels - np.array(background)).sum(axis=1) > 30
    shape_rgb = pixels[mask].mean(axis=0)
    color = min(synth.COLORS, key=lambda n: np.abs(np.array(synth.COLORS[n]) - shape_rgb).sum())
    ys, xs = np.divmod(np.flatnonzero(mask), 96)
    centre = (xs.mean(), ys.mean())
    position = min(
        synth.POSITIONS,
        key=lambda p: np.hypot(
            synth.POSITIONS[p][0] - centre[0], synth.POSITIONS[p][1] - centre[1]
        ),
    )
    caption = captions[path]
    assert color in caption.split() and caption.endswith(position), (caption, color, position)
    assert any(shape in caption for shape in synth.SHAPES)


def test_extend_keeps_the_base_training_lines_and_adds_new_images(tmp_path: Path) -> None:
    base, out = tmp_path / "base", tmp_path / "out"
    synth.write_dataset(base, 30, seed=3)
    lines = synth.extend_training_set(base, out, 12, seed=4)
    rows = read_tsv(out / "train.tsv")
    base_rows = read_tsv(base / "train.tsv")
    assert lines == len(rows) == len(base_rows) + 12 and rows[: len(base_rows)] == base_rows
    for _, relative in rows:
        assert (out / relative).is_file()
    heldout = {
        hashlib.sha256((base / r).read_bytes()).digest() for _, r in read_tsv(base / "heldout.tsv")
    }
    assert not heldout & {hashlib.sha256((out / r).read_bytes()).digest() for _, r in rows}

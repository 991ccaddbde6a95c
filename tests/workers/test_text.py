"""Caption cleaning and the vocabulary (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.captioning.text import SPECIALS, Vocabulary, clean_caption, tokenize

CLEAN_CASES = [
    ("A Red Circle on the LEFT.", "a red circle on the left"),
    ("  two   dogs,\tplaying!! ", "two dogs playing"),
    ("3 cats & 2 dogs", "cats dogs"),
    ("left-hand side", "left hand side"),
    ("I saw a b c d x", "saw a"),
    ("it's 5pm, don’t", "its pm dont"),
    ("under_score", "under score"),
    ("Café crème", "café crème"),
    ("", ""),
    ("!!! 123 ...", ""),
]


@pytest.mark.parametrize(("raw", "cleaned"), CLEAN_CASES)
def test_clean_caption(raw: str, cleaned: str) -> None:
    assert clean_caption(raw) == cleaned
    assert tokenize(raw) == cleaned.split()


@pytest.mark.parametrize("raw", [row[0] for row in CLEAN_CASES])
def test_clean_matches_the_consolidate_stage(raw: str) -> None:
    consolidate = pytest.importorskip("workers.consolidate")
    assert clean_caption(raw) == consolidate.clean_caption(raw)


def test_clean_is_idempotent() -> None:
    once = clean_caption("A big, RED square -- on the right (2x)!")
    assert clean_caption(once) == once


def test_vocabulary_order_and_size_limit() -> None:
    captions = ["a red circle", "a blue circle", "a red square", "a red circle"]
    full = Vocabulary.build(captions)
    assert full.words[:4] == list(SPECIALS)
    assert full.words[4:] == ["a", "circle", "red", "blue", "square"]  # count, then a-z
    limited = Vocabulary.build(captions, max_size=6)
    assert limited.size == 6
    assert limited.words[4:] == ["a", "circle"]
    assert limited.encode("a green circle") == [2, 4, 1, 5, 3]


def test_encode_decode_round_trip() -> None:
    vocab = Vocabulary.build(["a red circle on the left"])
    ids = vocab.encode("A red circle, on the LEFT")
    assert ids[0] == vocab.start_id and ids[-1] == vocab.end_id
    assert vocab.decode(ids) == "a red circle on the left"
    assert (
        vocab.decode([vocab.start_id, vocab.index["red"], vocab.end_id, vocab.index["circle"]])
        == "red"
    )
    assert vocab.decode([0, 0, vocab.index["left"]]) == "left"


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocabulary.build(["a red circle", "a café"], max_size=50)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    again = Vocabulary.load(path)
    assert again.words == vocab.words
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps(["<pad>"]),
        json.dumps({"format": "other", "version": 1, "words": list(SPECIALS)}),
        json.dumps({"format": "capstone-vocab", "version": 99, "words": list(SPECIALS)}),
        json.dumps({"format": "capstone-vocab", "version": 1, "words": ["x", *SPECIALS]}),
        json.dumps({"format": "capstone-vocab", "version": 1, "words": [*SPECIALS, "a", "a"]}),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(ValueError):
        Vocabulary.load(path)


def test_too_small_limit_is_rejected() -> None:
    with pytest.raises(ValueError):
        Vocabulary.build(["a"], max_size=4)

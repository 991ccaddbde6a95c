"""The consolidate stage on a join datum laid out as Pachyderm mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.workers.stagerun import run_stage_process
from workers import consolidate, runtime

CHUNK = "0000000000000003"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("A Dog, running!", "a dog running"),
        (
            "author : a life in photography -- in pictures",
            "author a life in photography in pictures",
        ),
        ("globes : the green 3d person", "globes the green person"),
        ("don't   stop\tbelieving", "dont stop believing"),
        ("black-and-white photo of 2 cats", "black and white photo of cats"),
        ("I x a b", "a"),
        ("Café au lait", "café au lait"),
        ("12 34 !!", ""),
    ],
)
def test_clean_caption(raw: str, cleaned: str) -> None:
    assert consolidate.clean_caption(raw) == cleaned


def lay_out_join(
    root: Path, lines: list[str], with_features: dict[int, np.ndarray]
) -> tuple[Path, Path]:
    chunk = root / "rawdata" / "test.tsv" / CHUNK
    chunk.parent.mkdir(parents=True)
    chunk.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    features = root / "features" / CHUNK
    features.mkdir(parents=True)
    for index, vector in with_features.items():
        np.save(features / f"{index:06d}.npy", vector, allow_pickle=False)
    return chunk, features


def vec(value: float, dim: int = 2048) -> np.ndarray:
    return np.full(dim, value, dtype=np.float32)


LINES = [
    "A red Circle.\thttp://x/0.jpg",  # 0: kept
    "a blue square\thttp://x/1.jpg",  # 1: rejected upstream, no features
    "no tab on this line",  # 2: malformed
    "123 ...\thttp://x/3.jpg",  # 3: caption empty once cleaned
    "The GREEN triangle\thttp://x/4.jpg",  # 4: kept
    "\thttp://x/5.jpg",  # 5: empty caption
]


def test_stage_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk, features = lay_out_join(
        tmp_path / "pfs", LINES, {4: vec(4.0), 0: vec(0.5), 2: vec(2.0), 3: vec(3.0)}
    )
    (features / "rejects.tsv").write_text("000001\thttp://x/1.jpg\thttp_404\n")
    (features / "images.tsv").write_text("000004\tfeed\n")  # line 0's identity is missing
    monkeypatch.setenv("rawdata", str(chunk))
    monkeypatch.setenv("features", str(features))
    out = tmp_path / "out"
    assert runtime.main(consolidate.Stage, consolidate.INPUT_NAMES, ["--out", str(out)]) == 0
    shard = out / CHUNK
    assert sorted(path.name for path in shard.iterdir()) == [
        "captions.tsv",
        "features.npy",
        "stats.json",
    ]
    assert (shard / "captions.tsv").read_text(encoding="utf-8") == (
        f"000000\t{CHUNK}/000000\ta red circle\n000004\tfeed\tthe green triangle\n"
    )
    matrix = np.load(shard / "features.npy", allow_pickle=False)
    assert matrix.dtype == np.float32 and matrix.shape == (2, 2048)
    assert matrix[:, 0].tolist() == [0.5, 4.0]  # rows aligned with captions.tsv
    assert json.loads((shard / "stats.json").read_text()) == {
        "lines": 6,
        "kept": 2,
        "dropped_no_features": 1,
        "dropped_malformed": 3,
    }


def test_stage_as_a_subprocess(tmp_path: Path) -> None:
    chunk, features = lay_out_join(tmp_path / "pfs", LINES[:2], {1: vec(1.0, dim=8)})
    done = run_stage_process(
        "consolidate", tmp_path / "o", {"rawdata": str(chunk), "features": str(features)}
    )
    assert done.returncode == 0, done.stderr
    assert f"chunk {CHUNK}: 1 of 2 lines kept (1 without features, 0 malformed)" in done.stdout
    assert np.load(tmp_path / "o" / CHUNK / "features.npy").shape == (1, 8)


def test_chunk_without_any_features_gives_an_empty_shard(tmp_path: Path) -> None:
    chunk, features = lay_out_join(tmp_path, LINES[:2], {})
    rows, matrix, stats = consolidate.build_shard(chunk, features, feature_dim=16)
    assert rows == []
    assert matrix.shape == (0, 16) and matrix.dtype == np.float32
    assert stats == {"lines": 2, "kept": 0, "dropped_no_features": 2, "dropped_malformed": 0}


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 2048), dtype=np.float32),  # not 1-D
        np.array(["a", "b"]),  # not numeric
        np.zeros(0, dtype=np.float32),  # empty
        np.zeros(1024, dtype=np.float32),  # width differs from line 0's
    ],
)
def test_bad_features_fail_the_datum(tmp_path: Path, bad: np.ndarray) -> None:
    chunk, features = lay_out_join(tmp_path, [LINES[0], LINES[4]], {0: vec(1.0)})
    np.save(features / "000001.npy", bad, allow_pickle=False)
    with pytest.raises(ValueError, match=r"000001\.npy"):
        consolidate.build_shard(chunk, features)


def test_pickled_features_are_refused(tmp_path: Path) -> None:
    chunk, features = lay_out_join(tmp_path, [LINES[0]], {})
    np.save(features / "000000.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="unreadable"):
        consolidate.build_shard(chunk, features)

"""Consolidate stage: join one chunk's captions with its features into a training shard.

Input: a join of rawdata `/*/(*)` with features `/(*)` on `$1`, so a datum is one chunk file
(`rawdata/<tsv>/<chunk>`) plus the matching `features/<chunk>` directory (tutorial 201's
"shuffle" step). Output `<out>/<chunk>/`:
- `captions.tsv`: `line<TAB>image<TAB>cleaned caption` (`line` as `%06d`, the file stem used by
  every stage; `image` the image's identity from the features stage's `images.tsv`, or
  `<chunk>/<line>` where that file is absent), one row per line that has features, sorted by line;
- `features.npy`: float32 `(n, feature_dim)`, row i belongs to row i of captions.tsv;
- `stats.json`: `{"lines", "kept", "dropped_no_features", "dropped_malformed"}`.

Lines whose image was rejected upstream simply have no `.npy`: they are counted, not errors.
A line is `dropped_malformed` when it is not `caption<TAB>url` or its caption is empty once
cleaned (e.g. only digits and punctuation). A features file that exists but is not a 1-D
numeric vector of the shard's width is an upstream bug, so it fails the datum loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from capstone_cli.protocol import stage_params
from workers import runtime
from workers.features import IMAGE_IDS_FILE
from workers.images import read_chunk

INPUT_NAMES = ("rawdata", "features")
DEFAULT_FEATURE_DIM: int = stage_params.defaults("consolidate")["feature_dim"]
_APOSTROPHES = frozenset("'’`´")


def clean_caption(caption: str) -> str:
    """Lowercase; drop apostrophes (don't -> dont); other punctuation, symbols and digits become
    spaces (black-and-white -> black and white); collapse whitespace; drop 1-letter tokens
    except "a"."""
    characters = []
    for char in caption.lower():
        if char in _APOSTROPHES:
            continue
        characters.append(char if char.isalpha() else " ")
    tokens = "".join(characters).split()
    return " ".join(token for token in tokens if len(token) > 1 or token == "a")


def load_feature(path: Path) -> np.ndarray:
    """One `<line>.npy`: a 1-D float vector, never a pickle."""
    try:
        vector = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"features file {path} is unreadable: {exc}") from exc
    if vector.ndim != 1 or not np.issubdtype(vector.dtype, np.number) or vector.size == 0:
        raise ValueError(
            f"features file {path} has shape {vector.shape} and dtype "
            f"{vector.dtype}; expected a 1-D numeric vector"
        )
    return vector.astype(np.float32, copy=False)


def read_image_ids(features_dir: Path) -> dict[str, str]:
    """`line -> image identity` from the features stage's `images.tsv` ({} where absent)."""
    path = features_dir / IMAGE_IDS_FILE
    if not path.is_file():
        return {}
    ids = {}
    for row in path.read_text(encoding="utf-8").splitlines():
        line, _, digest = row.partition("\t")
        if digest:
            ids[line] = digest
    return ids


def build_shard(
    chunk_file: Path, features_dir: Path, feature_dim: int = DEFAULT_FEATURE_DIM
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """(captions.tsv rows, features matrix, stats) for one chunk."""
    rows: list[str] = []
    vectors: list[np.ndarray] = []
    stats = {"lines": 0, "kept": 0, "dropped_no_features": 0, "dropped_malformed": 0}
    image_ids = read_image_ids(features_dir)
    for line in read_chunk(chunk_file):  # already in line order
        stats["lines"] += 1
        caption = "" if line.malformed else clean_caption(line.caption)
        if not caption:
            stats["dropped_malformed"] += 1
            continue
        feature_path = features_dir / f"{line.stem}.npy"
        if not feature_path.is_file():
            stats["dropped_no_features"] += 1
            continue
        vector = load_feature(feature_path)
        if vectors and vector.shape != vectors[0].shape:
            raise ValueError(
                f"features file {feature_path} has shape {vector.shape}, others "
                f"in the chunk have {vectors[0].shape}"
            )
        image = image_ids.get(line.stem, f"{chunk_file.name}/{line.stem}")
        rows.append(f"{line.stem}\t{image}\t{caption}\n")
        vectors.append(vector)
    stats["kept"] = len(rows)
    matrix = (
        np.stack(vectors) if vectors else np.zeros((0, feature_dim), dtype=np.float32)
    ).astype(np.float32, copy=False)
    return rows, matrix, stats


class Stage:
    """Stateless: each datum is one chunk; params: `feature_dim` (for empty shards only)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.feature_dim = int(stage_params.resolve("consolidate", params)["feature_dim"])

    def process(self, ctx: runtime.DatumContext) -> None:
        chunk_file = ctx.input("rawdata")
        features_dir = ctx.input("features")
        rows, matrix, stats = build_shard(chunk_file, features_dir, self.feature_dim)
        out_dir = ctx.out / chunk_file.name
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "captions.tsv").write_text("".join(rows), encoding="utf-8")
        np.save(out_dir / "features.npy", matrix, allow_pickle=False)
        (out_dir / "stats.json").write_text(
            json.dumps(stats, sort_keys=True) + "\n", encoding="utf-8"
        )
        ctx.log(
            f"chunk {chunk_file.name}: {stats['kept']} of {stats['lines']} lines kept "
            f"({stats['dropped_no_features']} without features, "
            f"{stats['dropped_malformed']} malformed)"
        )


if __name__ == "__main__":
    raise SystemExit(runtime.main(Stage, INPUT_NAMES, description=__doc__ or ""))

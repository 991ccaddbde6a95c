"""The progress file: what the worker writes is what the engine reads; anything else is None."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.protocol.progress import read_progress, write_progress


def test_write_then_read_round_trips_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "progress"
    write_progress(path, 3, 60, "epoch")
    write_progress(path, 4, 60, "epoch")
    assert read_progress(path) == {"done": 4, "total": 60, "unit": "epoch"}
    assert [p.name for p in tmp_path.iterdir()] == ["progress"]


@pytest.mark.parametrize(
    "content",
    [None, "", "{", "[1, 2]", '{"done": 1, "total": 2}', '{"done": "1", "total": 2, "unit": "e"}'],
)
def test_missing_or_malformed_file_is_no_progress(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "progress"
    if content is not None:
        path.write_text(content)
    assert read_progress(path) is None

"""`engine.images`: image references, any-tag and exact-tag mappings, the file under HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.engine import images
from capstone_cli.errors import InvalidNameError, NotFoundError


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ubuntu", ("ubuntu", "")),
        ("ubuntu:20.04", ("ubuntu", "20.04")),
        (
            "pachyderm/example-joins-inner-outer:2.1.0",
            ("pachyderm/example-joins-inner-outer", "2.1.0"),
        ),
        ("localhost:5000/team/img", ("localhost:5000/team/img", "")),
        ("localhost:5000/team/img:v1", ("localhost:5000/team/img", "v1")),
        ("img@sha256:abcd", ("img@sha256:abcd", "")),
    ],
)
def test_split_reference(reference: str, expected: tuple[str, str]) -> None:
    assert images.split_reference(reference) == expected


@pytest.mark.parametrize("bad", ["", "  ", "has space:1", ":tag", "name:"])
def test_bad_references_are_refused(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        images.split_reference(bad)


def test_exact_tag_wins_over_any_tag_and_unmap_without_tag_removes_all(tmp_path: Path) -> None:
    home, any_dir, v1_dir = tmp_path / "home", tmp_path / "any", tmp_path / "v1"
    any_dir.mkdir()
    v1_dir.mkdir()
    images.map_image(home, "img", any_dir)
    images.map_image(home, "img:v1", v1_dir)
    assert images.image_dir(home, "img:v1") == v1_dir
    assert images.image_dir(home, "img:v2") == any_dir
    assert images.image_dir(home, "img") == any_dir
    assert images.image_dir(home, "other:v1") is None
    images.map_image(home, "img:v1", any_dir)  # a new map replaces the old one
    assert [m.directory for m in images.load(home) if m.tag == "v1"] == [str(any_dir)]
    assert len(images.unmap_image(home, "img")) == 2
    assert images.load(home) == []
    assert not list(home.glob(".*.tmp"))  # the temporary file was renamed into place


def test_mapping_a_missing_directory_or_unmapping_an_unknown_image_fails(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="directory not found"):
        images.map_image(tmp_path, "img", tmp_path / "nope")
    with pytest.raises(NotFoundError, match="not mapped"):
        images.unmap_image(tmp_path, "img:v1")
    assert not (tmp_path / images.FILE).exists()  # nothing half-written


@pytest.mark.parametrize(
    ("word", "inside"),
    [
        ("/edges.py", True),  # a file at the image's root, as the Dockerfile COPY'd it
        ("/code/main.py", True),
        ("/missing.py", False),  # not in the image: the host's path
        ("/code", False),  # a directory, not a file
        ("/pfs/edges.py", False),  # /pfs is never the image's
        ("edges.py", False),  # relative: the working directory (DIR) resolves it
        ("-c", False),
    ],
)
def test_image_path_resolves_files_of_the_mapped_directory(
    tmp_path: Path, word: str, inside: bool
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code/main.py").write_text("")
    (tmp_path / "edges.py").write_text("")
    (tmp_path / "pfs").mkdir()
    (tmp_path / "pfs/edges.py").write_text("")
    expected = str(tmp_path / word.lstrip("/")) if inside else word
    assert images.image_path(tmp_path, word) == expected
    assert images.image_path(None, word) == word

"""Streaming TSV split: chunk names, malformed lines, local paths, strict mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.errors import InputError
from capstone_cli.tsv import SplitReport, check_line, split_tsv
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a dog\thttp://x/1.jpg\n", ("a dog", "http://x/1.jpg")),
        (b"a dog\thttp://x/1.jpg\r\n", ("a dog", "http://x/1.jpg")),
        (b"no tab here\n", "no tab between caption and URL"),
        (b"a\tb\tc\n", "3 columns, expected 2 (caption<TAB>url)"),
        (b"\thttp://x/1.jpg\n", "empty caption"),
        (b"a cat\t\n", "empty URL"),
        (b"caf\xe9\thttp://x\n", "not valid UTF-8"),
        (b"x" * (1 << 20) + b"\thttp://x\n", "line longer than 1 MiB"),
        (b"a dog\tHTTPS://X/1.jpg\n", ("a dog", "HTTPS://X/1.jpg")),
        (b"a dog\t/data/1.jpg\n", ("a dog", "/data/1.jpg")),
        (b"a dog\tfile:///data/1.jpg\n", ("a dog", "file:///data/1.jpg")),
        (b"a dog\tftp://x/1.jpg\n", "unsupported URL scheme 'ftp' (use http(s) or a local path)"),
        (b"a dog\thttp://[::1/1.jpg\n", "malformed URL (Invalid IPv6 URL)"),
    ],
)
def test_check_line(raw: bytes, expected: object) -> None:
    assert check_line(raw) == expected


def test_split_real_tutorial_tsv() -> None:
    report = SplitReport()
    chunks = list(split_tsv(REPO_ROOT / "testdata/test.tsv", report=report))
    assert report.lines == 100 and report.good == 100 and report.chunks == 20
    # chunk names: CRC-32 of the file name, then the index (unique across TSVs)
    assert [c.path for c in chunks[:2]] == [
        "/test.tsv/bb33fc9c00000000",
        "/test.tsv/bb33fc9c00000001",
    ]
    assert chunks[-1].path == "/test.tsv/bb33fc9c00000013"
    assert all(c.data is not None and c.data.count(b"\n") == 5 for c in chunks)


def test_malformed_lines_reported_and_skipped(tmp_path: Path) -> None:
    tsv = tmp_path / "data.tsv"
    tsv.write_bytes(b"\xef\xbb\xbfa\thttp://x/1\nbroken\nb\thttp://x/2\r\n\t\nc\thttp://x/3\n")
    report = SplitReport()
    chunks = list(split_tsv(tsv, lines_per_chunk=2, report=report))
    assert report.malformed == [(2, "no tab between caption and URL"), (4, "empty caption")]
    assert [c.data for c in chunks] == [b"a\thttp://x/1\nb\thttp://x/2\n", b"c\thttp://x/3\n"]
    with pytest.raises(InputError, match=r"data.tsv:2: malformed line"):
        list(split_tsv(tsv, strict=True))


def test_local_paths(tmp_path: Path) -> None:
    tsv = tmp_path / "t.tsv"
    tsv.write_text("a red circle\timages/1.png\n")
    (chunk,) = split_tsv(tsv)
    assert chunk.data == f"a red circle\t{tmp_path}/images/1.png\n".encode()
    with pytest.raises(InputError, match="cannot be read by a cluster"):
        list(split_tsv(tsv, allow_local=False))


@pytest.mark.parametrize("content", [b"", b"\n\n", b"only garbage\n"])
def test_no_usable_lines(tmp_path: Path, content: bytes) -> None:
    tsv = tmp_path / "empty.tsv"
    tsv.write_bytes(content)
    with pytest.raises(InputError, match="no usable"):
        list(split_tsv(tsv))


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        list(split_tsv(tmp_path))

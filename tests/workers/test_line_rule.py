"""One TSV line rule: the split (`capstone_cli.tsv.check_line`) and the images stage
(`workers.images.parse_line`) give the same verdict on every line, through
`capstone_cli.protocol.tsv_line.parse_line`."""

from __future__ import annotations

import pytest

from capstone_cli.protocol.tsv_line import MAX_LINE, parse_line
from capstone_cli.tsv import check_line
from workers import images

# (line as the user wrote it, verdict: (caption, url) or why it is malformed)
CASES: list[tuple[bytes, tuple[str, str] | str]] = [
    (b"a dog\thttp://x/a.jpg", ("a dog", "http://x/a.jpg")),
    (b"a dog\thttp://x/a.jpg\r", ("a dog", "http://x/a.jpg")),
    (b" a dog \t http://x/a.jpg ", ("a dog", "http://x/a.jpg")),
    (b"a dog\t/data/a.jpg", ("a dog", "/data/a.jpg")),
    (b"caf\xc3\xa9 au lait\thttp://x/a.jpg", ("café au lait", "http://x/a.jpg")),
    (b"no tab here", "no tab between caption and URL"),
    (b"", "no tab between caption and URL"),
    (b"\thttp://x/a.jpg", "empty caption"),
    (b"   \thttp://x/a.jpg", "empty caption"),
    (b"a dog\t", "empty URL"),
    (b"a dog\t  ", "empty URL"),
    (b"a\tb\tc", "3 columns, expected 2 (caption<TAB>url)"),
    (b"caf\xe9\thttp://x/a.jpg", "not valid UTF-8"),
    (b"x" * MAX_LINE + b"\thttp://x", "line longer than 1 MiB"),
]


@pytest.mark.parametrize(("raw", "verdict"), CASES)
def test_split_and_images_stage_agree(raw: bytes, verdict: tuple[str, str] | str) -> None:
    assert parse_line(raw) == verdict
    assert check_line(raw + b"\n") == verdict  # the split reads lines with their newline
    line = images.parse_line(3, raw)  # the images stage reads a chunk split on newlines
    if isinstance(verdict, str):
        assert (line.malformed, line.problem, line.caption, line.url) == (True, verdict, "", "")
    else:
        assert (line.malformed, (line.caption, line.url)) == (False, verdict)


def test_an_unfetchable_scheme_is_refused_by_the_split_and_rejected_by_the_stage() -> None:
    """Not the line's shape: the split refuses it up front, the stage records a reject."""
    raw = b"a dog\tftp://x/a.jpg"
    assert check_line(raw) == "unsupported URL scheme 'ftp' (use http(s) or a local path)"
    assert not images.parse_line(0, raw).malformed

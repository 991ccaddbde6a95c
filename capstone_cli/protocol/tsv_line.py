"""The rule for one line of a caption TSV, shared by the split and the images stage.

`capstone train` splits the user's TSV into chunks (`capstone_cli.tsv`), and the images stage
reads the chunks back (`workers.images`); a chunk may also be put into `rawdata` by hand, so
both sides parse a line with this one function and agree on what is malformed: bad UTF-8, no
tab or more than one, an empty caption or URL (after trimming spaces), a line over 1 MiB.
Whether the URL's scheme can be fetched is not part of the line's shape: the split refuses
such a line up front, the images stage records it as an `unsupported_scheme` reject.
"""

from __future__ import annotations

MAX_LINE = 1 << 20  # a caption line longer than 1 MiB is malformed


def parse_line(raw: bytes) -> tuple[str, str] | str:
    """(caption, url) of a well-formed `caption<TAB>url` line, or why it is malformed.

    A trailing newline or carriage return is ignored; spaces around each field are trimmed.
    """
    if len(raw) > MAX_LINE:
        return "line longer than 1 MiB"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    text = text.rstrip("\r\n")
    if "\t" not in text:
        return "no tab between caption and URL"
    parts = text.split("\t")
    if len(parts) != 2:
        return f"{len(parts)} columns, expected 2 (caption<TAB>url)"
    caption, url = parts[0].strip(), parts[1].strip()
    if not caption:
        return "empty caption"
    if not url:
        return "empty URL"
    return caption, url

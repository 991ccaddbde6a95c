"""What a file looks like in the browser: chosen from its name and its first bytes.

The dashboard reads at most `read_limit(path)` bytes of a file (a 2 GiB upload must not be
pulled into memory to show a page): `PREVIEW_CAP`, or `H5_CAP` for HDF5, which can only be read
whole. A larger file is shown truncated (text, tables) or not at all (images, HDF5), with a
message and the raw download link. `.npy` needs only its header, which
is parsed here (the format is a magic string, a version and a Python-literal dict), so the
dashboard does not import numpy; `.h5` needs h5py, used only when it is installed.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any

PREVIEW_CAP = 1 << 20  # bytes read for a preview
H5_CAP = 64 << 20  # HDF5 needs the whole file: a trained saved_model.h5 is tens of MiB
H5_SUFFIXES = {".h5", ".hdf5", ".keras"}
TABLE_ROWS = 500
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
TEXT_SUFFIXES = {".txt", ".md", ".py", ".yaml", ".yml", ".log", ".csv", ".cfg", ".toml", ""}


@dataclass
class Preview:
    kind: str  # table | json | text | image | npy | h5 | binary | too_large
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value) summaries
    mime: str = ""
    note: str = ""  # truncation or "not available" message


def suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def media_type(path: str) -> str:
    """The Content-Type of a raw download."""
    s = suffix(path)
    if s in IMAGE_TYPES:
        return IMAGE_TYPES[s]
    if s == ".json":
        return "application/json"
    if s in TEXT_SUFFIXES or s == ".tsv":
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def is_tsv_chunk(path: str, head: bytes) -> bool:
    """A `.tsv` file, or a rawdata chunk (`test.tsv/<hex>`): tab-separated text lines."""
    parent = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""
    return suffix(path) == ".tsv" or (parent.endswith(".tsv") and b"\t" in head[:4096])


def read_limit(path: str) -> int:
    """How many bytes of the file at `path` a preview reads."""
    return H5_CAP if suffix(path) in H5_SUFFIXES else PREVIEW_CAP


def make_preview(path: str, head: bytes, size: int) -> Preview:
    """The preview of a file of `size` bytes whose first bytes (at most PREVIEW_CAP) are `head`."""
    s = suffix(path)
    truncated = size > len(head)
    note = f"Showing the first {len(head):,} of {size:,} bytes." if truncated else ""
    if s in IMAGE_TYPES:
        if truncated:
            return _too_large(size)
        return Preview("image", mime=IMAGE_TYPES[s])
    if s == ".npy":
        return npy_preview(head)
    if s in H5_SUFFIXES:
        return _too_large(size, H5_CAP) if truncated else h5_preview(head)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        if not truncated:
            return Preview("binary", note="Binary content: use the raw download.")
        text = head.decode("utf-8", errors="ignore")  # cut inside a multi-byte character
    if is_tsv_chunk(path, head):
        lines = text.splitlines()[:TABLE_ROWS]
        if len(lines) == TABLE_ROWS:
            note = note or f"Showing the first {TABLE_ROWS} lines."
        return Preview("table", rows=[line.split("\t") for line in lines], note=note)
    if s == ".csv":
        rows = list(csv.reader(io.StringIO(text)))[:TABLE_ROWS]
        return Preview("table", rows=rows, note=note)
    if s == ".json" and not truncated:
        try:
            return Preview("json", text=json.dumps(json.loads(text), indent=2))
        except ValueError:
            note = "Not valid JSON: shown as text."
    return Preview("text", text=text, note=note)


def _too_large(size: int, cap: int = PREVIEW_CAP) -> Preview:
    return Preview(
        "too_large",
        note=f"Too large to preview ({size:,} bytes; the limit is {cap:,}): use the raw download.",
    )


def parse_npy_header(head: bytes) -> dict[str, Any]:
    """The header dict of a .npy file (`descr`, `fortran_order`, `shape`), without numpy.

    Format: b"\\x93NUMPY", major, minor, a little-endian header length (2 bytes in version 1,
    4 in versions 2 and 3), then a Python dict literal padded with spaces.
    """
    if head[:6] != b"\x93NUMPY" or len(head) < 10:
        raise ValueError("not a .npy file (no \\x93NUMPY magic)")
    major = head[6]
    if major == 1:
        (length,), start = struct.unpack("<H", head[8:10]), 10
    elif major in (2, 3):
        (length,), start = struct.unpack("<I", head[8:12]), 12
    else:
        raise ValueError(f"unknown .npy format version {major}")
    encoding = "utf-8" if major == 3 else "latin-1"
    header = ast.literal_eval(head[start : start + length].decode(encoding))
    if not isinstance(header, dict) or not {"descr", "shape"} <= header.keys():
        raise ValueError("malformed .npy header")
    return header


def npy_preview(head: bytes) -> Preview:
    try:
        h = parse_npy_header(head)
    except (ValueError, SyntaxError) as exc:
        return Preview("binary", note=f"Cannot read the .npy header: {exc}")
    shape = tuple(h["shape"])
    count = 1
    for n in shape:
        count *= int(n)
    return Preview(
        "npy",
        facts=[
            ("shape", str(shape)),
            ("dtype", str(h["descr"])),
            ("elements", f"{count:,}"),
            ("order", "Fortran" if h.get("fortran_order") else "C"),
        ],
    )


def h5_preview(data: bytes) -> Preview:
    """Datasets of an HDF5 file (path, shape, dtype) when h5py is installed."""
    try:
        import h5py  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return Preview("h5", note="h5py is not installed, so the layer summary is not available.")
    facts: list[tuple[str, str]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            facts.append((name, f"shape {tuple(obj.shape)}, dtype {obj.dtype}"))

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            f.visititems(visit)
    except OSError as exc:
        return Preview("binary", note=f"Cannot read as HDF5: {exc}")
    return Preview("h5", facts=facts, note="" if facts else "No datasets in this file.")

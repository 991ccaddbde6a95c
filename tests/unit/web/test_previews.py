"""File previews: chosen by name and first bytes, with a size cap; .npy read without numpy."""

from __future__ import annotations

import io
import json

import pytest

from capstone_cli.web.previews import PREVIEW_CAP, make_preview, parse_npy_header
from tests.uistore import PNG

np = pytest.importorskip("numpy")  # only to write real .npy files; the parser does not use it


@pytest.mark.parametrize(
    ("array", "shape", "dtype"),
    [
        (np.zeros((3, 4), dtype="<f4"), (3, 4), "<f4"),
        (np.arange(5, dtype=">i8"), (5,), ">i8"),
        (np.zeros((0, 2048), dtype="<f2"), (0, 2048), "<f2"),
        (np.array(3.5), (), "<f8"),
    ],
)
def test_npy_header_matches_numpy(array: object, shape: tuple[int, ...], dtype: str) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    header = parse_npy_header(buf.getvalue()[:256])
    assert (tuple(header["shape"]), header["descr"]) == (shape, dtype)
    preview = make_preview("/features/x.npy", buf.getvalue()[:256], len(buf.getvalue()))
    assert preview.kind == "npy" and ("shape", str(shape)) in preview.facts


def test_npy_version_2_header() -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones((2, 2)), version=(2, 0))
    assert parse_npy_header(buf.getvalue())["shape"] == (2, 2)


def test_not_npy() -> None:
    preview = make_preview("/x.npy", b"hello", 5)
    assert preview.kind == "binary" and "magic" in preview.note


@pytest.mark.parametrize(
    ("path", "data", "kind"),
    [
        ("/test.tsv/0000000000000000", b"a cat\thttp://x/1.jpg\n", "table"),
        ("/rejects.tsv", b"3\thttp://x\ttimeout\n", "table"),
        ("/m.json", json.dumps({"bleu": 1}).encode(), "json"),
        ("/m.json", b"{not json", "text"),
        ("/caption.txt", "un café".encode(), "text"),
        ("/image.png", PNG, "image"),
        ("/blob.bin", b"\xff\xfe\x00\x81", "binary"),
    ],
)
def test_kinds(path: str, data: bytes, kind: str) -> None:
    assert make_preview(path, data, len(data)).kind == kind


def test_tsv_rows_split_on_tabs() -> None:
    preview = make_preview("/test.tsv/01", b"a cat\thttp://x/1.jpg\nb dog\thttp://x/2\n", 36)
    assert preview.rows == [["a cat", "http://x/1.jpg"], ["b dog", "http://x/2"]]


def test_size_cap() -> None:
    head = b"x" * PREVIEW_CAP
    text = make_preview("/big.txt", head, 5 * PREVIEW_CAP)
    assert text.kind == "text" and f"{5 * PREVIEW_CAP:,}" in text.note
    image = make_preview("/big.png", PNG[:10], 5 * PREVIEW_CAP)
    assert image.kind == "too_large" and "raw download" in image.note


def test_h5_layer_summary() -> None:
    h5py = pytest.importorskip("h5py")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("model_weights/dense/kernel", data=np.zeros((4, 3), dtype="f4"))
    data = buf.getvalue()
    preview = make_preview("/saved/saved_model.h5", data, len(data))
    assert preview.kind == "h5"
    assert ("model_weights/dense/kernel", "shape (4, 3), dtype float32") in preview.facts

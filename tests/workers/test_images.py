"""The images stage and workers.imaging: hostile and odd images, served over real HTTP.

The stage runs on a chunk laid out as Pachyderm mounts it (`rawdata/test.tsv/<chunk>`, `$rawdata`
pointing at the file), in-process through `runtime.main` and once as `python -m workers.images`.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workers.httpserver import Route, RouteServer
from tests.workers.stagerun import run_stage_process
from workers import images, runtime
from workers.imaging import PixelBudget, process_image

SIZE = 32
PARAMS = {
    "image_size": SIZE,
    "connect_timeout": 1,
    "read_timeout": 0.3,
    "max_bytes": 200_000,
    "max_redirects": 3,
    "retries": 2,
    "backoff": 0.01,
    "concurrency": 8,
}


# ---- image fabrication (in memory, tiny) ----


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def solid(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Image.Image:
    return Image.new("RGB", size, color)


def noisy_jpeg(size: tuple[int, int] = (200, 160), seed: int = 0) -> bytes:
    """A JPEG big enough that cutting it in half leaves the scan truncated."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=90)


def truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]


def cmyk_jpeg(color: tuple[int, int, int, int] = (0, 255, 255, 0)) -> bytes:
    """Pure red in CMYK (no cyan, full magenta and yellow)."""
    return encode(Image.new("CMYK", (32, 32), color), "JPEG", quality=95)


def png16(level: int = 32768) -> bytes:
    """A 16-bit greyscale PNG, every pixel `level` of 65535."""
    pixels = np.full((20, 30), level, dtype=np.uint16)
    return encode(Image.fromarray(pixels), "PNG")


def animated_gif(first: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """Two frames: `first`, then blue. Only the first frame must be used."""
    frames = [solid(first, (24, 24)), solid((0, 0, 255), (24, 24))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def palette_png_with_transparency() -> bytes:
    """A palette PNG whose index 0 (black) is transparent: it must come out white."""
    image = Image.new("P", (16, 16), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    return encode(image, "PNG", transparency=0)


def rotated_jpeg() -> bytes:
    """A landscape 40x20 JPEG tagged EXIF orientation 6 (display rotated 90 degrees: portrait)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(solid((0, 200, 0), (40, 20)), "JPEG", exif=exif.tobytes(), quality=95)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header claiming width x height RGB pixels, with one row of data (~100 bytes).

    Decoding it would allocate width*height*3 bytes; only reading the header must be safe.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\x00" + b"\x00" * (width * 3), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", row)
        + _png_chunk(b"IEND", b"")
    )


HTML_PAGE = b"<!DOCTYPE html><html><body>Image not found</body></html>"


def rgb_at(png: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (SIZE, SIZE))
        pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def close_to(actual: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


# ---- imaging: decode, convert, fit ----

CENTER, CORNER, TOP_MIDDLE = (SIZE // 2, SIZE // 2), (0, 0), (SIZE // 2, 0)


@pytest.mark.parametrize(
    ("name", "data", "probes"),
    [
        ("png", encode(solid((10, 20, 200)), "PNG"), {CENTER: (10, 20, 200), CORNER: (0, 0, 0)}),
        ("jpeg", encode(solid((200, 30, 30)), "JPEG", quality=95), {CENTER: (200, 30, 30)}),
        ("cmyk jpeg", cmyk_jpeg(), {CENTER: (255, 0, 0), CORNER: (255, 0, 0)}),
        ("16-bit png", png16(32768), {CENTER: (128, 128, 128)}),
        ("animated gif: first frame", animated_gif(), {CENTER: (255, 0, 0)}),
        ("palette + transparency", palette_png_with_transparency(), {CENTER: (255, 255, 255)}),
        # 40x20 landscape turned portrait by EXIF: bars left and right, not top and bottom
        ("exif orientation", rotated_jpeg(), {TOP_MIDDLE: (0, 200, 0), CORNER: (0, 0, 0)}),
        ("webp", encode(solid((0, 0, 250)), "WEBP", lossless=True), {CENTER: (0, 0, 250)}),
        ("bmp", encode(solid((9, 99, 199)), "BMP"), {CENTER: (9, 99, 199)}),
    ],
)
def test_decodes_to_a_square_rgb_png(
    name: str, data: bytes, probes: dict[tuple[int, int], tuple[int, int, int]]
) -> None:
    result = process_image(data, SIZE)
    assert result.png is not None, (name, result.detail)
    for xy, expected in probes.items():
        assert close_to(rgb_at(result.png, xy), expected), (name, xy)


def test_letterbox_keeps_the_aspect_ratio() -> None:
    result = process_image(encode(solid((255, 255, 255), (64, 32)), "PNG"), SIZE)
    assert result.png is not None
    with Image.open(io.BytesIO(result.png)) as image:
        rows = np.asarray(image)[:, SIZE // 2, 0]
    assert (
        list(rows[:8]) == [0] * 8 and list(rows[8:24]) == [255] * 16 and list(rows[24:]) == [0] * 8
    )


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("zero bytes", b"", "not_an_image"),
        ("html page", HTML_PAGE, "not_an_image"),
        ("truncated jpeg", truncated_jpeg(), "decode_error"),
        ("png header only", bomb_png(64, 64)[:33], "decode_error"),
        ("30000 x 30000 png", bomb_png(), "too_many_pixels"),
        ("8000 x 8000 png, under Pillow's own limit", bomb_png(8000, 8000), "too_many_pixels"),
    ],
)
def test_bad_bytes_are_reason_codes(name: str, data: bytes, reason: str) -> None:
    assert process_image(data, SIZE).reason == reason, name


def test_the_pixel_check_happens_before_decoding() -> None:
    process_image(bomb_png(), SIZE, max_pixels=10**12)  # even past our limit: Pillow's guard
    process_image(bomb_png(8000, 8000), SIZE)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mib < 1500  # decoding either would need 192 MB to 2.7 GB of pixels


def test_the_pixel_budget_is_shared_by_the_decoding_threads() -> None:
    """Eight threads, images of 60 pixels, a budget of 100: one decodes at a time."""
    budget = PixelBudget(100)
    lock = threading.Lock()
    holding = [0, 0]  # now, most at once

    def decode() -> None:
        with budget.hold(60):
            with lock:
                holding[0] += 1
                holding[1] = max(holding[1], holding[0])
            time.sleep(0.01)  # a decode in progress
            with lock:
                holding[0] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: decode(), range(16)))
    assert holding == [0, 1]
    with budget.hold(10**9):  # larger than the whole budget: runs alone, never waits forever
        pass


def test_a_chunk_of_images_larger_than_the_budget_is_decoded_one_by_one(tmp_path: Path) -> None:
    files = []
    for i in range(4):
        path = tmp_path / f"big{i}.png"
        path.write_bytes(encode(solid((i * 60, 0, 0), (900, 700)), "PNG"))
        files.append(path)
    chunk = tmp_path / "chunk"
    chunk.write_text("".join(f"big {i}\t{p}\n" for i, p in enumerate(files)))
    stage = images.Stage({**PARAMS, "pixels_in_flight": 500_000})  # less than one image
    assert stage.budget.total == 500_000
    out = tmp_path / "out"
    stage.process(runtime.DatumContext(out=out, inputs={"rawdata": chunk}, params={}))
    assert sorted(p.name for p in (out / "chunk").iterdir()) == [f"{i:06d}.png" for i in range(4)]


def test_extension_is_never_trusted() -> None:
    assert process_image(encode(solid((0, 255, 0)), "PNG"), SIZE).source_format == "PNG"
    assert process_image(encode(solid((0, 255, 0)), "JPEG"), SIZE).source_format == "JPEG"


# ---- parsing a chunk ----


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a dog\thttp://x/a.jpg", ("a dog", "http://x/a.jpg", False)),
        (b"a dog\thttp://x/a.jpg\r", ("a dog", "http://x/a.jpg", False)),
        (b" a dog \t http://x/a.jpg ", ("a dog", "http://x/a.jpg", False)),
        (b"no tab here", ("", "", True)),
        (b"\thttp://x/a.jpg", ("", "", True)),
        (b"a dog\t", ("", "", True)),
        (b"a\tb\tc", ("", "", True)),
        (b"", ("", "", True)),
        (b"caf\xe9\thttp://x/a.jpg", ("", "", True)),
    ],
)
def test_parse_line(raw: bytes, expected: tuple[str, str, bool]) -> None:
    line = images.parse_line(7, raw)
    assert (line.caption, line.url, line.malformed) == expected
    assert line.stem == "000007"


def test_summary_line() -> None:
    line = images.parse_line(0, b"x")
    rejects = [
        images.LineOutcome(line, "http_404"),
        images.LineOutcome(line, "timeout"),
        images.LineOutcome(line, "http_404"),
    ]
    assert images.summary_line("c", 4, rejects[:1]) == "chunk c: 4 images, 1 reject (http_404)"
    assert images.summary_line("c", 1, rejects) == (
        "chunk c: 1 image, 3 rejects (http_404 x2, timeout)"
    )
    assert images.summary_line("c", 2, []) == "chunk c: 2 images, 0 rejects"


# ---- the stage, end to end over real HTTP ----


@pytest.fixture(scope="module")
def server() -> Iterator[RouteServer]:
    with RouteServer() as running:
        yield running


def build_chunk(server: RouteServer, data_root: Path) -> tuple[list[str], dict[int, str]]:
    """Chunk lines, and the expected reason per line ('' = a PNG is written)."""
    (data_root / "images").mkdir(parents=True, exist_ok=True)
    (data_root / "images" / "local.png").write_bytes(encode(solid((1, 2, 3)), "PNG"))
    add = server.add
    cases: list[tuple[str, str]] = [
        (add("/good.jpg", Route(body=noisy_jpeg(), content_type="image/jpeg")), ""),
        (
            add(
                "/png-named.jpg",
                Route(body=encode(solid((0, 0, 255)), "PNG"), content_type="image/jpeg"),
            ),
            "",
        ),
        (add("/missing.jpg", Route(status=404)), "http_404"),
        (add("/slow.jpg", Route(body=noisy_jpeg(), delay=1.0)), "timeout"),
        (add("/truncated.jpg", Route(body=truncated_jpeg())), "decode_error"),
        (add("/page.jpg", Route(body=HTML_PAGE, content_type="text/html")), "not_an_image"),
        (add("/bomb.png", Route(body=bomb_png())), "too_many_pixels"),
        (add("/loop1.jpg", Route.redirect("/loop2.jpg")), "too_many_redirects"),
        (add("/loop2.jpg", Route.redirect("/loop1.jpg")), "too_many_redirects"),
        (add("/ftp.jpg", Route.redirect("ftp://example.com/a.jpg")), "redirect_scheme"),
        (add("/huge.jpg", Route(body=b"\xff\xd8" + b"\0" * 300_000)), "too_large"),
        (add("/flaky.jpg", Route(body=cmyk_jpeg(), fail_times=1, fail_status=503)), ""),
        (add("/reset.jpg", Route(reset=True)), "connection"),
        (add("/empty.jpg", Route(body=b"")), "not_an_image"),
        (add("/cmyk.jpg", Route(body=cmyk_jpeg())), ""),
        (add("/16bit.png", Route(body=png16())), ""),
        (add("/anim.gif", Route(body=animated_gif())), ""),
        ("ftp://example.com/a.jpg", "unsupported_scheme"),
        ("images/local.png", ""),
    ]
    lines = [f"caption number {index}\t{url}" for index, (url, _) in enumerate(cases)]
    expected = {index: reason for index, (_, reason) in enumerate(cases)}
    lines += ["a line without a tab", f"\t{server.url('/good.jpg')}"]
    expected |= {len(cases): "malformed_line", len(cases) + 1: "malformed_line"}
    return lines, expected


def lay_out_chunk(root: Path, lines: list[str]) -> Path:
    chunk = root / "pfs" / "rawdata" / "test.tsv" / "0000000000000000"
    chunk.parent.mkdir(parents=True)
    chunk.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return chunk


def read_rejects(chunk_out: Path) -> dict[int, str]:
    rows = (chunk_out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    return {int(row.split("\t")[0]): row.split("\t")[2] for row in rows}


def assert_stage_output(chunk_out: Path, expected: dict[int, str]) -> None:
    pngs = sorted(path.name for path in chunk_out.glob("*.png"))
    assert pngs == [f"{index:06d}.png" for index, reason in expected.items() if not reason]
    assert read_rejects(chunk_out) == {index: r for index, r in expected.items() if r}
    for name in pngs:
        with Image.open(chunk_out / name) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (SIZE, SIZE))


def test_stage_in_process(
    server: RouteServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines, expected = build_chunk(server, tmp_path / "data")
    chunk = lay_out_chunk(tmp_path, lines)
    monkeypatch.setenv("rawdata", str(chunk))
    monkeypatch.setenv("CAPSTONE_DATA_ROOT", str(tmp_path / "data"))
    out = tmp_path / "out"
    assert (
        runtime.main(
            images.Stage, images.INPUT_NAMES, ["--out", str(out), "--params", json.dumps(PARAMS)]
        )
        == 0
    )
    assert_stage_output(out / chunk.name, expected)
    kept = sum(1 for reason in expected.values() if not reason)
    assert f"chunk {chunk.name}: {kept} images, {len(expected) - kept} rejects (" in (
        capsys.readouterr().out
    )
    rejects_text = (out / chunk.name / "rejects.tsv").read_text(encoding="utf-8")
    assert "000019\ta line without a tab\tmalformed_line\n" in rejects_text


def test_stage_as_a_subprocess(server: RouteServer, tmp_path: Path) -> None:
    lines = [
        f"a good one\t{server.add('/sub-good.jpg', Route(body=noisy_jpeg()))}",
        f"a missing one\t{server.add('/sub-missing.jpg', Route(status=404))}",
        "broken",
    ]
    chunk = lay_out_chunk(tmp_path, lines)
    inputs = {"rawdata": str(chunk), "CAPSTONE_PARAMS": json.dumps(PARAMS)}
    done = run_stage_process("images", tmp_path / "o", inputs)
    assert done.returncode == 0, done.stderr
    assert f"chunk {chunk.name}: 1 image, 2 rejects (http_404, malformed_line)" in done.stdout
    assert_stage_output(tmp_path / "o" / chunk.name, {0: "", 1: "http_404", 2: "malformed_line"})


def test_empty_chunk_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = lay_out_chunk(tmp_path, [])
    monkeypatch.setenv("rawdata", str(chunk))
    out = tmp_path / "out"
    runtime.main(images.Stage, images.INPUT_NAMES, ["--out", str(out), "--params", "{}"])
    assert list(out.iterdir()) == []


def test_all_good_chunk_has_no_rejects_file(
    server: RouteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.add("/all-good.png", Route(body=encode(solid((5, 5, 5)), "PNG")))
    chunk = lay_out_chunk(tmp_path, [f"one\t{url}", f"two\t{url}"])
    monkeypatch.setenv("rawdata", str(chunk))
    out = tmp_path / "out"
    runtime.main(
        images.Stage, images.INPUT_NAMES, ["--out", str(out), "--params", '{"image_size": 8}']
    )
    assert sorted(path.name for path in (out / chunk.name).iterdir()) == [
        "000000.png",
        "000001.png",
    ]


@pytest.mark.parametrize("bad", [{"image_size": 0}, {"concurrency": 0}, {"read_timeout": "x"}])
def test_bad_params_fail_before_any_datum(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        images.Stage(bad)

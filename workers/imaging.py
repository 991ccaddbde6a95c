"""Decode untrusted image bytes into a square RGB PNG of `image_size` pixels.

Web images lie: PNGs are named .jpg, error pages are served as image/jpeg, files are cut short,
and a few-kB PNG can claim 30,000 x 30,000 pixels (3.6 GB once decoded). So the format comes
from the content (Pillow sniffs the magic bytes; the URL's extension is never looked at), the
pixel count is checked right after `Image.open` (which reads only the header) and before any
pixel is decoded, and every failure is a reason code, not an exception.

Speed (reference/measurements.md section 5): decode + resize + PNG encode is the whole cost of
the images stage (fetching on loopback is ~1 ms). `draft()` lets libjpeg downscale in the DCT
domain (+45%), and PNG `compress_level=1` makes encoding several times cheaper than the default.
Pillow releases the GIL in decode/resize/encode, so threads scale over cores.
"""

from __future__ import annotations

import ctypes
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
from PIL import (  # the accepted formats' plugins, registered without importing all of them
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    ImageOps,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from capstone_cli.protocol import stage_params
from capstone_cli.protocol.signatures import has_image_signature

# Formats a captioning dataset realistically holds; anything else (HTML, PDF, SVG, ...) is
# `not_an_image`. (Multi-picture camera JPEGs open through the JPEG entry, as format "MPO".)
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
DEFAULT_MAX_PIXELS: int = stage_params.defaults("images")["max_pixels"]
PAD_COLOR = (0, 0, 0)  # letterbox bars, as in tutorial 201's resize-and-pad
BACKGROUND = (255, 255, 255)  # what transparent pixels become
PNG_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class ImageResult:
    """`png` (the encoded square image) or a reason code plus detail."""

    png: bytes | None = None
    reason: str = ""
    detail: str = ""
    source_size: tuple[int, int] = (0, 0)
    source_format: str = ""

    @property
    def ok(self) -> bool:
        return self.png is not None


class ImageRejected(Exception):
    """Internal: the bytes cannot become a training image; `reason` is the rejects.tsv code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def open_checked(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open (header only) and refuse non-images and decompression bombs before decoding."""
    if not data:
        raise ImageRejected("not_an_image", "empty body")
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from None
    except UnidentifiedImageError:
        if has_image_signature(data):  # an image whose header Pillow could not parse
            raise ImageRejected("decode_error", f"corrupt header {data[:16]!r}") from None
        raise ImageRejected("not_an_image", f"unrecognised content {data[:16]!r}") from None
    except Exception as exc:  # a recognised format whose header is broken
        raise ImageRejected("decode_error", f"{type(exc).__name__}: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageRejected("decode_error", f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise ImageRejected("too_many_pixels", f"{width}x{height} > max_pixels {max_pixels}")
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: alpha over white, 16-bit scaled (not clipped), CMYK inverted
    correctly by Pillow's converter, palettes expanded."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image).astype(np.float32)
        top = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        scaled = np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    if mode == "F":
        scaled = np.clip(np.asarray(image), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if mode == "RGB" else image.convert("RGB")


def fit_square(image: Image.Image, size: int) -> Image.Image:
    """Resize keeping the aspect ratio so the longer side is `size`, then pad to a square."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new_size != image.size:
        image = image.resize(new_size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    if new_size == (size, size):
        return image
    canvas = Image.new("RGB", (size, size), PAD_COLOR)
    canvas.paste(image, ((size - new_size[0]) // 2, (size - new_size[1]) // 2))
    return canvas


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def decode_to_square(image: Image.Image, size: int) -> Image.Image:
    """Decode an opened image (first frame only) into the square RGB training image."""
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", (size, size))  # DCT-domain downscale; keeps both sides >= size
    image.load()  # truncated data fails here, as OSError
    ImageOps.exif_transpose(image, in_place=True)  # in place: no copy when upright
    return fit_square(to_rgb(image), size)


def release_large_blocks_to_the_os() -> None:
    """Make glibc map every allocation of 1 MiB or more on its own (`M_MMAP_THRESHOLD`).

    Otherwise a decoded image's memory, once freed, stays in the heap arena of the thread that
    decoded it: with sixteen threads the process keeps sixteen images' worth of memory even
    when the pixel budget lets one decode at a time. Mapped blocks go back at `free`. A no-op
    without glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


class PixelBudget:
    """Pixels the decoding threads of one process may hold decoded at once.

    Concurrency alone does not bound memory: sixteen threads each decoding a 7000x7000 PNG
    (under `max_pixels`) hold 16 x 147 MB before the first resize. A thread takes an image's
    pixel count from the budget after reading its header and gives it back once the image is
    resized; an image larger than the whole budget waits until it can run alone.
    """

    def __init__(self, pixels: int) -> None:
        self.total = pixels
        self._free = pixels
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        need = min(pixels, self.total)
        with self._cond:
            self._cond.wait_for(lambda: self._free >= need)
            self._free -= need
        try:
            yield
        finally:
            with self._cond:
                self._free += need
                self._cond.notify_all()


def process_image(
    data: bytes,
    image_size: int = 224,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    budget: PixelBudget | None = None,
) -> ImageResult:
    """Bytes in, a square PNG or a reason code out. Never raises for bad input."""
    try:
        image = open_checked(data, max_pixels)
    except ImageRejected as rejected:
        return ImageResult(reason=rejected.reason, detail=rejected.detail)
    source_size, source_format = image.size, image.format or ""
    held = budget.hold(source_size[0] * source_size[1]) if budget else nullcontext()
    try:
        with held, image:
            square = decode_to_square(image, image_size)
        return ImageResult(
            png=encode_png(square), source_size=source_size, source_format=source_format
        )
    except Image.DecompressionBombError as exc:
        return ImageResult(reason="too_many_pixels", detail=str(exc))
    except MemoryError:
        return ImageResult(reason="too_many_pixels", detail="out of memory while decoding")
    except Exception as exc:  # truncated, corrupt, unsupported sub-format: one line, not the datum
        return ImageResult(
            reason="decode_error",
            detail=f"{type(exc).__name__}: {exc}",
            source_size=source_size,
            source_format=source_format,
        )

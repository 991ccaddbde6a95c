"""The first bytes of the image formats the workers decode, with no imports.

Shared by the images stage (to tell a corrupt image from something that is not an image) and
`capstone predict` (to refuse an empty file or an HTML page saved as .jpg before uploading),
which must not import Pillow or NumPy on the CLI's path.
"""

from __future__ import annotations

IMAGE_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)


def has_image_signature(data: bytes) -> bool:
    """Whether the bytes start like an accepted format (WEBP is RIFF....WEBP)."""
    is_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return is_webp or data.startswith(IMAGE_SIGNATURES)

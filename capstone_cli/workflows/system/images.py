"""Image -> code directory mappings (`capstone image map|list|unmap`), kept under CAPSTONE_HOME.

A thin library face of `engine.images`: the embedded engine reads the same file when it starts
a job, to run `transform.cmd` from the mapped directory as the image's WORKDIR.
"""

from __future__ import annotations

from pathlib import Path

from capstone_cli.engine import images
from capstone_cli.engine.images import ImageMapping

__all__ = ["ImageMapping", "list_images", "map_image", "unmap_image"]


def map_image(home: Path, reference: str, directory: Path) -> ImageMapping:
    """Say that `reference` (IMAGE or IMAGE:TAG; no tag: every tag) has its code in `directory`."""
    return images.map_image(home, reference, directory)


def unmap_image(home: Path, reference: str) -> list[ImageMapping]:
    """Forget IMAGE:TAG, or every mapping of IMAGE when no tag is given."""
    return images.unmap_image(home, reference)


def list_images(home: Path) -> list[ImageMapping]:
    return images.load(home)

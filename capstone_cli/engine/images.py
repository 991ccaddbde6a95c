"""Where an image's code lives: `transform.image` -> a local directory (its WORKDIR).

A Pachyderm pipeline's `cmd` runs inside its image, from the image's WORKDIR, so published
specs say `"cmd": ["python", "inner/main.py"]`. Here there are no images: `capstone image map
IMAGE[:TAG] DIR` records that DIR holds the image's code, and a datum of a pipeline whose image
is mapped runs with DIR as its working directory (`transform.working_dir`, when set, wins, as
it overrides WORKDIR in Pachyderm). Unmapped images run from the runner's directory, as before.

Published specs also name files at the image's root (`"cmd": ["python3", "/edges.py"]`, the
file COPY'd to `/` by its Dockerfile). DIR stands for the image's filesystem, but only for the
files it has: a `cmd` word that is an absolute path, outside `/pfs`, naming a regular file that
exists at the same path under DIR (`DIR/edges.py`) is that file (`image_path`). Every other path
is the host's (the image's own python, shell and libraries are the host's here), and code that
builds such paths itself does not see DIR: only whole `cmd` words are resolved.

The map is one small JSON file under CAPSTONE_HOME, replaced atomically (write a temporary file,
fsync, rename): a crash leaves the old map or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.errors import InvalidNameError, NotFoundError

FILE = "images.json"
ANY_TAG = ""


@dataclass(frozen=True)
class ImageMapping:
    image: str
    tag: str  # ANY_TAG: every tag of the image
    directory: str

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}" if self.tag else self.image

    def to_json(self) -> dict[str, str | None]:
        return {"image": self.image, "tag": self.tag or None, "dir": self.directory}


def split_reference(reference: str) -> tuple[str, str]:
    """`name[:tag]` -> (name, tag); a `:` before the last `/` is a registry port, not a tag.
    A digest (`name@sha256:...`) is kept whole as the name."""
    ref = reference.strip()
    if not ref or any(c.isspace() for c in ref):
        raise InvalidNameError(
            f"invalid image reference {reference!r}",
            hint="write it as in transform.image, e.g. pachyderm/example-joins-inner-outer:2.1.0",
        )
    if "@" in ref:
        return ref, ANY_TAG
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, ANY_TAG
    if not name or not tag:
        raise InvalidNameError(
            f"invalid image reference {reference!r}", hint="write IMAGE or IMAGE:TAG"
        )
    return name, tag


def load(home: Path) -> list[ImageMapping]:
    try:
        raw = json.loads((home / FILE).read_text())
    except FileNotFoundError:
        return []
    return [ImageMapping(m["image"], m["tag"] or ANY_TAG, m["dir"]) for m in raw["images"]]


def _save(home: Path, mappings: list[ImageMapping]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    data = {"images": [m.to_json() for m in sorted(mappings, key=lambda m: (m.image, m.tag))]}
    tmp = home / f".{FILE}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, home / FILE)


def map_image(home: Path, reference: str, directory: Path) -> ImageMapping:
    """Record (or replace) the directory of `reference`; the directory must exist."""
    name, tag = split_reference(reference)
    folder = directory.expanduser().resolve()
    if not folder.is_dir():
        raise NotFoundError(
            f"directory not found: {directory}",
            hint="map an image to the existing directory that holds its code",
        )
    mapping = ImageMapping(name, tag, str(folder))
    kept = [m for m in load(home) if (m.image, m.tag) != (name, tag)]
    _save(home, [*kept, mapping])
    return mapping


def unmap_image(home: Path, reference: str) -> list[ImageMapping]:
    """Remove `IMAGE:TAG`, or every mapping of IMAGE when no tag is given; returns them."""
    name, tag = split_reference(reference)
    current = load(home)
    gone = [m for m in current if m.image == name and (not tag or m.tag == tag)]
    if not gone:
        raise NotFoundError(f"image {reference!r} is not mapped", hint="see `capstone image list`")
    _save(home, [m for m in current if m not in gone])
    return gone


def image_path(directory: Path | None, word: str) -> str:
    """`word`, or the file it names under the image's directory when `word` is an absolute
    path of a regular file there (see the module docstring); `/pfs` is never the image's."""
    if directory is None or not word.startswith("/") or word.split("/")[1] == "pfs":
        return word
    inside = directory / word.lstrip("/")
    return str(inside) if inside.is_file() else word


def image_dir(home: Path, image: str) -> Path | None:
    """The mapped directory of a `transform.image`: an exact tag first, then an any-tag map."""
    if not image:
        return None
    try:
        name, tag = split_reference(image)
    except InvalidNameError:
        return None
    best: ImageMapping | None = None
    for m in load(home):
        if m.image == name and m.tag == tag and tag:
            return Path(m.directory)
        if m.image == name and not m.tag:
            best = m
    return Path(best.directory) if best else None

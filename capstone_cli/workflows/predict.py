"""`capstone predict`: caption images with the trained model through the predict pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.backends.base import Backend
from capstone_cli.engine.names import clean_file_path
from capstone_cli.errors import InputError, ModelError, NotFoundError
from capstone_cli.protocol.signatures import has_image_signature
from capstone_cli.results import Upload
from capstone_cli.workflows.pipelines.apply import apply_stages
from capstone_cli.workflows.pipelines.follow import follow_commit_sets
from capstone_cli.workflows.progress import SILENT, Progress

INPREDICT = "inpredict"


@dataclass
class Prediction:
    image: Path
    caption: str
    output: Path


def check_image_header(image: Path) -> None:
    """Refuse a file that is empty or does not start like a JPEG/PNG/GIF/WEBP/BMP/TIFF."""
    with image.open("rb") as f:
        head = f.read(16)
    if not head:
        raise InputError(f"{image}: empty file (0 bytes), not an image", hint=_FORMATS_HINT)
    if not has_image_signature(head):  # checked without Pillow; a damaged image fails in the job
        raise InputError(f"{image}: not an image (it starts with {head!r})", hint=_FORMATS_HINT)


_FORMATS_HINT = "predict JPEG, PNG, GIF, WEBP, BMP or TIFF files; nothing was uploaded"


def require_model(backend: Backend) -> None:
    """Fail early, with what to run, when no model has been trained."""
    try:
        names = {e.path for e in backend.list_files("model", "master", "/saved")}
    except NotFoundError:
        names = set()
    if "/saved/saved_model.h5" not in names:
        raise ModelError(
            "no trained model yet (model@master:/saved/saved_model.h5 is missing)",
            hint="run `capstone train --tsv testdata/offline/train.tsv` first",
        )


def predict(
    backend: Backend,
    images: Sequence[Path],
    *,
    specs_dir: Path,
    out_dir: Path,
    progress: Progress = SILENT,
) -> list[Prediction]:
    """Upload the images in one commit, wait for predict, write `<image>.txt` files."""
    for image in images:
        if not image.is_file():
            raise NotFoundError(f"{image}: no such file", hint="give paths of image files")
        clean_file_path("/" + image.name)
        check_image_header(image)
    names = [image.name for image in images]
    if len(set(names)) != len(names):
        raise InputError(
            "two images have the same file name",
            hint="predict images with distinct names (they become inpredict paths)",
        )
    require_model(backend)
    applied = apply_stages(backend, specs_dir, ["predict"])
    commit = backend.put_files(
        INPREDICT,
        "master",
        [Upload(f"/{image.name}", source=image) for image in images],
        description="capstone predict",
        on_bytes=progress.upload_bytes,
    )
    follow_commit_sets(backend, [*(r.job_id for r in applied if r.job_id), commit.id], progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for image in images:
        path = f"/{image.name}.txt"
        try:
            caption = b"".join(backend.read_file("predict", "master", path)).decode().strip()
        except NotFoundError as exc:
            raise ModelError(
                f"the predict pipeline wrote no caption for {image.name}",
                hint="see `capstone logs -p predict`",
            ) from exc
        target = out_dir / f"{image.name}.txt"
        target.write_text(caption + "\n")
        results.append(Prediction(image, caption, target))
    return results

"""The project's stage definitions with smaller parameters, for tests that really train.

One helper for the e2e tests, the kill harness and the bad-image corpus, so they shrink the
same files the same way and keep working when `specs/` changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def shrink_specs(dest: Path, params: dict[str, dict[str, Any]]) -> Path:
    """Copy `specs/` to `dest` and update each named stage's `params`; returns `dest`."""
    shutil.copytree(REPO_ROOT / "specs", dest)
    for name, updates in params.items():
        path = dest / f"{name}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["params"].update(updates)
        path.write_text(yaml.safe_dump(doc))
    return dest


def training_specs(dest: Path, *, image_size: int, epochs: int) -> Path:
    """Specs whose images/features use `image_size` px and whose model trains `epochs`."""
    return shrink_specs(
        dest,
        {
            "images": {"image_size": image_size},
            "features": {"image_size": image_size},
            "model": {"epochs": epochs, "batch_size": 32},
        },
    )

"""The project's stage definitions with smaller parameters, for tests that really train.

One helper for the e2e tests, the kill harness and the bad-image corpus, so they shrink the
same files the same way and keep working when the stage definitions change.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from capstone_cli.project import PACKAGED_SPECS


def shrink_specs(dest: Path, params: dict[str, dict[str, Any]]) -> Path:
    """Copy the packaged stage definitions to `dest`, update each named stage's `params`."""
    shutil.copytree(PACKAGED_SPECS, dest)
    return set_params(dest, params)


def set_params(specs: Path, params: dict[str, dict[str, Any]]) -> Path:
    """Update each named stage's `params` in the stage files of `specs`; returns `specs`."""
    for name, updates in params.items():
        path = specs / f"{name}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["params"].update(updates)
        path.write_text(yaml.safe_dump(doc))
    return specs


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

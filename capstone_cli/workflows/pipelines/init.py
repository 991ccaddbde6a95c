"""`capstone init`: write the packaged stage definitions out, for a user to customise.

They go to `DIR/specs/`, where capstone finds them from DIR or any folder below it
(`capstone_cli.project`). Existing files are never overwritten without `force`, and the check
comes before the first write, so a refused init writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from capstone_cli.errors import ConflictError, InputError
from capstone_cli.project import PACKAGED_SPECS, SPECS_DIR_NAME


def init_project(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy every packaged stage file to `directory/specs/`; returns the files written."""
    target = directory / SPECS_DIR_NAME
    sources = sorted(PACKAGED_SPECS.glob("*.yaml"))
    if target.exists() and not target.is_dir():
        raise ConflictError(
            f"{target} exists and is not a directory", hint="choose another DIR: capstone init DIR"
        )
    existing = [target / src.name for src in sources if (target / src.name).exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ConflictError(
            f"{existing[0]} already exists{more}",
            hint="edit the files in place, or pass --force to overwrite them",
        )
    written = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for src in sources:
            dest = target / src.name
            dest.write_bytes(src.read_bytes())
            written.append(dest)
    except OSError as exc:
        raise InputError(
            f"cannot write {target}: {exc.strerror}", hint="choose a writable DIR"
        ) from None
    return written

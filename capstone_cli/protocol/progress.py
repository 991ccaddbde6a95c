"""Advisory progress inside one long datum (e.g. epochs of the model stage), as a small file.

A datum's result and logs are persisted together when it ends; progress is not a result, so it
travels apart from them: the engine names a file in `PROGRESS_ENV`, the worker rewrites it
atomically (write a temporary file, then `os.replace`), and the engine reads it while the
datum runs. A missing or unreadable file means "no progress known", never an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PROGRESS_ENV = "CAPSTONE_PROGRESS_FILE"


def write_progress(path: str | Path, done: int, total: int, unit: str) -> None:
    """Replace the progress file with `done` of `total` `unit`s (readers never see half)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"done": int(done), "total": int(total), "unit": str(unit)}, f)
    os.replace(tmp, path)


def read_progress(path: str | Path) -> dict[str, int | str] | None:
    """The last progress written to `path`, or None (no file, or not a progress record)."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    done, total, unit = value.get("done"), value.get("total"), value.get("unit")
    if not (isinstance(done, int) and isinstance(total, int) and isinstance(unit, str)):
        return None
    return {"done": done, "total": total, "unit": unit}

"""Resolved settings: flag > CAPSTONE_* environment > default.

`CAPSTONE_HOME` selects the embedded store (default `.capstone/` next to the project's `specs/`,
found by walking up from the current directory, else in the current directory: see
`capstone_cli.project`);
`CAPSTONE_BACKEND` or `--backend` selects `embedded` or `pachyderm`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.errors import UsageError
from capstone_cli.project import default_home

BACKENDS = ("embedded", "pachyderm")


@dataclass(frozen=True)
class Settings:
    home: Path
    backend: str = "embedded"
    pachd_address: str | None = None
    project: str | None = None
    debug: bool = False


def resolve(
    backend: str | None = None,
    home: str | None = None,
    pachd_address: str | None = None,
    project: str | None = None,
    debug: bool = False,
) -> Settings:
    """Apply the precedence rule once, so every command sees the same values."""
    chosen = backend or os.environ.get("CAPSTONE_BACKEND") or "embedded"
    if chosen not in BACKENDS:
        raise UsageError(
            f"unknown backend {chosen!r}",
            hint="use --backend embedded or --backend pachyderm (or CAPSTONE_BACKEND)",
        )
    given = home or os.environ.get("CAPSTONE_HOME")
    home_dir = Path(given).expanduser() if given else default_home()
    return Settings(
        home=home_dir.absolute(),
        backend=chosen,
        pachd_address=pachd_address,
        project=project or os.environ.get("CAPSTONE_PROJECT"),
        debug=debug or os.environ.get("CAPSTONE_DEBUG", "") not in ("", "0"),
    )

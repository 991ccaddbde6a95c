"""Option and argument aliases shared by all commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Output JSON (stable snake_case keys).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
SpecsOpt = Annotated[
    Path | None,
    typer.Option(
        "--specs",
        help="Stage definitions directory [default: the project's specs/, found walking up "
        "from here, else the tutorial's, shipped with capstone].",
        show_default=False,
    ),
]

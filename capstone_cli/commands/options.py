"""Option and argument aliases shared by all commands, defined once."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Output JSON (stable snake_case keys).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
AllOpt = Annotated[
    bool,
    typer.Option("--all", "-a", help="Also the empty jobs pipeline creation makes (0 datums)."),
]

"""Where the user's project is: its stage definitions (`specs/`) and its store (`.capstone/`).

capstone works from any directory, as git does: the project is the nearest directory, from the
current one upward, that holds a `specs/` folder with stage definitions (`*.yaml`) in it. Its
`specs/` is what `train`, `predict`, `render`, `apply` and `datums` use (`--specs DIR`
overrides), and `CAPSTONE_HOME` defaults to `.capstone/` next to it. Outside any project the
stage definitions shipped in the package are used (the tutorial's; `capstone init` writes them
out to customise), and the store is `.capstone/` in the current directory.
"""

from __future__ import annotations

from pathlib import Path

# The tutorial's stage definitions, shipped as package data (pyproject.toml).
PACKAGED_SPECS = Path(__file__).resolve().parent / "specs" / "definitions"
SPECS_DIR_NAME = "specs"
HOME_DIR_NAME = ".capstone"


def find_project(start: Path | None = None) -> Path | None:
    """The nearest directory from `start` (default: the current one) upward whose `specs/`
    holds stage definitions; None when there is none."""
    here = (start or Path.cwd()).absolute()
    for directory in (here, *here.parents):
        specs = directory / SPECS_DIR_NAME
        if specs.is_dir() and any(specs.glob("*.yaml")):
            return directory
    return None


def specs_dir(explicit: Path | None = None) -> Path:
    """`--specs DIR` when given, else the project's `specs/`, else the packaged ones."""
    if explicit is not None:
        return explicit
    project = find_project()
    return project / SPECS_DIR_NAME if project is not None else PACKAGED_SPECS


def default_home() -> Path:
    """`.capstone/` next to the project, or in the current directory outside any project."""
    return (find_project() or Path.cwd()) / HOME_DIR_NAME

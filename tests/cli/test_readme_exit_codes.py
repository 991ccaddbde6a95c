"""The README's exit-code table is what the commands do: every documented example is run (from
the project root, against a fresh store) and must exit with its row's code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"


def exit_code_rows() -> list[tuple[int, str]]:
    """(code, example cell) of each row of the table under `### Exit codes`."""
    text = README.read_text()
    section = text[text.index("### Exit codes") :]
    section = section[: section.index("\n\n", section.index("| code |"))]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[2]))
    return rows


ROWS = exit_code_rows()
EXAMPLES = [(code, cell.strip("`")) for code, cell in ROWS if cell.startswith("`capstone ")]


def test_the_table_lists_every_exit_code() -> None:
    assert sorted({code for code, _ in ROWS}) == sorted(int(code) for code in ExitCode)
    for code, cell in ROWS:
        if not cell.startswith("`capstone "):  # covered by a named test instead
            assert (REPO_ROOT / cell).is_file(), f"exit {code}: {cell} is not a test file"


@pytest.mark.parametrize(("code", "example"), EXAMPLES, ids=[e for _, e in EXAMPLES])
def test_documented_example_exits_with_its_code(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, example: str
) -> None:
    monkeypatch.chdir(REPO_ROOT)  # the examples name project files (README.md, testdata/...)
    *setup, command = [shlex.split(step) for step in re.split(r";\s*", example)]
    for step in setup:
        run_cli(*step[1:])
    args = command[1:]
    if args[:1] == ["train"]:
        args += ["--out", str(tmp_path / "out")]  # never write into the project
    run_cli(*args, code=code)

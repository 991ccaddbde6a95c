"""`capstone_cli.protocol` is imported by the workers in their image and by the CLI: standard
library only. import-linter forbids a list of known packages; this catches any other one."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import capstone_cli.protocol

PROTOCOL = Path(capstone_cli.protocol.__file__).parent
MODULES = sorted(PROTOCOL.glob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_the_standard_library(path: Path) -> None:
    outside = {
        name
        for name in imported_roots(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name != "__future__"
        and not name.startswith("capstone_cli.protocol")
    }
    assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_check_sees_a_third_party_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import numpy\nfrom capstone_cli import errors\nimport json\n")
    roots = imported_roots(sample)
    assert roots == {"numpy", "capstone_cli", "json"}

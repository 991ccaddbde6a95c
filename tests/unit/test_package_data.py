"""The packaged stage definitions are package data: a wheel carries them (one copy, no repo
`specs/`). Building a wheel needs setuptools from PyPI, so this checks pyproject's globs; the
built wheel was listed by hand (`pip wheel --no-deps . -w /tmp/x`, see the issue's report)."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch

from capstone_cli.project import PACKAGED_SPECS
from tests.conftest import REPO_ROOT


def test_every_packaged_stage_file_matches_the_package_data_globs() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["capstone_cli"]
    package = REPO_ROOT / "capstone_cli"
    assert PACKAGED_SPECS.is_relative_to(package)
    files = sorted(PACKAGED_SPECS.glob("*.yaml"))
    assert [p.stem for p in files] == sorted(
        ["defaults", "images", "features", "consolidate", "model", "predict"]
    )
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in globs), relative
    assert not (REPO_ROOT / "specs").exists()  # one copy only

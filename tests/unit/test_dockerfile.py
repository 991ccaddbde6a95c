"""What can be checked of the worker image without a Docker engine."""

from __future__ import annotations

import importlib.util
import json
import re

from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.specs import stages
from tests.conftest import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()


def test_copied_files_exist() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            *sources, _dest = line.split()[1:]
            for src in sources:
                assert (REPO_ROOT / src).exists(), src


def test_runs_as_non_root_with_pinned_versions() -> None:
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)
    assert re.search(r"^RUN pip install -c constraints\.txt ", DOCKERFILE, re.M)
    constraints = (REPO_ROOT / "constraints.txt").read_text()
    pins = {
        re.sub(r"[-_.]+", "-", name).lower()
        for name in re.findall(r"^([A-Za-z0-9_.-]+)==[0-9][^\s]*$", constraints, re.M)
    }
    assert {"tensorflow-cpu", "pillow", "pandas", "pachyderm-sdk", "keras", "numpy"} <= pins
    assert re.search(r"^FROM python:[0-9.]+-slim", DOCKERFILE, re.M)


def test_image_name_matches_specs_and_version() -> None:
    defaults = stages.load_defaults(PACKAGED_SPECS)
    assert defaults.image_ref in DOCKERFILE
    from capstone_cli import __version__

    assert defaults.tag == __version__


def test_every_worker_entry_point_imports() -> None:
    for _stage, spec in stages.render_and_validate(PACKAGED_SPECS):
        cmd = spec["transform"]["cmd"]
        assert cmd[:2] == ["python3", "-m"]
        module = cmd[2]
        assert importlib.util.find_spec(module) is not None, module
        assert json.loads(spec["transform"]["env"]["CAPSTONE_PARAMS"]) is not None


def test_dockerignore_keeps_sources() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert "capstone_cli" not in ignored and "workers" not in ignored

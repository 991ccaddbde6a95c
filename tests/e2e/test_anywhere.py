"""capstone from a fresh directory outside this repository (real TensorFlow, embedded engine).

`render` there writes the tutorial's specs from the packaged stage definitions; after
`capstone init` and a `cd testdata` (as the tutorial does), `train --tsv` finds the project's
`specs/` by walking up, keeps its store in the project's `.capstone/` and trains.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.specs.stages import STAGE_ORDER
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.smallspecs import set_params

pytestmark = [pytest.mark.ml, pytest.mark.slow]

OFFLINE = REPO_ROOT / "testdata" / "offline"


def test_render_and_train_outside_the_repository(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    assert REPO_ROOT not in project.parents
    monkeypatch.chdir(project)
    run_cli("render", "-o", "out")
    assert sorted(p.name for p in (project / "out").iterdir()) == sorted(
        f"{name}.json" for name in STAGE_ORDER
    )

    run_cli("init")
    set_params(
        project / "specs",
        {
            "images": {"image_size": 32},
            "features": {"image_size": 32},
            "model": {"epochs": 1, "batch_size": 32},
        },
    )
    data = project / "testdata"
    data.mkdir()
    (data / "images").symlink_to(OFFLINE / "images")
    (data / "train.tsv").write_text(
        "".join((OFFLINE / "train.tsv").read_text().splitlines(True)[:10])
    )
    monkeypatch.chdir(data)
    monkeypatch.delenv("CAPSTONE_HOME")
    summary = run_cli("train", "--tsv", "train.tsv", "--json").json()
    assert summary["chunks"] == 2 and summary["changed"] is True
    assert (data / "out" / "saved_model.h5").is_file()
    assert (project / ".capstone" / "store.db").is_file()  # next to the project, not in testdata
    assert not (data / ".capstone").exists()

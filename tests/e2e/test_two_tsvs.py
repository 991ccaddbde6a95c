"""Two TSVs in one store train together (#12 item 3): their chunks never share a name, so the
consolidate join has one datum per chunk of either file and no two datums write one path."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.tsv import chunk_name
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.smallspecs import training_specs

pytestmark = [pytest.mark.ml, pytest.mark.slow]

OFFLINE = REPO_ROOT / "testdata" / "offline"


def test_second_tsv_trains_with_the_first(run_cli: RunCli, tmp_path: Path) -> None:
    specs = training_specs(tmp_path / "specs", image_size=32, epochs=1)
    data = tmp_path / "data"
    data.mkdir()
    (data / "images").symlink_to(OFFLINE / "images")
    lines = (OFFLINE / "train.tsv").read_text().splitlines(True)
    (data / "first.tsv").write_text("".join(lines[:10]))
    (data / "second.tsv").write_text("".join(lines[10:20]))
    args = ["--specs", str(specs), "--out", str(tmp_path / "out"), "--json"]
    run_cli("train", "--tsv", str(data / "first.tsv"), *args)
    second = run_cli("train", "--tsv", str(data / "second.tsv"), *args).json()
    by_pipeline = {j["pipeline"]: j for j in second["jobs"] if j["data_total"]}
    assert by_pipeline["consolidate"]["state"] == "JOB_SUCCESS"
    assert by_pipeline["consolidate"]["data_total"] == 4  # 2 chunks of each file
    shards = {e["path"] for e in run_cli("ls", "consolidate@master", "--json").json()}
    assert shards == {
        f"/{chunk_name(tsv, i)}" for tsv in ("first.tsv", "second.tsv") for i in range(2)
    }

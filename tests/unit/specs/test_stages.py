"""Stage definitions: typed loading, rendering that validates, staleness, reprocess rule."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from capstone_cli.errors import SpecError
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.protocol import stage_params
from capstone_cli.specs import stages
from tests.conftest import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "capstone_cli/data/CreatePipelineRequest.schema.json").read_text())


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    dest = tmp_path / "specs"
    shutil.copytree(PACKAGED_SPECS, dest)
    return dest


def test_all_five_stages_render_and_validate_against_the_schema(specs: Path) -> None:
    rendered = stages.render_and_validate(specs)
    assert [s.stage for s, _ in rendered] == list(stages.STAGE_ORDER)
    for _stage, spec in rendered:
        jsonschema.Draft4Validator(SCHEMA).validate(spec)


def test_tutorial_inputs(specs: Path) -> None:
    by_name = {s.stage: spec for s, spec in stages.render_and_validate(specs)}
    assert by_name["images"]["input"] == {"pfs": {"repo": "rawdata", "glob": "/*/*"}}
    assert by_name["images"]["parallelismSpec"] == {"constant": 20}
    assert by_name["images"]["autoscaling"] is True
    # one long-lived worker per slot (pachd's transform.datumBatching), not a process per chunk
    batched = {name for name, spec in by_name.items() if spec["transform"].get("datumBatching")}
    assert batched == {"images", "features", "consolidate", "model", "predict"}
    join = by_name["consolidate"]["input"]["join"]
    assert join[0]["pfs"] == {"repo": "rawdata", "glob": "/*/(*)", "joinOn": "$1"}
    assert join[1]["pfs"] == {"repo": "features", "glob": "/(*)", "joinOn": "$1"}
    assert by_name["model"]["input"] == {"pfs": {"repo": "consolidate", "glob": "/"}}
    cross = by_name["predict"]["input"]["cross"]
    assert [c["pfs"]["repo"] for c in cross] == ["model", "inpredict"]
    params = json.loads(by_name["features"]["transform"]["env"]["CAPSTONE_PARAMS"])
    assert params["weights"] == "none"
    model_params = json.loads(by_name["model"]["transform"]["env"]["CAPSTONE_PARAMS"])
    assert model_params["features"] == params  # one source for how features are made


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('glob: "/*"}', 'globb: "/*"}', "input.pfs.globb: unknown field"),
        ("datum_batching: true", "datum_batchin: true", "datum_batchin: unknown field"),
        ("datum_timeout: 1800s", "datum_timeout: 30", "datum_timeout: expected str"),
    ],
)
def test_field_errors_name_file_and_path(specs: Path, old: str, new: str, message: str) -> None:
    path = specs / "features.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(SpecError) as info:
        stages.render_and_validate(specs)
    assert "features.yaml" in str(info.value) and message in str(info.value)


def test_yaml_syntax_error_has_line_number(specs: Path) -> None:
    (specs / "model.yaml").write_text("stage: model\ninput: [unclosed\n")
    with pytest.raises(SpecError, match=r"model.yaml:\d+: YAML syntax error"):
        stages.render_and_validate(specs)


def test_render_check_detects_stale(specs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    stages.write_rendered(specs, out)
    assert stages.stale_rendered(specs, out) == []
    path = specs / "model.yaml"
    text = path.read_text()
    assert "epochs: " in text
    path.write_text(re.sub(r"epochs: \d+", "epochs: 7", text))
    assert stages.stale_rendered(specs, out) == ["model"]


def test_reprocess_only_for_params_or_image(specs: Path) -> None:
    stage = stages.load_stage(specs / "model.yaml")
    defaults = stages.load_defaults(specs)
    base = stages.render(stage, defaults, specs)
    more_workers = stages.render(
        stages.Stage(**{**stage.__dict__, "parallelism": 4}), defaults, specs
    )
    new_params = stages.render(
        stages.Stage(**{**stage.__dict__, "params": {**stage.params, "epochs": 1}}),
        defaults,
        specs,
    )
    assert not stages.reprocess_needed(base, more_workers)
    assert stages.reprocess_needed(base, new_params)


@pytest.mark.parametrize("stage", ["consolidate", "features", "images", "model", "predict"])
def test_packaged_params_restate_the_schema_defaults(stage: str) -> None:
    """The packaged definitions list params as a user would edit them; each listed value is
    the schema's default (protocol/stage_params.py), so the two cannot drift apart."""
    doc = yaml.safe_load((PACKAGED_SPECS / f"{stage}.yaml").read_text())
    listed = doc.get("params") or {}
    assert {k: v for k, v in stage_params.defaults(stage).items() if k in listed} == listed

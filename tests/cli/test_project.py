"""Running where the user is: packaged stage definitions, `capstone init`, a project's `specs/`
found walking up from the current directory, CAPSTONE_HOME next to it, and stage parameters
checked against their schema at `render`/`apply` (exit 3, file:line and field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capstone_cli import settings
from capstone_cli.errors import ExitCode
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.protocol.stage_params import defaults
from capstone_cli.specs import stages
from tests.clirunner import RunCli
from tests.reliability.test_bad_inputs import assert_clean_error, store_state
from tests.smallspecs import set_params


def params_of(rendered: Path) -> dict[str, object]:
    spec = json.loads(rendered.read_text())
    params: dict[str, object] = json.loads(spec["transform"]["env"]["CAPSTONE_PARAMS"])
    return params


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory outside the project, as the current directory."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_render_outside_any_project_uses_the_packaged_specs(
    run_cli: RunCli, elsewhere: Path
) -> None:
    written = run_cli("render", "-o", "out").stdout.split()
    assert written == [str(Path("out") / f"{name}.json") for name in stages.STAGE_ORDER]
    for stage, spec in stages.render_and_validate(PACKAGED_SPECS):
        assert (elsewhere / "out" / f"{stage.stage}.json").read_text() == stages.rendered_text(spec)


def test_init_writes_the_packaged_specs_and_refuses_to_overwrite(
    run_cli: RunCli, elsewhere: Path
) -> None:
    written = run_cli("init", "proj").stdout.split()
    specs = elsewhere / "proj" / "specs"
    assert sorted(Path(p).name for p in written) == sorted(
        p.name for p in PACKAGED_SPECS.glob("*.yaml")
    )
    for path in PACKAGED_SPECS.glob("*.yaml"):
        assert (specs / path.name).read_bytes() == path.read_bytes()

    (specs / "model.yaml").write_text("# mine\n")
    again = run_cli("init", "proj", code=7)
    assert_clean_error(again, ExitCode.CONFLICT, "already exists (and 5 more)")
    assert "--force" in again.stderr
    assert (specs / "model.yaml").read_text() == "# mine\n"
    run_cli("init", "proj", "--force")
    assert (specs / "model.yaml").read_bytes() == (PACKAGED_SPECS / "model.yaml").read_bytes()

    (elsewhere / "other").mkdir()
    (elsewhere / "other" / "specs").write_text("")
    assert_clean_error(run_cli("init", "other", code=7), ExitCode.CONFLICT, "not a directory")


def test_a_project_is_found_walking_up_and_specs_overrides(
    run_cli: RunCli, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("init")
    set_params(elsewhere / "specs", {"model": {"epochs": 7}})
    below = elsewhere / "testdata" / "deeper"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    run_cli("render", "model", "-o", "out")
    assert params_of(below / "out" / "model.json")["epochs"] == 7
    run_cli("render", "model", "-o", "packaged", "--specs", str(PACKAGED_SPECS))
    assert params_of(below / "packaged" / "model.json")["epochs"] == defaults("model")["epochs"]
    run_cli("render", "--check", "out", "model")  # --check finds the same project


def test_capstone_home_defaults_next_to_the_project(
    run_cli: RunCli, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAPSTONE_HOME")
    assert settings.resolve().home == elsewhere / ".capstone"  # no project: here
    run_cli("init")
    below = elsewhere / "testdata"
    below.mkdir()
    monkeypatch.chdir(below)
    assert settings.resolve().home == elsewhere / ".capstone"
    assert settings.resolve(home="h").home == below / "h"  # an explicit home is kept
    monkeypatch.setenv("CAPSTONE_HOME", str(elsewhere / "env"))
    assert settings.resolve().home == elsewhere / "env"


@pytest.mark.parametrize(
    ("stage", "old", "new", "field", "detail"),
    [
        ("model", "units: 128", 'units: "many"', "units", "'many' is not of type 'integer'"),
        ("model", "units: 128", "units: 0", "units", "0 is less than the minimum of 1"),
        ("images", "retries: 2", "retrys: 2", "retrys", "unknown parameter"),
        # the model stage copies the features stage's params: reported where they are written
        ("features", "seed: 0", "seed: zero", "seed", "'zero' is not of type 'integer'"),
    ],
)
@pytest.mark.parametrize("command", ["render", "apply"])
def test_stage_params_are_checked_before_anything_runs(
    run_cli: RunCli,
    tmp_path: Path,
    capstone_home: Path,
    command: str,
    stage: str,
    old: str,
    new: str,
    field: str,
    detail: str,
) -> None:
    run_cli("init", str(tmp_path))
    path = tmp_path / "specs" / f"{stage}.yaml"
    lines = path.read_text().splitlines(True)
    line = next(i for i, text in enumerate(lines, start=1) if old in text)
    path.write_text(path.read_text().replace(old, new))
    out = tmp_path / "out"
    args = ["-o", str(out)] if command == "render" else []
    result = run_cli(command, "--specs", str(tmp_path / "specs"), *args, code=3)
    message = assert_clean_error(result, ExitCode.INVALID_SPEC, detail)
    assert message.startswith(f"error: {path}:{line}: params.{field}: ")
    assert not out.exists() and store_state(capstone_home) == ()

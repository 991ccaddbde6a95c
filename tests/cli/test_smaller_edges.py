"""#12 item 7: apply says "created", help without Typer's placeholders, dag declares each input
repo once, NO_COLOR drops every style, `put --split` points at `train`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from capstone_cli.project import PACKAGED_SPECS
from tests.cli.test_help import all_commands
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env

TRAINING = ["images", "features", "consolidate", "model"]


def test_apply_says_created_and_diffs_only_updates(run_cli: RunCli, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    subprocess.run(["cp", "-r", str(PACKAGED_SPECS), str(specs)], check=True)
    created = run_cli("apply", "--specs", str(specs), "--no-run", *TRAINING).stderr
    assert created.splitlines() == [f"{name}: created" for name in TRAINING]
    path = specs / "consolidate.yaml"
    path.write_text(path.read_text().replace("params: {}", "params: {feature_dim: 2048}"))
    updated = run_cli("apply", "--specs", str(specs), "--no-run", *TRAINING).stderr
    assert "consolidate: updated" in updated and "feature_dim" in updated


@pytest.mark.parametrize("name", [name for name, _ in all_commands()])
def test_help_has_no_type_placeholders(run_cli: RunCli, name: str) -> None:
    shown = run_cli(*name.split(), "--help").stdout
    for placeholder in ("<bool>", "<str>", "<list[", "{"):
        assert placeholder not in shown, f"capstone {name} --help shows {placeholder}"


def test_logs_pipeline_has_help(run_cli: RunCli) -> None:
    assert "Only this pipeline's logs" in run_cli("logs", "--help").stdout


def test_dag_declares_each_input_repo_once(run_cli: RunCli) -> None:
    run_cli("apply", "--specs", str(PACKAGED_SPECS), "--no-run", *TRAINING)
    mermaid = run_cli("dag", "--mermaid").stdout
    assert mermaid.count("rawdata[(rawdata)]") == 1
    assert "rawdata --> images" in mermaid and "rawdata --> consolidate" in mermaid
    assert run_cli("dag", "--dot").stdout.count('"rawdata" [shape=cylinder]') == 1
    drawn = run_cli("dag").stdout.splitlines()  # #12 item 4: in pipeline (DAG) order
    assert [line.split("──▶ ")[1].split()[0] for line in drawn] == TRAINING


@pytest.mark.parametrize(("no_color", "styled"), [("1", False), ("", True)])
def test_no_color_drops_bold_too(capstone_home: Path, no_color: str, styled: bool) -> None:
    """With a forced terminal, an error is styled (bold red) unless NO_COLOR is set."""
    env = subprocess_env(capstone_home) | {"FORCE_COLOR": "1", "NO_COLOR": no_color}
    if not no_color:
        del env["NO_COLOR"]
    result = subprocess.run([*capstone_cmd(), "ls", "nope@master"], env=env, capture_output=True)
    assert result.returncode == 4
    assert ("\x1b[" in result.stderr.decode()) is styled


def test_put_split_points_at_train(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a.tsv").write_text("a\tb\n")
    result = run_cli("put", "--split", "line", "rawdata@master", str(tmp_path / "a.tsv"), code=2)
    assert "capstone train --tsv" in result.stderr

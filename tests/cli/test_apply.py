"""`capstone apply` on the embedded backend: creates the five pipelines, is idempotent, and a
parameter change updates exactly that pipeline (re-running its datums)."""

from __future__ import annotations

import shutil
from pathlib import Path

from capstone_cli.project import PACKAGED_SPECS
from tests.clirunner import RunCli


def test_apply_is_idempotent_and_targets_changes(run_cli: RunCli, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(PACKAGED_SPECS, specs)
    first = run_cli("apply", "--specs", str(specs), "--json").json()
    assert [(r["pipeline"], r["action"]) for r in first] == [
        ("images", "created"),
        ("features", "created"),
        ("consolidate", "created"),
        ("model", "created"),
        ("predict", "created"),
    ]
    names = {p["name"] for p in run_cli("pipeline", "list", "--json").json()}
    assert names == {"images", "features", "consolidate", "model", "predict"}
    repos = {r["name"] for r in run_cli("repo", "list", "--json").json()}
    assert {"rawdata", "inpredict"} <= repos

    again = run_cli("apply", "--specs", str(specs), "--json").json()
    assert {r["action"] for r in again} == {"unchanged"}
    jobs_before = len(run_cli("jobs", "--json").json())

    path = specs / "consolidate.yaml"
    path.write_text(path.read_text().replace("params: {}", "params: {feature_dim: 2048}"))
    dry = run_cli("apply", "--specs", str(specs), "--dry-run", "--json").json()
    assert [r["pipeline"] for r in dry if r["action"] != "unchanged"] == ["consolidate"]
    changed = run_cli("apply", "--specs", str(specs), "--json").json()
    assert [(r["pipeline"], r["action"]) for r in changed if r["action"] != "unchanged"] == [
        ("consolidate", "updated")
    ]
    assert any("feature_dim" in line for r in changed for line in r["diff"])
    versions = {p["name"]: p["version"] for p in run_cli("pipeline", "list", "--json").json()}
    assert versions == {"images": 1, "features": 1, "consolidate": 2, "model": 1, "predict": 1}
    new_jobs = run_cli("jobs", "--json").json()[: -jobs_before or None]
    # the update's commit set reaches consolidate and what is downstream of it, nothing above
    assert {j["pipeline"] for j in new_jobs} == {"consolidate", "model", "predict"}

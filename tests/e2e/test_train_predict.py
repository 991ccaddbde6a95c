"""`capstone train` + `capstone predict` end to end on the embedded engine (real TensorFlow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.ml, pytest.mark.slow]

OFFLINE = REPO_ROOT / "testdata" / "offline"


def small_specs(tmp_path: Path) -> Path:
    """The project's specs with small, fast parameters (64 px images, few epochs)."""
    specs = tmp_path / "specs"
    shutil.copytree(REPO_ROOT / "specs", specs)
    for name, params in {
        "images": {"image_size": 64},
        "features": {"image_size": 64},
        "model": {"epochs": 3, "batch_size": 32},
    }.items():
        path = specs / f"{name}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["params"].update(params)
        path.write_text(yaml.safe_dump(doc))
    return specs


def subset_tsv(tmp_path: Path, lines: int) -> Path:
    tsv = tmp_path / "data" / "train.tsv"
    tsv.parent.mkdir(exist_ok=True)
    if not (tsv.parent / "images").exists():
        (tsv.parent / "images").symlink_to(OFFLINE / "images")
    tsv.write_text("".join((OFFLINE / "train.tsv").read_text().splitlines(True)[:lines]))
    return tsv


def test_train_then_predict(run_cli: RunCli, tmp_path: Path) -> None:
    specs = small_specs(tmp_path)
    tsv = subset_tsv(tmp_path, 40)
    out = tmp_path / "model"
    summary = run_cli(
        "train", "--tsv", str(tsv), "--out", str(out), "--specs", str(specs), "--json"
    ).json()
    assert summary["chunks"] == 8 and summary["changed"] is True
    assert {p.name for p in out.iterdir()} >= {
        "saved_model.h5",
        "vocab.json",
        "metrics.json",
        "params.json",
    }
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["bleu"]) == {"bleu1", "bleu2", "bleu3", "bleu4"}

    again = run_cli(
        "train", "--tsv", str(tsv), "--out", str(out), "--specs", str(specs), "--json"
    ).json()
    assert again["changed"] is False
    assert all(j["data_processed"] == 0 for j in again["jobs"])

    more = subset_tsv(tmp_path, 50)
    grown = run_cli(
        "train", "--tsv", str(more), "--out", str(out), "--specs", str(specs), "--json"
    ).json()
    by_pipeline = {j["pipeline"]: j for j in grown["jobs"] if j["data_total"]}
    assert by_pipeline["images"]["data_processed"] == 2
    assert by_pipeline["images"]["data_skipped"] == 8
    assert by_pipeline["features"]["data_processed"] == 2

    image = OFFLINE / (OFFLINE / "heldout.tsv").read_text().splitlines()[0].split("\t")[1]
    preds = tmp_path / "preds"
    res = run_cli("predict", str(image), "--out", str(preds), "--specs", str(specs))
    assert res.stdout.startswith(f"{image} -> a ")
    caption = (preds / f"{image.name}.txt").read_text().strip()
    assert caption and caption in res.stdout


def test_predict_before_training(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("predict", str(REPO_ROOT / "testdata" / "image.png"), code=4)
    assert "no trained model" in res.stderr and "capstone train" in res.stderr

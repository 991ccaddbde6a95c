"""`capstone train` + `capstone predict` end to end on the embedded engine (real TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capstone_cli.tsv import chunk_name
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.smallspecs import training_specs

pytestmark = [pytest.mark.ml, pytest.mark.slow]

OFFLINE = REPO_ROOT / "testdata" / "offline"


def subset_tsv(tmp_path: Path, lines: int) -> Path:
    tsv = tmp_path / "data" / "train.tsv"
    tsv.parent.mkdir(exist_ok=True)
    if not (tsv.parent / "images").exists():
        (tsv.parent / "images").symlink_to(OFFLINE / "images")
    tsv.write_text("".join((OFFLINE / "train.tsv").read_text().splitlines(True)[:lines]))
    return tsv


def test_train_then_predict(run_cli: RunCli, tmp_path: Path) -> None:
    specs = training_specs(tmp_path / "specs", image_size=64, epochs=3)
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
    table = run_cli("train", "--tsv", str(tsv), "--out", str(out), "--specs", str(specs)).stdout
    held_out = next(line for line in table.splitlines() if "held-out" in line)
    assert f"BLEU-4 {metrics['bleu']['bleu4']:.3f}" in held_out
    assert f"{metrics['exact']} of {metrics['exact_of']} captions exact" in held_out

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
    caption = (preds / f"{image.name}.txt").read_text().strip()
    assert res.stdout == f"{image} -> {caption}\n"
    listed = run_cli("predict", str(image), "--out", str(preds), "--specs", str(specs), "--json")
    assert listed.json() == [
        {"image": str(image), "caption": caption, "output": str(preds / f"{image.name}.txt")}
    ]
    words = set(json.loads((out / "vocab.json").read_text())["words"])
    assert caption and set(caption.split()) <= words  # quality: benchmarks/bench_quality.py


def walk_through_tutorial(run_cli: RunCli, specs: Path) -> None:
    """Every step of tutorial 201's walkthrough, with capstone on the embedded engine."""
    repos = {r["name"] for r in run_cli("repo", "list", "--json").json()}
    assert repos >= {"rawdata", "images", "features", "consolidate", "model"}
    pipelines = {p["name"]: p for p in run_cli("pipeline", "list", "--json").json()}
    assert set(pipelines) == {"images", "features", "consolidate", "model"}
    jobs = run_cli("jobs", "-p", "images", "--json").json()
    images_job = next(j for j in jobs if j["data_total"])
    assert images_job["state"] == "JOB_SUCCESS" and images_job["data_total"] == 8
    assert len(run_cli("commits", "rawdata", "--json").json()) == 1
    job_logs = run_cli("logs", "-j", f"images@{images_job['id']}").stdout
    assert f"chunk {chunk_name('train.tsv', 0)}: 5 images, 0 rejects" in job_logs
    assert run_cli("logs", "-p", "images", "--master").stdout.strip()
    chunks = run_cli("ls", "rawdata@master:/train.tsv", "--json").json()
    assert [c["path"] for c in chunks][:2] == [
        f"/train.tsv/{chunk_name('train.tsv', 0)}",
        f"/train.tsv/{chunk_name('train.tsv', 1)}",
    ]
    datums = run_cli("datums", "consolidate", "--specs", str(specs), "--json").json()
    assert len(datums) == 8
    saved = {e["path"] for e in run_cli("ls", "model@master:/saved", "--json").json()}
    assert "/saved/saved_model.h5" in saved
    assert "consolidate" in run_cli("dag").stdout
    assert run_cli("status", "--json").json()["failed_datums"] == []


def test_predict_before_training(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("predict", str(REPO_ROOT / "testdata" / "image.png"), code=4)
    assert "no trained model" in res.stderr and "capstone train" in res.stderr

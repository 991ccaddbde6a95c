"""The dashboard over a store that `capstone train` really trained (TensorFlow, tiny settings).

Tutorial 201's walk in Chromium: DAG -> rawdata -> a chunk of the uploaded TSV (its captions
shown) -> the images pipeline -> its job -> a datum's log; then the model page shows the BLEU
table the model stage wrote, and the predict gallery the caption `capstone predict` made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import guarded_page
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.e2e.test_train_predict import subset_tsv
from tests.smallspecs import training_specs
from tests.uistore import running_ui

pytestmark = [pytest.mark.slow, pytest.mark.ml]

OFFLINE = REPO_ROOT / "testdata" / "offline"


def test_walk_a_trained_store(run_cli: RunCli, tmp_path: Path, capstone_home: Path) -> None:
    specs = training_specs(tmp_path / "specs", image_size=64, epochs=2)
    tsv = subset_tsv(tmp_path, 20)
    out = tmp_path / "model"
    run_cli("train", "--tsv", str(tsv), "--out", str(out), "--specs", str(specs))
    bleu4 = json.loads((out / "metrics.json").read_text())["bleu"]["bleu4"]
    heldout = OFFLINE / (OFFLINE / "heldout.tsv").read_text().split("\n")[0].split("\t")[1]
    run_cli("predict", str(heldout), "--specs", str(specs), "--out", str(tmp_path / "pred"))
    first_caption = tsv.read_text().split("\t")[0]

    with running_ui(capstone_home) as url, guarded_page(url) as (page, foreign):
        page.goto("/")
        for stage in ("images", "features", "consolidate", "model", "predict"):
            node = page.locator(f'svg.dag a[href="/pipelines/{stage}"]')
            expect(node).to_contain_text("success")

        page.locator('svg.dag a[href="/repos/rawdata"]').click()
        page.get_by_role("link", name="train.tsv/").click()
        page.locator("table.files tbody a").first.click()
        expect(page.locator("table.preview")).to_contain_text(first_caption)

        page.goto("/")
        page.locator('svg.dag a[href="/pipelines/images"]').click()
        expect(page.locator("ul.tree")).to_contain_text("/*/*")
        page.locator("table a[href^='/pipelines/images/jobs/']").first.click()
        expect(page.locator("table.facts")).to_contain_text("Processed")
        page.locator("a[href*='/datums/']").first.click()
        expect(page.locator("pre.log")).not_to_be_empty()

        page.get_by_role("link", name="Model").click()
        expect(page.locator("table.bleu")).to_contain_text(f"{bleu4:.4f}")
        page.goto("/predict")
        expect(page.locator("main")).to_contain_text(heldout.name)
        assert foreign == [], f"requests left 127.0.0.1: {foreign}"

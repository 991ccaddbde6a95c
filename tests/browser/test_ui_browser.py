"""The dashboard in a real headless Chromium (Debian's), driven by Playwright for Python.

`capstone ui --no-browser` runs as a subprocess over a demo store built with the real CLI. The
walk is tutorial 201's: DAG -> rawdata -> a TSV chunk -> the images pipeline -> its job -> a
datum's log, then the model page's BLEU table. Every request the browser makes is intercepted:
any that would leave 127.0.0.1 is aborted and fails the test. The screenshots in docs/ (shown in
the README) are taken here: with CAPSTONE_UPDATE_SCREENSHOTS=1 they replace docs/ui-*.png,
otherwise they go to the test's temporary directory (a test run leaves the work tree clean).

Chromium must exist on CI (`.ci/run` installs it): see tests/browser/chromium.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.chromium import ARGS, CHROMIUM, guarded_page
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.uistore import build_demo_store, running_ui

DOCS = REPO_ROOT / "docs"


def screenshot_dir(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("CAPSTONE_UPDATE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def ui_url(run_cli: RunCli, tmp_path: Path, capstone_home: Path) -> Iterator[str]:
    build_demo_store(run_cli, tmp_path / "work")
    with running_ui(capstone_home) as url:
        yield url


@pytest.fixture
def browser_page(ui_url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page whose every request is checked; yields it with the list of foreign requests."""
    with guarded_page(ui_url) as opened:
        yield opened


def test_tutorial_walk_and_model(browser_page: tuple[Page, list[str]], tmp_path: Path) -> None:
    page, foreign = browser_page
    shots = screenshot_dir(tmp_path)
    page.goto("/")
    images_node = page.locator('svg.dag a[href="/pipelines/images"]')
    expect(images_node).to_contain_text("success")
    expect(page.locator('svg.dag a[href="/pipelines/audit"]')).to_contain_text("failure")
    page.screenshot(path=str(shots / "ui-dag.png"), full_page=True)

    page.locator('svg.dag a[href="/repos/rawdata"]').click()
    expect(page.locator("h1")).to_contain_text("rawdata")
    page.get_by_role("link", name="test.tsv/").click()
    page.get_by_role("link", name="0000000000000000").click()
    table = page.locator("table.preview")
    expect(table).to_contain_text("a red circle on grass")
    expect(table).to_contain_text("https://example.invalid/1.jpg")
    page.screenshot(path=str(shots / "ui-file.png"), full_page=True)

    page.get_by_role("link", name="DAG").click()
    page.locator('svg.dag a[href="/pipelines/images"]').click()
    expect(page.locator("h1")).to_contain_text("Pipeline images")
    expect(page.locator("ul.tree")).to_contain_text("/*/*")
    page.locator("table a[href^='/pipelines/images/jobs/']").first.click()
    expect(page.locator("h1")).to_contain_text("Job")
    expect(page.locator("table.facts")).to_contain_text("Processed")
    page.screenshot(path=str(shots / "ui-job.png"), full_page=True)
    page.locator("a[href*='/datums/']").first.click()
    expect(page.locator("pre.log")).to_contain_text(re.compile(r"image 000000000000000[01] 0"))

    page.get_by_role("link", name="Model").click()
    bleu = page.locator("table.bleu")
    expect(bleu).to_contain_text("bleu4")
    expect(bleu).to_contain_text("0.2100")
    expect(bleu).to_contain_text("0.0500")
    expect(page.locator("svg.chart")).to_be_visible()
    page.screenshot(path=str(shots / "ui-model.png"), full_page=True)

    requested = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(url.endswith("/static/htmx.min.js") for url in requested)
    assert foreign == [], f"requests left 127.0.0.1: {foreign}"


def check_tab_order(page: Page) -> None:
    """Tab from the top reaches every link, button and field, each with a visible focus."""
    total = page.evaluate(
        """() => {
            const all = document.querySelectorAll('a[href], button, input');
            all.forEach((el, i) => el.setAttribute('data-tab', String(i)));
            return all.length;
        }"""
    )
    reached: set[str] = set()
    for _ in range(total + 3):
        page.keyboard.press("Tab")
        index, visible = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || !el.hasAttribute('data-tab')) return [null, true];
                const svg = el instanceof SVGElement;
                const style = getComputedStyle(svg ? el.querySelector('rect') : el);
                const visible = svg ? style.strokeWidth === '4px'
                                    : style.outlineStyle !== 'none' && style.outlineWidth !== '0px';
                return [el.getAttribute('data-tab'), visible];
            }"""
        )
        if index is None:
            continue  # the skip link's target or the page itself
        assert visible, f"{page.url}: focus on element {index} is not visible"
        reached.add(index)
    missing = {str(i) for i in range(total)} - reached
    assert not missing, f"{page.url}: elements {sorted(missing)} are not reachable by Tab"


def test_every_link_reachable_by_tab_with_visible_focus(
    browser_page: tuple[Page, list[str]],
) -> None:
    page, foreign = browser_page
    page.goto("/")
    job = page.locator("a[href^='/pipelines/audit/jobs/']").first.get_attribute("href")
    for url in ["/", "/repos/rawdata", "/repos/rawdata/files/master/test.tsv", str(job), "/model"]:
        page.goto(url)
        check_tab_order(page)
    assert foreign == []


def test_job_page_updates_live_without_reload(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    """A pending job's page polls (htmx) and shows the job's success once `capstone run` ends."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("a")
    run_cli("put", "in@master", str(src))
    spec = tmp_path / "copy.json"
    spec.write_text(
        '{"pipeline": {"name": "copy"}, "input": {"pfs": {"repo": "in", "glob": "/*"}},'
        ' "transform": {"cmd": ["sh", "-c", "cp -r /pfs/in/. /pfs/out/"]}}'
    )
    run_cli("pipeline", "create", "-f", str(spec), "--no-run")
    job = run_cli("jobs", "--json").json()[0]
    assert job["state"] not in ("JOB_SUCCESS", "JOB_FAILURE")
    with running_ui(capstone_home) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(base_url=url)
        page.goto(f"/pipelines/copy/jobs/{job['id']}")
        expect(page.locator("p.live")).to_be_visible()
        page.evaluate("window.__notReloaded = true")
        run_cli("run")
        expect(page.locator("#live .state")).to_contain_text("success", timeout=60_000)
        expect(page.locator("p.live")).to_have_count(0)  # polling stops with the job
        assert page.evaluate("window.__notReloaded") is True
        browser.close()

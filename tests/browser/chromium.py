"""Debian's Chromium driven by Playwright for Python, for the dashboard's browser tests.

Chromium must exist on CI (`.ci/run` installs it): with CI set, a missing browser fails the
run; elsewhere the browser tests are skipped. Every request a page makes is intercepted: any
that would leave 127.0.0.1 is aborted and recorded, so a test can assert there was none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing on CI: .ci/run must apt-get install chromium")
    pytest.skip("Debian chromium is not installed (CI installs it)", allow_module_level=True)


@contextmanager
def guarded_page(base_url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page on `base_url`; yields it with the list of requests that tried to leave 127.0.0.1."""
    foreign: list[str] = []

    def guard(route: Route) -> None:
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}, service_workers="block"
        )
        context.route("**/*", guard)
        page = context.new_page()
        try:
            yield page, foreign
        finally:
            context.close()
            browser.close()

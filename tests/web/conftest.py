"""Web pages in headless Chromium (Debian's ``chromium``), driven by Playwright.

``make test`` installs the browser when it is missing; ``FYNLO_TEST_CHROMIUM`` names another
binary. Flags as the machine needs them: no sandbox (root), and no background networking, whose
connections this closed network refuses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("FYNLO_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and the asyncio tests of other modules need the thread's loop free.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        # Playwright gives each launch a new, empty profile directory of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()

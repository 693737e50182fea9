"""Browser fixtures shared by the page tests (a pytest plugin, listed in conftest.py): Debian's Chromium driven by
Playwright, never `playwright install`. A test that asks for `launch` skips when Chromium or playwright is missing.

    def test_x(launch): browser = launch()                                   # a plain Chromium
    browser = launch(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={y4m}")  # its webcam plays a Y4M file
"""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def playwright():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def launch(playwright):
    """launch(*extra_args) → a Chromium browser, closed at the end of the module."""
    browsers = []

    def start(*extra):
        browsers.append(playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + list(extra)))
        return browsers[-1]

    yield start
    for b in browsers:
        b.close()


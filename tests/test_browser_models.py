"""'Your models' and Cancel in the Teach view, in a real browser (Debian's Chromium driven by Playwright): the list
marks the model in use, "Use" switches (also back to the shipped one), "Delete" removes a taught model. Tiny
models; skips without Chromium. (Cancel is DELETE /jobs/{id}: tests/test_teach_faults.py.)"""

from __future__ import annotations

import shutil

import pytest
from serve_fixtures import serve
from test_browser import TIMEOUT_MS, open_page

from actcap.models.store import ModelStore
from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def taught(home, model_dir, name: str) -> None:
    """`model_dir` saved in the store under `name`, as a finished teach job would."""
    store = ModelStore(home)
    staged = store.staging()
    shutil.copytree(model_dir, staged, dirs_exist_ok=True)
    store.commit(staged, name, {"base": "none", "metrics": {}})


def test_models_are_listed_switched_back_and_deleted(launch, tiny_model_dir, tmp_path):
    home = tmp_path / "home"
    taught(home, tiny_model_dir, "arrows")
    with serve(ServeSettings(home=home)) as url, open_page(launch(), url) as page:
        page.on("dialog", lambda d: d.accept())  # "Delete … ?"
        page.get_by_role("button", name="Teach").click()
        rows = page.locator("#models-table tr:not(:first-child)")
        expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
        expect(rows.nth(0)).to_contain_text("default (shipped)")
        expect(rows.nth(0)).to_contain_text("in use")
        page.locator("#models-table button[data-model=arrows]").click()
        expect(page.locator("#status")).to_contain_text("arrows", timeout=TIMEOUT_MS)
        expect(rows.nth(1)).to_contain_text("in use")
        page.locator("#models-table button[data-model=default]").click()  # back to the shipped model
        expect(rows.nth(0)).to_contain_text("in use", timeout=TIMEOUT_MS)
        assert ModelStore(home).get_active() == "default"
        page.locator("#models-table button[data-delete=arrows]").click()
        expect(rows).to_have_count(1, timeout=TIMEOUT_MS)
        assert ModelStore(home).names() == ["default"]


LOCAL_NETWORK_CHECKS = ("LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
                        "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults")


def test_a_page_on_another_site_cannot_switch_models(launch, tiny_model_dir, tmp_path):
    """An attacker's page (http://evil.test, served by Playwright's router) makes the visitor's browser POST to
    the service: a "simple" request, no preflight, so it is sent; the browser marks it cross-site and the
    service refuses it, nothing changes. The service's own page, same request, is answered."""
    home = tmp_path / "home"
    taught(home, tiny_model_dir, "arrows")
    post = """async (url) => { await fetch(url, { method: "POST", mode: "no-cors" }); return true; }"""
    with serve(ServeSettings(home=home)) as url:
        # recent Chromium also blocks public pages from reaching loopback (Local Network Access); off here, as
        # in other browsers, so that the request arrives and the service's own guard is what refuses it
        browser = launch(f"--disable-features={LOCAL_NETWORK_CHECKS}")
        evil = browser.new_context()
        evil.route("http://evil.test/**", lambda route: route.fulfill(body="<p>cute cats</p>",
                                                                       content_type="text/html"))
        page = evil.new_page()
        page.goto("http://evil.test/")
        assert page.evaluate(post, f"{url}/models/arrows/activate")  # sent: the answer is opaque to the page
        evil.close()
        assert ModelStore(home).get_active() == "default"
        with open_page(browser, url) as own:
            own.evaluate(post, f"{url}/models/arrows/activate")
        assert ModelStore(home).get_active() == "arrows"

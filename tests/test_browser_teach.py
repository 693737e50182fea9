"""The Teach view in a real browser: record examples of two labels with the webcam, train, use the model, and see
the live caption name a taught label. Debian's Chromium, driven by Playwright, as in test_browser.py.

Chromium's fake camera plays one file for the whole browser, so each label is recorded in its own browser
(one fed a UTD-MHAD wave clip, one a clap clip); the clap recordings are then handed to the first page as the
blobs its own recorder made. Skips without Chromium or without ../shared/data.
"""

from __future__ import annotations

import pytest
from browser_fixtures import FAKE_CAMERA
from test_browser import TIMEOUT_MS, open_page, read_clip, serve, write_y4m

from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

EXPORT = """async () => Promise.all(teach.labels[0].examples.map(async (ex) => ({
  name: ex.name, thumb: ex.thumb,
  data: Array.from(new Uint8Array(await ex.blob.arrayBuffer())) })))"""
IMPORT = """([label, examples]) => {
  teach.labels.push({ name: label, examples: examples.map((ex) => ({
    name: ex.name, thumb: ex.thumb, blob: new Blob([new Uint8Array(ex.data)], { type: "video/webm" }) })) });
  renderLabels();
}"""


@pytest.fixture(scope="module")
def browsers(launch):
    """browsers(camera_file) → a Chromium whose fake camera plays that Y4M file; closed at the end."""
    return lambda camera_file: launch(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={camera_file}")


def record(page, label: str, times: int) -> None:
    page.get_by_role("button", name="Teach").click()
    page.get_by_label("New label").fill(label)
    page.get_by_role("button", name="Add label").click()
    for k in range(1, times + 1):
        page.get_by_role("button", name=f"Record an example of {label}").click()
        expect(page.get_by_role("img", name=f"example {k} of {label}: {label}_{k}.webm")).to_be_visible(
            timeout=TIMEOUT_MS)


def test_teach_two_recorded_labels_and_use_the_model(browsers, utd_root, shipped_model_dir, tmp_path):
    wave = write_y4m(read_clip(utd_root / "wave" / "a3_s1_t1_color.avi"), tmp_path / "wave.y4m")
    clap = write_y4m(read_clip(utd_root / "clap" / "a4_s1_t1_color.avi"), tmp_path / "clap.y4m")
    with serve(ServeSettings(model=shipped_model_dir, home=tmp_path / "home")) as url:
        with open_page(browsers(clap), url) as other:
            record(other, "clap_hands", 2)
            clap_examples = other.evaluate(EXPORT)
        with open_page(browsers(wave), url) as page:
            record(page, "wave_hello", 2)
            page.evaluate(IMPORT, ["clap_hands", clap_examples])
            assert page.locator("#teach-labels h3").all_text_contents() == [
                "wave_hello — 2 examples", "clap_hands — 2 examples"]
            page.get_by_label("nothing: only my labels").check()
            page.get_by_label("Model name").fill("my_gestures")
            page.get_by_role("button", name="Train").click()
            expect(page.locator("#teach-result")).to_be_visible(timeout=4 * TIMEOUT_MS)
            rows = page.locator("#teach-accuracy tr:not(:first-child) th").all_text_contents()
            assert rows == ["clap hands", "wave hello"]  # one row per taught label
            assert page.locator("#teach-confusion tr").count() == 3
            page.get_by_role("button", name="Use this model").click()
            expect(page.locator("#status")).to_contain_text("my_gestures", timeout=TIMEOUT_MS)
            page.get_by_role("button", name="Start webcam").click()
            expect(page.locator("#live-stats")).to_contain_text("frames/s", timeout=TIMEOUT_MS)
            labels = []
            for _ in range(600):  # bounded: until the caption has named the waved action, or give up
                labels.append(page.text_content("#label"))
                if "wave hello" in labels:
                    break
                page.wait_for_timeout(100)
            assert set(labels) <= {"", "wave hello", "clap hands"}, labels
            assert "wave hello" in labels, labels

"""The Teach view in a real browser: record examples of two labels with the webcam, train, use the model, and see
the live caption name a taught label. Debian's Chromium, driven by Playwright, as in test_browser.py.

Chromium's fake camera plays one file for the whole browser, so each label is recorded in its own browser
(one fed a UTD-MHAD wave clip, one a clap clip); the clap recordings are then handed to the first page as the
blobs its own recorder made. Skips without Chromium or without ../shared/data.
"""

from __future__ import annotations

import json
import re

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
                labels.append(page.text_content("#label"))  # "closest: …" when the answer is unknown or idle
                if "wave hello" in labels:
                    break
                page.wait_for_timeout(100)
            assert {t.removeprefix("closest: ") for t in labels} <= {"", "wave hello", "clap hands"}, labels
            assert "wave hello" in labels, labels


def test_person_and_caption_fields_reach_the_job(launch, shipped_model_dir, tmp_path, write_video):
    """Videos added by file, the person field set once per session: one person → the check says it cannot tell how
    the model does for someone new; a second person → the check holds each person out; a label's sentence is the
    taught model's caption; the person field is remembered after a reload. Synthetic clips: no ../shared needed."""
    from test_teach import sliding

    files = {label: [write_video(tmp_path / f"{label}_{i}.avi", sliding(20, dx, seed=i)) for i in range(3)]
             for label, dx in (("left", -2), ("right", 2))}
    home = tmp_path / "home"
    with serve(ServeSettings(model=shipped_model_dir, home=home)) as url, open_page(launch(), url) as page:
        page.get_by_role("button", name="Teach").click()
        for label in ("left", "right"):
            page.get_by_label("New label").fill(label)
            page.get_by_role("button", name="Add label").click()
        page.get_by_label("Who is in the next examples").fill("Ann")
        add = page.locator("#teach-labels input[type=file]")
        add.nth(0).set_input_files([str(p) for p in files["left"][:2]])
        add.nth(1).set_input_files([str(p) for p in files["right"][:2]])
        expect(page.locator("#teach-labels h3")).to_have_text(["left — 2 examples, 1 person",
                                                                "right — 2 examples, 1 person"])
        assert page.locator("#teach-labels .person").all_text_contents() == ["Ann"] * 4
        page.get_by_label("Sentence for left").fill("A person points to the left.")
        page.get_by_label("nothing: only my labels").check()
        page.get_by_label("Model name").fill("arrows")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.locator("#teach-result")).to_be_visible(timeout=4 * TIMEOUT_MS)
        expect(page.locator("#teach-method")).to_have_text(re.compile(
            r"^This cannot tell how well it works for other people: every example shows the same person\. "))
        expect(page.locator("#teach-method")).to_have_class(re.compile(r"\bwarning\b"))

        page.get_by_label("Who is in the next examples").fill("Bob")
        add.nth(0).set_input_files([str(files["left"][2])])
        add.nth(1).set_input_files([str(files["right"][2])])
        expect(page.locator("#teach-labels h3")).to_have_text(["left — 3 examples, 2 people",
                                                                "right — 3 examples, 2 people"])
        assert page.locator("#teach-labels .person").all_text_contents() == ["Ann", "Ann", "Bob"] * 2
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.locator("#teach-method")).to_have_text(re.compile(
            r"^On people it did not learn from \(each of the 2 people left out in turn\), \d+% of the examples"),
            timeout=4 * TIMEOUT_MS)
        expect(page.locator("#teach-method")).not_to_have_class(re.compile(r"\bwarning\b"))
        config = json.loads((home / "models" / "arrows" / "config.json").read_text())
        assert config["captions"] == {"left": "A person points to the left."}
        page.reload()
        page.get_by_role("button", name="Teach").click()
        expect(page.get_by_label("Who is in the next examples")).to_have_value("Bob")

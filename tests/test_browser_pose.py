"""The page draws the tracked skeleton (pose.js): over uploaded frames of a real person, over the webcam preview
fed by Chromium's fake camera, and nothing over frames with nobody in them.

    apt-get install -y chromium && pytest -m browser tests/test_browser_pose.py
"""

from __future__ import annotations

import cv2
import pytest
from browser_fixtures import FAKE_CAMERA
from serve_fixtures import moving_frames, serve
from test_browser import TIMEOUT_MS, open_page, predict_and_wait, read_clip, write_frames, write_y4m

from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir):
    with serve(ServeSettings(model=tiny_model_dir)) as url:
        yield url


def test_skeleton_over_uploaded_frames(launch, tiny_server, utd_root, tmp_path):
    folder = tmp_path / "wave"
    folder.mkdir()
    for i, bgr in enumerate(read_clip(utd_root / "wave" / "a3_s1_t1_color.avi")[16:24], start=1):
        cv2.imwrite(str(folder / f"frame_{i}.jpg"), bgr)
    with open_page(launch(), tiny_server) as page:
        page.get_by_label("Frames or video").set_input_files(sorted(folder.iterdir()))
        predict_and_wait(page)
        page.wait_for_function("() => document.querySelectorAll('#strip canvas.skeleton').length === 8",
                               timeout=TIMEOUT_MS)
        joints = page.eval_on_selector_all("#strip canvas.skeleton", "cs => cs.map((c) => Number(c.dataset.joints))")
        assert min(joints) >= 11  # the whole upper body and hips at least, in every frame


def test_no_skeleton_when_nobody_is_there(launch, tiny_server, tmp_path):
    paths = write_frames(tmp_path / "squares", moving_frames(6, seed=3))
    with open_page(launch(), tiny_server) as page:
        page.get_by_label("Frames or video").set_input_files(paths)
        predict_and_wait(page)
        page.wait_for_function("() => document.querySelectorAll('#strip canvas.skeleton').length === 6",
                               timeout=TIMEOUT_MS)
        joints = page.eval_on_selector_all("#strip canvas.skeleton", "cs => cs.map((c) => Number(c.dataset.joints))")
        assert joints == [0] * 6


def test_skeleton_over_the_live_webcam(launch, tiny_server, utd_root, tmp_path):
    y4m = write_y4m(read_clip(utd_root / "wave" / "a3_s1_t1_color.avi"), tmp_path / "wave.y4m")
    browser = launch(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={y4m}")
    with open_page(browser, tiny_server) as page:
        page.get_by_role("button", name="Start webcam").click()
        page.wait_for_function("() => Number(document.querySelector('#preview-skeleton').dataset.joints || 0) >= 11",
                               timeout=TIMEOUT_MS, polling=100)
        page.get_by_role("button", name="Stop webcam").click()
        expect(page.locator("#live")).to_be_hidden()

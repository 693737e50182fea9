"""The page's webcam in a real browser, fed by Chromium's fake camera from a Y4M file: what it sends (each
camera frame once, unmirrored), what it says when the server closes the stream, and the three states live.

    apt-get install -y chromium && pytest -m browser tests/test_browser_live.py
"""

from __future__ import annotations

import itertools
import re
from contextlib import ExitStack

import cv2
import numpy as np
import pytest
from browser_fixtures import FAKE_CAMERA
from test_browser import TIMEOUT_MS, open_page, read_clip, serve, write_y4m

from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
# every frame the page sends over a WebSocket, kept in window.sent as bytes (injected before the page's own code)
RECORD_SENT = """window.sent = [];
const realSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (data instanceof Blob) data.arrayBuffer().then((b) => window.sent.push(Array.from(new Uint8Array(b))));
  return realSend.call(this, data);
};"""
# the states shown, one per prediction (sampled in the page whenever the stats line changes)
STATES_SEEN = """(n) => {
  const seen = window.seenStates = window.seenStates || {stats: "", states: []};
  const stats = document.querySelector("#live-stats").textContent;
  if (stats.includes("frames/s") && stats !== seen.stats) {
    seen.stats = stats;
    seen.states.push(document.querySelector("#state").textContent);
  }
  return seen.states.length >= n && seen.states;
}"""


@pytest.fixture(scope="module")
def camera(launch, tmp_path_factory):
    """camera(frames_bgr, fps) → a Chromium whose fake camera plays those frames (looped); closed at the end."""
    folder, made = tmp_path_factory.mktemp("camera"), itertools.count()

    def start(frames_bgr, fps=15):
        y4m = write_y4m(frames_bgr, folder / f"camera{next(made)}.y4m", fps=fps)
        return launch(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={y4m}")

    return start


def marked_frames(n: int) -> list[np.ndarray]:
    """(480, 640, 3) BGR frames, bright on the left half, with a red mark whose x position numbers the frame."""
    frames = []
    for i in range(n):
        f = np.full((480, 640, 3), 30, np.uint8)
        f[:, :320] = 220
        f[400:440, 10 + 10 * i:30 + 10 * i] = (0, 0, 255)
        frames.append(f)
    return frames


def frame_number(jpeg: list[int]) -> int:
    bgr = cv2.imdecode(np.array(jpeg, np.uint8), cv2.IMREAD_COLOR)
    red = (bgr[400:440, :, 2].astype(int) - bgr[400:440, :, 0]).mean(0) > 100  # (W,) columns of the mark
    return (int(np.argmax(red)) - 10) // 10


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir):
    with serve(ServeSettings(model=tiny_model_dir, stream_idle_s=1)) as url:
        yield url


def test_a_slow_camera_has_each_frame_sent_once_and_unmirrored(camera, tiny_server):
    browser = camera(marked_frames(40), fps=5)  # a webcam in dim light: 5 frames a second, the page asks 15
    with open_page(browser, tiny_server) as page:
        page.add_init_script(RECORD_SENT)
        page.reload()
        page.get_by_role("button", name="Start webcam").click()
        page.wait_for_function("() => window.sent.length >= 8", timeout=TIMEOUT_MS, polling=100)
        sent = page.evaluate("() => window.sent.slice(0, 8)")
    numbers = [frame_number(jpeg) for jpeg in sent]
    assert all(b > a for a, b in zip(numbers, numbers[1:])), numbers  # no frame twice (the mirror: next line)
    for jpeg in sent:  # the preview is mirrored on screen; the frames the model gets are not
        bgr = cv2.imdecode(np.array(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert bgr.shape == (480, 640, 3) and bgr[:380, :320].mean() > 200 > 50 > bgr[:380, 320:].mean()


def test_the_server_closing_an_idle_stream_is_explained(camera, tiny_server):
    with open_page(camera(marked_frames(40)), tiny_server) as page:
        page.get_by_role("button", name="Start webcam").click()
        page.wait_for_function("() => live && live.socket.readyState === WebSocket.OPEN", timeout=TIMEOUT_MS)
        page.evaluate("() => { live.busy = true; }")  # the page stops sending (as a tab in the background may)
        expect(page.locator("#error")).to_have_text("The live stream was closed: idle for 1 s", timeout=TIMEOUT_MS)
        assert page.get_attribute("#webcam", "aria-pressed") == "false" and page.locator("#live").is_hidden()


def test_a_refused_stream_and_a_server_shutdown_are_explained(camera, tiny_model_dir):
    browser = camera(marked_frames(40))
    running = ExitStack()
    url = running.enter_context(serve(ServeSettings(model=tiny_model_dir, max_streams=1)))
    try:
        with open_page(browser, url) as first:
            first.get_by_role("button", name="Start webcam").click()
            expect(first.locator("#live-stats")).to_contain_text("frames/s", timeout=TIMEOUT_MS)  # streaming
            with open_page(browser, url) as second:  # the one stream allowed is taken
                second.get_by_role("button", name="Start webcam").click()
                expect(second.locator("#error")).to_be_visible(timeout=TIMEOUT_MS)
                expect(second.locator("#webcam")).to_have_attribute("aria-pressed", "false")  # closed: the final word
                assert second.text_content("#error") == (  # the server's message, not only the close reason
                    "Live stream: too many live streams: 1 open; the limit is 1 (--max-streams / ACTCAP_MAX_STREAMS); "
                    "try again later")
            running.close()  # the server shuts down under the first page's stream
            expect(first.locator("#webcam")).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
            assert first.text_content("#error") == "The live stream was closed: the server is shutting down"
    finally:
        running.close()


# --- the three states live, on real footage (shipped model) --------------------------------------------------

@pytest.fixture(scope="module")
def real_server(shipped_model_dir):
    with serve(ServeSettings(model=shipped_model_dir)) as url:
        yield url


def test_nobody_moving_live(camera, real_server, utd_root):
    still = read_clip(utd_root / "wave" / "a3_s1_t1_color.avi")[0]  # the person, standing still
    with open_page(camera([still] * 30), real_server) as page:
        page.get_by_role("button", name="Start webcam").click()
        states = page.wait_for_function(STATES_SEEN, arg=4, timeout=TIMEOUT_MS, polling=50).json_value()
        assert set(states) == {"Nobody moving"}, states
        assert (page.text_content("#caption"), page.get_attribute("#result", "data-state")) == (
            "Nobody is moving.", "idle")


def test_a_camera_pan_is_unknown_live(camera, real_server, utd_root):
    still = read_clip(utd_root / "wave" / "a3_s1_t1_color.avi")[0]
    h, w = still.shape[:2]
    pan = [cv2.warpAffine(still, np.float32([[1, 0, -4 * i], [0, 1, 0]]), (w, h), borderMode=cv2.BORDER_REFLECT)
           for i in range(90)]  # the camera turns; nobody acts
    with open_page(camera(pan), real_server) as page:
        page.get_by_role("button", name="Start webcam").click()
        states = page.wait_for_function(STATES_SEEN, arg=4, timeout=TIMEOUT_MS, polling=50).json_value()
        assert set(states) == {"Unknown action"}, states
        assert (page.text_content("#caption"), page.get_attribute("#result", "data-state")) == (
            "I don't recognise this action.", "unknown")


def test_the_page_measures_its_caption_updates_a_second(camera, tiny_server):
    """The stats line says how many caption updates a second this page receives, over the last 3 s (the figure
    the docs quote); the server sends at most one per 100 ms (stream_min_interval_ms), so never above about 10."""
    with open_page(camera(marked_frames(40), fps=15), tiny_server) as page:
        page.get_by_role("button", name="Start webcam").click()
        page.wait_for_function("() => live && (live.updates || []).length >= 6", timeout=TIMEOUT_MS, polling=100)
        stats = page.text_content("#live-stats")
        rate = re.search(r" · (\d+\.\d) updates/s · \d+ ms latency", stats)
        assert rate and 0 < float(rate.group(1)) <= 11, stats

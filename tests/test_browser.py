"""The page in a real browser: Debian's Chromium driven by Playwright against uvicorn on a free local port.

    apt-get install -y chromium && pytest -m browser tests/test_browser.py

Page mechanics (ordering, errors, keyboard, phone width, offline, timeline, webcam wiring) run on the tiny
model; right answers on real UTD-MHAD footage (frames, a video, a fake webcam fed from a clip) need the
shipped model and skip until it exists. The frames test takes a screenshot into its temporary folder (a real
rendering); the docs' screenshots come from `python scripts/screenshots.py`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import pytest
from browser_fixtures import FAKE_CAMERA
from serve_fixtures import encode, moving_frames, serve

from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def real_url(shipped_model_dir):
    with serve(ServeSettings(model=shipped_model_dir)) as url:
        yield url


@contextmanager
def open_page(browser, url, **context):
    """A fresh page on `url` that records every request it makes, to check nothing leaves the server."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("ready", timeout=TIMEOUT_MS)
    try:
        yield page
    finally:
        ctx.close()


def predict_and_wait(page):
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("#caption:not(:empty)", timeout=TIMEOUT_MS)


def write_frames(folder: Path, frames, fmt="PNG") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, f in enumerate(frames, start=1):
        paths.append(folder / f"frame_{i}.{fmt.lower().replace('jpeg', 'jpg')}")
        paths[-1].write_bytes(encode(f, fmt))
    return paths


# --- page mechanics on the tiny model ----------------------------------------------------------------------

def test_frames_in_natural_order_and_result_shown(launch, tiny_url, tmp_path):
    paths = write_frames(tmp_path / "f", moving_frames(12, seed=1))
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([paths[9], paths[1], paths[0], *paths[2:9], *paths[10:]])
        alts = page.locator("#strip img").evaluate_all("els => els.map(e => e.alt)")
        assert alts[:3] == ["frame 1: frame_1.png", "frame 2: frame_2.png", "frame 3: frame_3.png"]
        assert alts[9] == "frame 10: frame_10.png"
        predict_and_wait(page)
        files = [("frames[]", (p.name, p.read_bytes(), "image/png")) for p in paths]
        want = httpx.post(f"{tiny_url}/predict", files=files).json()
        assert page.text_content("#caption") == want["caption"]
        assert page.text_content("#confidence") == f"{100 * want['confidence']:.1f}%"
        assert page.locator("#topk li").count() == 5
        assert page.text_content("#meta").startswith("8 of 12 frames used")
        assert all(u.startswith(tiny_url) or u.startswith(("blob:", "data:")) for u in page.requests)


def test_text_file_error_is_shown_in_plain_words(launch, tiny_url, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a frame\n")
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([notes])
        page.get_by_role("button", name="Predict").click()
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
        assert page.text_content("#error") == ("The server could not use this input: 1 of 1 file could not be used: "
                                               "notes.txt: not an image (Pillow could not identify the format)")


def test_video_with_timeline_option(launch, tiny_url, write_video, tmp_path):
    path = write_video(tmp_path / "long.avi", moving_frames(90, seed=2))  # 6 s at 15 fps
    with open_page(launch(), tiny_url) as page:
        expect(page.locator("#timeline-option")).to_be_hidden()
        page.get_by_label("Frames or video").set_input_files([path])
        # the name at once, then the server's preview adds what it decoded (the preview may win the race)
        expect(page.locator("#selection")).to_have_text("Video: long.avi (90 frames, 6.0 s)", timeout=TIMEOUT_MS)
        page.get_by_label("Timeline: split a long video").check()
        predict_and_wait(page)
        assert page.text_content("#meta").startswith("90 of 90 frames used")  # every frame: the timeline ran


def test_keyboard_labels_and_phone_width(launch, tiny_url):
    with open_page(launch(), tiny_url, viewport={"width": 360, "height": 740}) as page:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        focused = []
        for _ in range(4):
            page.keyboard.press("Tab")
            focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
        assert "files" in focused and "webcam" in focused  # disabled buttons are skipped until frames are chosen
        for name in ("Predict", "Clear", "Start webcam"):
            assert page.get_by_role("button", name=name).count() == 1


def test_timeline_renderer_and_text_only_rendering(launch, tiny_url):
    result = {"prediction": "<b>wave</b>", "confidence": 0.7, "caption": "<img src=x onerror=alert(1)>",
              "top_k": [{"label": "wave", "confidence": 0.7}, {"label": "clap", "confidence": 0.3}],
              "frames_received": 90, "frames_used": 48, "model": "m", "timing_ms": 5, "warnings": [],
              "segments": [{"start": 0, "end": 2, "label": "wave", "confidence": 0.8},
                           {"start": 2, "end": 3, "label": "clap", "confidence": 0.6},
                           {"start": 3, "end": 6, "label": "wave", "confidence": 0.9}],
              "narrative": "A person waves, then claps their hands, then waves."}
    with open_page(launch(), tiny_url) as page:
        page.evaluate("r => render(r)", result)
        assert page.text_content("#caption") == "<img src=x onerror=alert(1)>"  # shown as text, not markup
        assert page.locator("#caption img, #label b").count() == 0
        widths = page.locator("#timeline-bar div").evaluate_all("els => els.map(e => e.style.width)")
        assert [round(float(w.rstrip("%"))) for w in widths] == [33, 17, 50]
        colours = page.locator("#timeline-bar div").evaluate_all("els => els.map(e => e.style.backgroundColor)")
        assert colours[0] == colours[2] != colours[1]
        assert page.locator("#timeline-legend li").all_text_contents() == ["wave", "clap"]
        assert page.text_content("#narrative") == result["narrative"]
        page.evaluate("r => render(r)", {**result, "segments": None})
        assert page.locator("#timeline").is_hidden()


@pytest.fixture(scope="module")
def wary_url(wary_model_dir):
    with serve(ServeSettings(model=wary_model_dir)) as url:
        yield url


def test_the_three_states_are_shown_distinctly(launch, tiny_url, wary_url, tmp_path):
    still = write_frames(tmp_path / "still", [moving_frames(1, seed=3)[0]] * 8)  # a frozen frame: idle
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files(still)
        predict_and_wait(page)
        assert page.text_content("#state") == "Nobody moving"
        assert page.text_content("#caption") == "Nobody is moving."
        assert page.get_attribute("#result", "data-state") == "idle"
        assert page.locator(".prediction").evaluate("e => getComputedStyle(e).opacity") == "0.45"
        page.get_by_role("button", name="Clear").click()
        page.get_by_label("Frames or video").set_input_files(write_frames(tmp_path / "m", moving_frames(8, seed=1)))
        predict_and_wait(page)
        expect(page.locator("#state")).to_have_text("Action")
        assert page.get_attribute("#result", "data-state") == "action"
        assert page.locator(".prediction").evaluate("e => getComputedStyle(e).opacity") == "1"
        badges = {}
        for state in ("action", "unknown", "idle"):
            page.evaluate("s => { document.querySelector('#result').dataset.state = s; }", state)
            badges[state] = page.locator("#state").evaluate("e => getComputedStyle(e).backgroundColor")
        assert len(set(badges.values())) == 3  # three different looks
    with open_page(launch(), wary_url) as page:  # every moving clip is unknown to this model
        page.get_by_label("Frames or video").set_input_files(write_frames(tmp_path / "w", moving_frames(8, seed=4)))
        predict_and_wait(page)
        assert page.text_content("#state") == "Unknown action"
        assert page.text_content("#caption") == "I don't recognise this action."


def test_timeline_names_unknown_and_idle_stretches(launch, tiny_url):
    result = {"prediction": "wave", "confidence": 0.7, "caption": "A person is waving.", "state": "action",
              "top_k": [{"label": "wave", "confidence": 0.7}], "frames_received": 90, "frames_used": 90,
              "model": "m", "timing_ms": 5, "warnings": [], "motion": 0.02,
              "segments": [{"start": 0, "end": 2, "label": "", "confidence": 1, "state": "idle"},
                           {"start": 2, "end": 4, "label": "wave", "confidence": 0.8, "state": "action"},
                           {"start": 4, "end": 6, "label": "", "confidence": 1, "state": "unknown"}],
              "narrative": "A person waves, then does something I don't recognise."}
    with open_page(launch(), tiny_url) as page:
        page.evaluate("r => render(r)", result)
        assert page.locator("#timeline-legend li").all_text_contents() == ["Nobody moving", "wave", "Unknown action"]
        states = page.locator("#timeline-bar div").evaluate_all("els => els.map(e => e.dataset.state)")
        assert states == ["idle", "action", "unknown"]
        assert page.text_content("#narrative") == result["narrative"]


def test_api_docs_render_with_no_network(launch, tiny_url):
    """/docs and /redoc in a browser that may reach nothing but this server: both render the API."""
    ctx = launch().new_context()
    outside = []
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(tiny_url)
              else (outside.append(route.request.url), route.abort()))
    try:
        page = ctx.new_page()
        page.goto(f"{tiny_url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("actcap", timeout=TIMEOUT_MS)
        expect(page.locator(".opblock-summary-path", has_text="/predict")).to_be_visible(timeout=TIMEOUT_MS)
        page.goto(f"{tiny_url}/redoc")
        expect(page.locator("h1", has_text="actcap")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_text("/predict").first).to_be_attached(timeout=TIMEOUT_MS)
    finally:
        ctx.close()
    assert outside == []


def test_webcam_streams_live_captions(launch, tiny_url):
    with open_page(launch(*FAKE_CAMERA), tiny_url) as page:  # Chromium's built-in synthetic camera
        page.get_by_role("button", name="Start webcam").click()
        expect(page.locator("#live-stats")).to_contain_text("frames/s", timeout=TIMEOUT_MS)
        assert page.get_attribute("#webcam", "aria-pressed") == "true"
        assert page.text_content("#caption")
        page.get_by_role("button", name="Stop webcam").click()
        assert page.locator("#live").is_hidden()


# --- right answers on real footage (shipped model) -------------------------------------------------------------

def read_clip(path: Path) -> list:
    cap, frames = cv2.VideoCapture(str(path)), []
    ok, bgr = cap.read()
    while ok:
        frames.append(bgr)
        ok, bgr = cap.read()
    cap.release()
    return frames


def test_real_frames_give_the_right_caption(launch, real_url, utd_root, tmp_path):
    folder = tmp_path / "clap"
    folder.mkdir()
    for i, bgr in enumerate(read_clip(utd_root / "clap" / "a4_s1_t1_color.avi"), start=1):
        cv2.imwrite(str(folder / f"frame_{i}.jpg"), bgr)
    with open_page(launch(), real_url, viewport={"width": 900, "height": 1100}) as page:
        page.get_by_label("Frames or video").set_input_files(sorted(folder.iterdir()))
        predict_and_wait(page)
        assert page.text_content("#label") == "clap"
        assert "clapping" in page.text_content("#caption")
        shot = tmp_path / "screenshot.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000  # a real rendering, not an empty page


def test_real_video_upload(launch, real_url, utd_root):
    with open_page(launch(), real_url) as page:
        page.get_by_label("Frames or video").set_input_files([utd_root / "swipe_left" / "a1_s1_t1_color.avi"])
        predict_and_wait(page)
        assert page.text_content("#label") == "swipe left"


def write_y4m(frames_bgr: list, path: Path, fps: int = 15) -> Path:
    """Raw YUV 4:2:0 frames with a Y4M header: what Chromium's fake camera plays (and loops)."""
    h, w = frames_bgr[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames_bgr:
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())  # (H·3/2, W): Y, U, V
    return path


def test_real_webcam_live_caption(launch, real_url, utd_root, tmp_path):
    y4m = write_y4m(read_clip(utd_root / "wave" / "a3_s1_t1_color.avi"), tmp_path / "wave.y4m")
    browser = launch(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={y4m}")
    with open_page(browser, real_url) as page:
        page.get_by_role("button", name="Start webcam").click()
        expect(page.locator("#live-stats")).to_contain_text("frames/s", timeout=TIMEOUT_MS)
        # sampled in the page every 100 ms until the stats changed twice and "wave" showed up, however long
        # that takes on this machine (TIMEOUT_MS only stops a broken build from hanging)
        page.wait_for_function("""() => {
            const seen = window.seenLive = window.seenLive || {stats: new Set(), labels: []};
            seen.stats.add(document.querySelector("#live-stats").textContent);
            seen.labels.push(document.querySelector("#label").textContent);
            return seen.stats.size >= 3 && seen.labels.includes("wave");
        }""", timeout=TIMEOUT_MS, polling=100)  # the caption keeps updating, and says wave

"""The page with files the browser cannot show itself, and answers that are not an action (issue 19): an AVI gets
thumbnails the server decoded, an animated GIF its real frame count, and an unknown or idle answer no percentage
as its confidence.

    apt-get install -y chromium && pytest -m browser tests/test_browser_uploads.py
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from serve_fixtures import encode, moving_frames, serve
from test_browser import TIMEOUT_MS, open_page, predict_and_wait, write_frames

from actcap.serve import ServeSettings

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def wary_url(wary_model_dir):
    with serve(ServeSettings(model=wary_model_dir)) as url:
        yield url


def loaded_thumbnails(page) -> list[tuple[int, str]]:
    """(natural width, alt) of every server-made thumbnail in the strip, once all have loaded."""
    page.wait_for_selector("#strip li.thumbnail img", timeout=TIMEOUT_MS)
    page.wait_for_function("[...document.querySelectorAll('#strip li.thumbnail img')].every(i => i.complete)",
                           timeout=TIMEOUT_MS)
    return page.locator("#strip li.thumbnail img").evaluate_all("els => els.map(e => [e.naturalWidth, e.alt])")


def test_an_avi_upload_shows_thumbnails_the_server_decoded(launch, tiny_url, write_video, tmp_path):
    path = write_video(tmp_path / "long.avi", moving_frames(90, seed=2))  # 6 s at 15 fps; Chromium plays no AVI
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([path])
        thumbnails = loaded_thumbnails(page)
        assert [w for w, _ in thumbnails] == [64] * 8  # decoded images (a broken one has width 0)
        assert [alt for _, alt in thumbnails][::7] == ["frame 1 of 90: long.avi", "frame 90 of 90: long.avi"]
        expect(page.locator("#selection")).to_have_text("Video: long.avi (90 frames, 6.0 s)")
        expect(page.locator("#strip video")).to_have_count(0)  # the black player the AVI gave is gone
        predict_and_wait(page)  # and the video is still what Predict sends
        assert page.text_content("#meta").startswith("8 of 90 frames used")


def test_an_animated_gif_is_counted_and_shown_frame_by_frame(launch, tiny_url, tmp_path):
    images = [Image.fromarray(f) for f in moving_frames(30, seed=3)]
    path = tmp_path / "wave.gif"
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=66, loop=0)
    with Image.open(path) as gif:
        n = gif.n_frames  # Pillow merges frames that quantise alike: what the file holds, not 30
    assert n > 8
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([path])
        assert len(loaded_thumbnails(page)) == 8
        expect(page.locator("#selection")).to_contain_text(f"Animation: wave.gif ({n} frames, ")
        predict_and_wait(page)  # answered from as many frames as the page said
        assert f" of {n} frames used" in page.text_content("#meta")


def test_teach_thumbnail_of_an_avi_comes_from_the_server(launch, tiny_url, write_video, tmp_path):
    data = write_video(tmp_path / "ex.avi", moving_frames(20, seed=4)).read_bytes()
    with open_page(launch(), tiny_url) as page:
        thumb = page.evaluate("""b64 => videoThumb(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))],
                                                           'ex.avi', { type: 'video/x-msvideo' }))""",
                              base64.b64encode(data).decode())
    assert thumb.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1]))) as im:
        assert im.size == (64, 48)


def test_an_unknown_or_idle_answer_shows_no_percentage(launch, tiny_url, wary_url, tmp_path):
    """The best label of an unknown answer is only the closest known action ("closest: throw" in small print):
    no percentage beside the verdict, no top-5 probabilities, no percentage in the timeline's tooltips."""
    with open_page(launch(), wary_url) as page:  # every moving clip is unknown to this model
        page.get_by_label("Frames or video").set_input_files(write_frames(tmp_path / "w", moving_frames(8, seed=4)))
        predict_and_wait(page)
        assert page.text_content("#state") == "Unknown action"
        assert page.text_content("#label").startswith("closest: ")
        assert page.text_content("#confidence") == ""
        assert page.locator("#confidence-bar").is_hidden() and page.locator("#topk").is_hidden()
        assert "%" not in page.inner_text("#result")
        size = page.locator("#label").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size < page.locator(".prediction").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    still = write_frames(tmp_path / "still", [moving_frames(1, seed=3)[0]] * 8)
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files(still)
        predict_and_wait(page)
        assert page.text_content("#state") == "Nobody moving" and "%" not in page.inner_text("#result")
        page.get_by_role("button", name="Clear").click()
        page.get_by_label("Frames or video").set_input_files(write_frames(tmp_path / "m", moving_frames(8, seed=1)))
        predict_and_wait(page)  # an action again: its percentage and top 5 come back
        expect(page.locator("#state")).to_have_text("Action")
        assert page.text_content("#confidence").endswith("%") and page.locator("#topk li").count() == 5
        page.evaluate("""() => render({prediction: 'wave', confidence: 0.9, caption: 'A person waves.', state: 'action',
            top_k: [{label: 'wave', confidence: 0.9}], frames_received: 9, frames_used: 9, model: 'm', timing_ms: 1,
            warnings: [], segments: [{start: 0, end: 2, label: 'wave', confidence: 0.9, state: 'action'},
                                     {start: 2, end: 3, label: '', confidence: 1, state: 'unknown'}]})""")
        titles = page.locator("#timeline-bar div").evaluate_all("els => els.map(e => e.title)")
        assert titles == ["wave: 0.0–2.0 s (90.0%)", "Unknown action: 2.0–3.0 s"]


def test_a_still_png_keeps_its_own_image(launch, tiny_url, tmp_path):
    path = tmp_path / "one.png"
    path.write_bytes(encode(moving_frames(1, seed=1)[0]))
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([path])
        expect(page.locator("#selection")).to_have_text("1 frame, in this order:")
        page.wait_for_timeout(500)  # the preview answers "1 frame": nothing is replaced
        assert page.locator("#strip img").evaluate_all("els => els.map(e => e.alt)") == ["frame 1: one.png"]


def test_thumbnails_of_a_real_avi_carry_the_pose_of_their_own_frame(launch, tiny_url, utd_root):
    """After Predict, each server-made thumbnail gets the skeleton of the frame it shows (the nearest the answer's
    pose has), not that of the strip position's frame number."""
    with open_page(launch(), tiny_url) as page:
        page.get_by_label("Frames or video").set_input_files([utd_root / "wave" / "a3_s1_t1_color.avi"])
        assert len(loaded_thumbnails(page)) == 8
        predict_and_wait(page)
        page.wait_for_function("() => document.querySelectorAll('#strip li.thumbnail canvas.skeleton').length === 8",
                               timeout=TIMEOUT_MS)
        drawn = page.eval_on_selector_all("#strip li.thumbnail", """lis => lis.map((li) => {
            const c = li.querySelector('canvas.skeleton');
            return [Number(li.dataset.frame), Number(c.dataset.frame), Number(c.dataset.joints)]; })""")
    # the tiny model reads 8 of the 51 frames, about 7 apart: the nearest is at most 4 away
    assert drawn[-1][0] == 50 and all(abs(shown - frame) <= 4 and joints >= 11 for frame, shown, joints in drawn), drawn
    assert [shown for _, shown, _ in drawn] == sorted(shown for _, shown, _ in drawn)


def test_examples_keep_the_person_named_when_they_were_chosen(launch, tiny_url, write_video, tmp_path):
    """An AVI's thumbnail comes from the server, later than the file is chosen: examples added for Ann keep Ann
    even when the person field says Bob by the time their thumbnails arrive."""
    videos = [write_video(tmp_path / f"ex{i}.avi", moving_frames(20, seed=i)) for i in range(4)]
    with open_page(launch(), tiny_url) as page:
        page.get_by_role("button", name="Teach").click()
        for label in ("left", "right"):
            page.get_by_label("New label").fill(label)
            page.get_by_role("button", name="Add label").click()
        person = page.get_by_label("Who is in the next examples")
        files = page.locator("#teach-labels input[type=file]")
        person.fill("Ann")
        person.dispatch_event("change")
        files.nth(0).set_input_files([str(v) for v in videos[:2]])
        person.fill("Bob")  # at once: Ann's thumbnails are still on their way
        person.dispatch_event("change")
        files.nth(1).set_input_files([str(v) for v in videos[2:]])
        page.wait_for_function("() => document.querySelectorAll('#teach-labels img').length === 4", timeout=TIMEOUT_MS)
        people = page.locator("#teach-labels .strip .person").all_text_contents()
    assert people == ["Ann", "Ann", "Bob", "Bob"]

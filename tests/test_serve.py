"""The HTTP contract of `actcap serve`: status codes, fields and the exact text of every refusal.

Runs on the tiny flow-only model (serve_fixtures), so no CNN is loaded: `pytest tests/test_serve.py`.
"""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import TINY_FRAMES, UTD_CLASSES, encode, frame_files, moving_frames

from actcap.cli import main
from actcap.data.video import open_clip
from actcap.inference.predictor import Predictor
from actcap.serve.settings import ServeSettings, resolve_settings

NO_FILES = ("no files received; send images in form field 'frames[]' (or 'frames') or one video in field "
            "'video', as multipart/form-data")
ACCEPTED = ("accepted fields: 'frames[]' or 'frames' (image files), 'video' (one video file), "
            "'order' ('name' or 'as_sent'), 'timeline' (true: segments and a narrative for a long video), "
            "'pose' (true: the person's keypoints too), 'model' (a model name from GET /models)")


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


def same_answer(got: dict, want: dict) -> None:
    assert got["top_k"] == want["top_k"]
    assert (got["prediction"], got["confidence"], got["caption"]) == (want["prediction"], want["confidence"],
                                                                      want["caption"])


# --- the read-only routes -----------------------------------------------------------------------------

def test_health_says_ready_and_which_model(make_client, tiny_model_dir):
    r = make_client(max_frames=10, max_streams=2).get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "model": "tiny", "classes": 5,  # a name, never a path on the server
                        "num_frames": TINY_FRAMES, "streams": ["flow"], "live_streams": 0, "version": "0.1.0",
                        "limits": {"max_frames": 10, "max_upload_mb": 32.0, "max_pixels": 8294400,
                                   "max_streams": 2}}


def test_labels_lists_classes_with_their_sentences(client):
    body = client.get("/labels").json()
    assert body["labels"] == UTD_CLASSES
    assert body["captions"]["clap"] == "A person is clapping their hands."
    assert list(body["captions"]) == UTD_CLASSES


def test_docs_and_openapi_describe_predict(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(body["properties"]) == {"frames[]", "video", "order", "timeline", "pose", "model"}
    assert {"200", "400", "413", "422"} <= set(spec["paths"]["/predict"]["post"]["responses"])
    assert {"/health", "/labels", "/predict"} <= set(spec["paths"])


def test_page_is_served_self_contained(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    page = r.text + client.get("/static/app.js").text + client.get("/static/style.css").text
    assert "http://" not in page and "https://" not in page  # nothing from a CDN: the page works offline
    assert "innerHTML" not in page.replace("never innerHTML", "")  # server text only ever as textContent


# --- POST /predict: the contract ----------------------------------------------------------------------

def test_predict_frames_contract(client, predictor):
    frames = moving_frames(3, seed=1)
    r = client.post("/predict", files=frame_files(frames))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"prediction", "confidence", "caption", "top_k", "frames_received", "frames_used",
                         "model", "timing_ms", "warnings", "state", "motion"}  # no open-set score in this model
    assert body["state"] == "action" and body["motion"] > 0.004
    assert (body["frames_received"], body["frames_used"], body["model"]) == (3, 3, "tiny")
    assert body["warnings"] == ["3 frames given; 8 expected; frames were repeated"]
    assert [t["label"] for t in body["top_k"]] == sorted(UTD_CLASSES, key=lambda c: -next(
        t["confidence"] for t in body["top_k"] if t["label"] == c))
    assert body["timing_ms"] > 0
    same_answer(body, predictor.predict_frames(frames))  # the one inference path, bit for bit (PNG is lossless)


def test_still_frames_are_idle_and_strange_ones_unknown(client, make_client, wary_model_dir):
    still = np.repeat(moving_frames(1, seed=3), 8, axis=0)  # one frame, frozen
    body = client.post("/predict", files=frame_files(still)).json()
    assert (body["state"], body["caption"], body["motion"]) == ("idle", "Nobody is moving.", 0.0)
    assert body["prediction"] in UTD_CLASSES  # the best label stays in the contract
    wary = make_client(model=wary_model_dir)
    body = wary.post("/predict", files=frame_files(moving_frames(8, seed=4))).json()
    assert (body["state"], body["caption"]) == ("unknown", "I don't recognise this action.")
    assert body["open_set_score"] > -1.0
    off = make_client(model=wary_model_dir, open_set=False)
    body = off.post("/predict", files=frame_files(moving_frames(8, seed=4))).json()
    assert body["state"] == "action" and "open_set_score" not in body


def test_openapi_schema_names_the_states(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["Prediction"]["properties"]["state"]["enum"] == ["action", "unknown", "idle"]
    assert "state" in schema["Prediction"]["required"] and "open_set_score" in schema["Prediction"]["properties"]
    assert schema["Segment"]["properties"]["state"]["enum"] == ["action", "unknown", "idle"]


def test_more_frames_than_the_model_takes_are_sampled(client, predictor):
    frames = moving_frames(20, seed=2)
    body = client.post("/predict", files=frame_files(frames, field="frames")).json()  # 'frames' also accepted
    assert (body["frames_received"], body["frames_used"], body["warnings"]) == (20, TINY_FRAMES, [])
    same_answer(body, predictor.predict_frames(frames))


def test_frames_are_ordered_by_natural_name_unless_as_sent(client, predictor):
    frames = moving_frames(12, seed=3)
    sent = [9, 1, 11, 0, 5, 2, 10, 3, 8, 4, 7, 6]  # frame_10 must come after frame_2
    files = frame_files(frames[sent], names=[f"frame_{i + 1}.png" for i in sent])
    by_name, as_sent = predictor.predict_frames(frames), predictor.predict_frames(frames[sent])
    assert by_name["top_k"] != as_sent["top_k"]  # the order matters to this model, so the test means something
    same_answer(client.post("/predict", files=files).json(), by_name)
    same_answer(client.post("/predict", files=files, data={"order": "as_sent"}).json(), as_sent)


@pytest.mark.parametrize("mode,fmt", [("L", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"), ("I;16", "PNG"),
                                      ("P", "PNG"), ("RGB", "WEBP"), ("RGB", "BMP")])
def test_any_image_mode_is_accepted(client, mode, fmt):
    frames = moving_frames(2, seed=4)
    files = [("frames[]", (f"f{i}.{fmt.lower()}", encode(f, fmt, mode), "image/x")) for i, f in enumerate(frames)]
    r = client.post("/predict", files=files)
    assert r.status_code == 200, r.text


def test_mixed_frame_sizes_are_resized_to_the_first(client):
    small, big = moving_frames(2, seed=5), moving_frames(2, seed=6, h=96, w=128)
    files = frame_files(np.concatenate([small, small]), names=["a1.png", "a2.png", "a3.png", "a4.png"])
    files[1] = ("frames[]", ("a2.png", encode(big[0]), "image/png"))
    files[3] = ("frames[]", ("a4.png", encode(big[1]), "image/png"))
    body = client.post("/predict", files=files).json()
    assert body["warnings"][0] == "frame sizes differ; 2 frames (a2.png, a4.png) resized to 64x48, the size of a1.png"


def test_predict_video(client, predictor, write_video, tmp_path):
    path = write_video(tmp_path / "clip.avi", moving_frames(12, seed=7))
    r = client.post("/predict", files={"video": ("clip.avi", path.read_bytes(), "video/x-msvideo")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["frames_received"], body["frames_used"], body["warnings"]) == (12, TINY_FRAMES, [])
    same_answer(body, predictor.predict_clip(open_clip(path)))


def test_predict_video_timeline(client, predictor, write_video, tmp_path):
    frames = moving_frames(90, seed=7)  # 6 s at 15 fps: several 3 s windows
    path = write_video(tmp_path / "long.avi", frames)
    r = client.post("/predict", files={"video": ("long.avi", path.read_bytes(), "video/x-msvideo")},
                    data={"timeline": "true"})
    assert r.status_code == 200, r.text
    want = predictor.predict_timeline(open_clip(path))
    body = r.json()
    assert body["segments"] == want["segments"] and body["narrative"] == want["narrative"]
    assert isinstance(body["narrative"], str)  # segments may be empty: the tiny model is never sure enough
    same_answer(body, want)


def test_short_video_warning_names_the_upload_not_the_temp_file(client, write_video, tmp_path):
    path = write_video(tmp_path / "short.avi", moving_frames(3, seed=8))
    body = client.post("/predict", files={"video": ("short.avi", path.read_bytes(), "video/x-msvideo")}).json()
    assert body["warnings"] == ["3 frames in short.avi; 8 expected; frames were repeated"]


# --- concurrency: threads, never the event loop; answers never crossed -----------------------------------

def test_parallel_requests_get_their_own_answers(make_client, predictor):
    client = make_client(workers=4)
    clips = {seed: moving_frames(10, seed=seed) for seed in range(10, 18)}
    want = {seed: predictor.predict_frames(f)["top_k"] for seed, f in clips.items()}
    assert len({str(w) for w in want.values()}) == len(want)  # distinct answers, so a mix-up would show

    def ask(seed):
        return seed, client.post("/predict", files=frame_files(clips[seed])).json()["top_k"]

    with ThreadPoolExecutor(8) as pool:
        got = dict(pool.map(ask, list(clips) * 2))
    assert got == want


def test_inference_does_not_block_the_event_loop(client, monkeypatch):
    predictor = client.app.state.service.predictor
    started, answered, real = threading.Event(), threading.Event(), predictor.predict_frames
    released = []

    def slow(*args, **kwargs):
        started.set()
        # held until /health has answered: were the loop blocked by this thread, /health could not answer,
        # and the wait would end by its timeout instead (which only keeps a broken build from hanging)
        released.append(answered.wait(timeout=60))
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor, "predict_frames", slow)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/predict", files=frame_files(moving_frames(2, seed=9)))
        assert started.wait(120)
        assert client.get("/health").status_code == 200  # answered while the prediction waits in its thread
        answered.set()
        assert pending.result().status_code == 200
    assert released == [True]


# --- bad input: exact status and text ----------------------------------------------------------------------

def png(seed=0):
    return encode(moving_frames(1, seed=seed)[0])


def big_jpeg():
    noise = np.random.default_rng(0).integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    return encode(noise, "JPEG")


BAD_REQUESTS = {
    "no body": (dict(), 400, NO_FILES),
    "json body": (dict(json={"frames": []}), 400, NO_FILES),
    "only order": (dict(data={"order": "name"}), 400, NO_FILES),
    "wrong field": (dict(files={"image": ("a.png", png(), "image/png")}), 400,
                    f"unexpected form field 'image'; {ACCEPTED}"),
    "two wrong fields": (dict(files=[("img", ("a.png", png(), "image/png")), ("file", ("b.png", png(), "x"))]), 400,
                         f"unexpected form fields 'img', 'file'; {ACCEPTED}"),
    "text in frames": (dict(data={"frames[]": "hello"}), 400,
                       "field 'frames[]' holds text, not a file; send files (multipart parts with a filename)"),
    "frames and video": (dict(files=[("frames[]", ("a.png", png(), "image/png")), ("video", ("v.avi", b"x", "v"))]),
                         400, "send either images in 'frames[]' or one video in 'video', not both"),
    "two videos": (dict(files=[("video", ("a.avi", b"x", "v")), ("video", ("b.avi", b"y", "v"))]), 400,
                   "one video per request; got 2 files in field 'video'"),
    "bad order": (dict(files={"frames[]": ("a.png", png(), "image/png")}, data={"order": "random"}), 400,
                  "order must be 'name' (natural sort by file name, the default) or 'as_sent'; got 'random'"),
    "bad timeline": (dict(files={"video": ("v.avi", b"x", "v")}, data={"timeline": "maybe"}), 400,
                     "timeline must be true or false; got 'maybe'"),
    "bad pose": (dict(files={"frames[]": ("a.png", png(), "image/png")}, data={"pose": "yes please"}), 400,
                 "pose must be true or false; got 'yes please'"),
    "timeline of frames": (dict(files={"frames[]": ("a.png", png(), "image/png")}, data={"timeline": "true"}), 400,
                           "timeline=true needs a video in field 'video'; frames are one short clip"),
    "text file": (dict(files=[("frames[]", ("notes.txt", b"just some notes\n", "text/plain"))]), 422,
                  "1 of 1 file could not be used: notes.txt: not an image (Pillow could not identify the format)"),
    "zero bytes": (dict(files=[("frames[]", ("a.png", png(), "image/png")), ("frames[]", ("b.png", b"", "x"))]),
                   422, "1 of 2 files could not be used: b.png: file is empty (0 bytes)"),
    "truncated jpeg": (dict(files=[("frames[]", ("cut.jpg", big_jpeg()[:6000], "image/jpeg"))]), 422,
                       "1 of 1 file could not be used: cut.jpg: image data is truncated or corrupt (image file is "
                       "truncated (NN bytes not processed))"),
    "several bad": (dict(files=[("frames[]", (f"n{i}.txt", b"no", "text/plain")) for i in range(12)]), 422,
                    "12 of 12 files could not be used: " + "; ".join(
                        f"n{i}.txt: not an image (Pillow could not identify the format)" for i in range(10)) + "; …"),
    "undecodable video": (dict(files={"video": ("clip.avi", b"RIFF not really a video" * 50, "video/avi")}), 422,
                          "clip.avi: OpenCV could not open the file (not a video or unsupported codec)"),
    "empty video": (dict(files={"video": ("clip.mp4", b"", "video/mp4")}), 422, "clip.mp4: file is empty (0 bytes)"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request(client, case):
    kwargs, status, detail = BAD_REQUESTS[case]
    r = client.post("/predict", **kwargs)
    assert r.status_code == status
    got = r.json()["detail"]
    if "(NN bytes" in detail:  # Pillow counts the missing bytes itself
        got = __import__("re").sub(r"\(\d+ bytes", "(NN bytes", got)
    assert got == detail


def test_truncated_video(client, write_video, tmp_path):
    data = write_video(tmp_path / "v.avi", moving_frames(20, seed=1)).read_bytes()
    r = client.post("/predict", files={"video": ("cut.avi", data[: len(data) // 2], "video/avi")})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("cut.avi: frame ")
    assert r.json()["detail"].endswith(" could not be decoded (file truncated?); the container reports 20 frames")


def test_decompression_bomb_is_refused_before_decoding(make_client):
    client = make_client(max_pixels=1_000_000)
    buf = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buf, "PNG")  # 9 Mpx of zeros: a few KB on the wire
    r = client.post("/predict", files={"frames[]": ("big.png", buf.getvalue(), "image/png")})
    assert r.status_code == 422
    assert r.json() == {"detail": "1 of 1 file could not be used: big.png: image is 3000x3000 = 9000000 pixels; "
                                  "the limit is 1000000"}


def test_video_over_the_pixel_limit(make_client, write_video, tmp_path):
    path = write_video(tmp_path / "v.avi", moving_frames(4, seed=1))
    r = make_client(max_pixels=1000).post("/predict", files={"video": ("v.avi", path.read_bytes(), "video/avi")})
    assert (r.status_code, r.json()["detail"]) == (
        422, "v.avi: video frames are 64x48 = 3072 pixels; the limit is 1000 (--max-pixels / ACTCAP_MAX_PIXELS)")


def test_too_many_frames(make_client):
    client = make_client(max_frames=4)
    r = client.post("/predict", files=frame_files(moving_frames(5, seed=1)))
    assert (r.status_code, r.json()["detail"]) == (
        413, "too many frames: 5 files sent; the limit is 4 (--max-frames / ACTCAP_MAX_FRAMES)")
    r = client.post("/predict", files=frame_files(moving_frames(21, seed=1, h=16, w=16)))
    assert (r.status_code, r.json()["detail"]) == (
        413, "too many files: more than 20 sent; the limit is 4 frames (--max-frames / ACTCAP_MAX_FRAMES)")


def test_too_many_bytes(make_client):
    client = make_client(max_upload_mb=0.01)  # 10 KiB
    files = {"frames[]": ("noise.png", b"\0" * 20_000, "image/png")}
    r = client.post("/predict", files=files)
    assert (r.status_code, r.json()["detail"]) == (
        413, "request body is 0.02 MiB; the limit is 0.01 MiB (--max-upload-mb / ACTCAP_MAX_UPLOAD_MB)")

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        yield b"--b\r\nContent-Disposition: form-data; name=\"frames[]\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(10):
            yield b"\0" * 4096

    r = client.post("/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert (r.status_code, r.json()["detail"]) == (
        413, "request body is larger than the limit of 0.01 MiB (--max-upload-mb / ACTCAP_MAX_UPLOAD_MB)")


def test_malformed_multipart(client):
    r = client.post("/predict", content=b"--b\r\nno headers here", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("could not parse the multipart form: ")


def test_unexpected_error_is_json_500_without_traceback(make_client, monkeypatch, caplog):
    client = make_client(raise_server_exceptions=False)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.service.predictor, "predict_frames", broken)
    with caplog.at_level(logging.ERROR, logger="actcap.serve.app"):
        r = client.post("/predict", files=frame_files(moving_frames(2, seed=1)))
    assert (r.status_code, r.json()) == (500, {"detail": "internal server error; the server log has the details"})
    assert "secret internals" in caplog.text and "Traceback" in caplog.text


# --- settings and the command line ------------------------------------------------------------------------

def test_settings_from_env_then_flags():
    env = {"ACTCAP_MAX_FRAMES": "32", "ACTCAP_MAX_UPLOAD_MB": "8.5", "ACTCAP_MAX_PIXELS": "1000000",
           "ACTCAP_MAX_STREAMS": "2"}
    s = resolve_settings(env, max_frames=16, port=None)
    assert (s.max_frames, s.max_upload_mb, s.max_pixels, s.max_streams, s.port) == (16, 8.5, 1_000_000, 2, 5000)
    assert resolve_settings({}) == ServeSettings()


def test_bad_settings_name_the_flag_and_variable():
    with pytest.raises(ValueError) as e:
        resolve_settings({"ACTCAP_MAX_FRAMES": "many"})
    assert str(e.value) == "invalid serve settings:\n  ACTCAP_MAX_FRAMES='many' is not a number"
    with pytest.raises(ValueError) as e:
        resolve_settings({}, max_frames=0, max_upload_mb=-1)
    assert str(e.value) == ("invalid serve settings:\n  --max-frames / ACTCAP_MAX_FRAMES must be at least 1; got 0\n"
                            "  --max-upload-mb / ACTCAP_MAX_UPLOAD_MB must be greater than 0; got -1")


def test_cli_serve_help_and_missing_model(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["serve", "-h"])
    out = capsys.readouterr().out
    for flag in ("--model", "--host", "--port", "--max-frames", "--max-upload-mb", "--max-pixels", "--max-streams"):
        assert flag in out
    assert main(["serve", "--model", str(tmp_path / "nope")]) == 2
    assert f"model directory {tmp_path / 'nope'} does not exist" in capsys.readouterr().err

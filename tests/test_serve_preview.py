"""POST /preview: thumbnails and frame counts for the page, for files the browser cannot play (issue 19: an AVI
showed a black player, an animated GIF was listed as "1 frame" and answered from 783)."""

import base64
import io

import numpy as np
from PIL import Image
from serve_fixtures import encode
from torture import scene


def upload(client, path_or_bytes, name, field="video"):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return client.post("/preview", files={field: (name, data, "application/octet-stream")})


def jpeg_size(data_url: str) -> tuple[int, int]:
    head, payload = data_url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    with Image.open(io.BytesIO(base64.b64decode(payload))) as im:
        assert im.format == "JPEG"
        return im.size


def gif(frames: np.ndarray) -> bytes:
    buf = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=66, loop=0)
    return buf.getvalue()


def test_avi_gets_eight_thumbnails_and_its_frame_count(client, torture_corpus):
    r = upload(client, torture_corpus["avi_mpeg4_hmdb"], "hmdb.avi")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["frames"], body["fps"], body["warnings"]) == ("hmdb.avi", 24, 25.0, [])
    assert [jpeg_size(t) for t in body["thumbnails"]] == [(160, 120)] * 8


def test_a_short_video_gets_one_thumbnail_per_frame_and_its_warning(client, torture_corpus):
    body = upload(client, torture_corpus["mp4_h264_vfr"], "vfr.mp4").json()
    assert body["frames"] == 16 and len(body["thumbnails"]) == 8 and jpeg_size(body["thumbnails"][0]) == (128, 96)
    one = upload(client, torture_corpus["mp4_one_frame"], "one.mp4").json()
    assert (one["frames"], len(one["thumbnails"])) == (1, 1)
    damaged = upload(client, torture_corpus["avi_mpeg4_bframes_last_frame_damaged"], "xvid.avi").json()
    assert damaged["frames"] == 22
    assert damaged["warnings"] == ["xvid.avi: the header reports 24 frames; 22 decode; using the 22 that do"]


def test_an_animated_gif_counts_all_its_frames_as_the_model_reads_them(client):
    animation = gif(scene(30, 48, 64))
    for field in ("frames[]", "video"):
        body = upload(client, animation, "wave.gif", field).json()
        assert body["frames"] == 30 and len(body["thumbnails"]) == 8, field
    predicted = client.post("/predict", files={"frames[]": ("wave.gif", animation, "image/gif")}).json()
    assert predicted["frames_received"] == 30


def test_a_still_image_is_one_frame_the_browser_shows_itself(client):
    body = upload(client, encode(scene(1, 24, 32)[0]), "frame.png", "frames[]").json()
    assert body == {"name": "frame.png", "frames": 1, "fps": None, "thumbnails": [], "warnings": []}


def test_refusals_name_the_file_and_the_reason(client, torture_corpus):
    r = upload(client, torture_corpus["avi_mpeg4_cut_short"], "cut.avi")
    assert (r.status_code, r.json()) == (422, {"detail": "cut.avi: frame 1 could not be decoded (file truncated?); "
                                                         "the container reports 24 frames"})
    png = encode(scene(1, 24, 32)[0])
    r = client.post("/preview", files=[("frames[]", ("a.png", png, "image/png")), ("frames[]", ("b.png", png,
                                                                                                "image/png"))])
    assert (r.status_code, r.json()) == (400, {"detail": "a preview is of one file; got 2 in 'frames[]'"})
    r = client.post("/preview", files={"notes": ("n.txt", b"hi", "text/plain")})
    assert r.status_code == 400 and r.json()["detail"].startswith("unexpected form field 'notes'")

"""POST /predict given what people pick by mistake: a video among the frames (tests/test_realworld.py: the rest)."""

import io

from PIL import Image
from torture import encode, scene


def test_a_video_sent_as_a_frame_says_to_send_it_as_video(tmp_path, client):
    still = io.BytesIO()
    Image.fromarray(scene(1, 48, 64)[0]).save(still, "PNG")
    mp4 = encode(tmp_path / "clip.mp4", scene(4, 48, 64), "libx264").read_bytes()
    webm = encode(tmp_path / "clip.webm", scene(4, 48, 64), "libvpx", container="webm").read_bytes()
    avi = encode(tmp_path / "clip.avi", scene(4, 48, 64), "mjpeg", pix_fmt="yuvj420p").read_bytes()
    r = client.post("/predict", files=[("frames[]", ("a.png", still.getvalue())), ("frames[]", ("b.mp4", mp4)),
                                       ("frames[]", ("c.webm", webm)), ("frames[]", ("d.avi", avi))])
    assert (r.status_code, r.json()) == (422, {"detail": (
        "3 of 4 files could not be used: b.mp4: is an MP4 video, not an image; send it alone in field 'video'; "
        "c.webm: is a WebM video, not an image; send it alone in field 'video'; d.avi: is an AVI video, not an "
        "image; send it alone in field 'video'")})

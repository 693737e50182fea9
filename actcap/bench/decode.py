"""Decoding: OpenCV against PyAV on the clips and on long videos made from them (a section of `actcap bench`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from actcap.bench.common import (
    BenchPlan,
    interleaved,
)
from actcap.data.sampling import previous_indices, uniform_indices
from actcap.data.video import open_clip

log = logging.getLogger(__name__)


def bench_decode(clips: list[Path], plan: BenchPlan, workdir: Path) -> dict:
    """OpenCV sequential, OpenCV seeking and PyAV (actcap's reader) fetching 16 frames + the frame before each."""
    import cv2

    from actcap.data.decode import read_packets

    def opencv_seek(path, wanted):
        cap, out, pos = cv2.VideoCapture(str(path)), {}, -1
        for i in wanted:
            if i != pos + 1:
                cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            out[i], pos = cap.read()[1], i
        cap.release()
        return out

    videos = {"real_mjpeg_avi": clips[0], **make_long_videos(clips, workdir)}
    out = {}
    for name, path in videos.items():
        clip = open_clip(path)
        idx = uniform_indices(len(clip), 16)
        wanted = sorted(set(idx) | set(previous_indices(idx)))
        ms = interleaved({"opencv_sequential": lambda c=clip, w=wanted: c._read_sequential(set(w)),
                          "opencv_seek": lambda p=path, w=wanted: opencv_seek(p, w),
                          "pyav_packets": lambda c=clip, w=wanted: read_packets(c.path, w)}, plan.trials)
        out[name] = {"frames": len(clip), "read": len(wanted), **ms}
    return out


def make_long_videos(clips: list[Path], workdir: Path, n_clips: int = 10) -> dict[str, Path]:
    """A long MJPEG AVI and H.264 MP4s (GOP 30 and 250, B-frames) made from real clips put end to end."""
    import av
    import cv2

    frames = np.concatenate([open_clip(c).read_all() for c in (clips * n_clips)[:n_clips]])
    h, w = frames.shape[1:3]
    out = {"long_mjpeg_avi": workdir / "long_mjpeg.avi"}
    writer = cv2.VideoWriter(str(out["long_mjpeg_avi"]), cv2.VideoWriter_fourcc(*"MJPG"), 15, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    for gop in (30, 250):
        path = out[f"long_h264_gop{gop}_mp4"] = workdir / f"long_h264_gop{gop}.mp4"
        with av.open(str(path), "w") as container:
            s = container.add_stream("libx264", rate=15)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"g": str(gop), "bf": "2", "crf": "23", "preset": "veryfast"}
            for f in frames:
                container.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
            container.mux(s.encode())
    return out

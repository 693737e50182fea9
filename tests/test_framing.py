"""Webcam framing (actcap/data/framing.py): the top of each frame, and framed training copies of a dataset."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import _write_video

from actcap.data.framing import framed_copies, top_crop
from actcap.data.video import open_clip


def banded(t=3, h=40, w=60):
    """Frames whose top half is white and bottom half black, with a red stripe down the left edge."""
    f = np.zeros((t, h, w, 3), np.uint8)
    f[:, : h // 2] = 255
    f[:, :, :4] = (255, 0, 0)
    return f


def test_the_top_of_the_frame_is_kept_centred_and_scaled_back_up():
    frames = banded()
    out = top_crop(frames, 0.5)  # the top 20 rows, the middle 30 columns: white only, no stripe
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert out.min() == 255
    half = top_crop(frames, 0.75)  # 30 rows (20 white, 10 black) scaled to 40: a third black, no stripe
    assert half[:, :24].min() == 255 and half[:, 29:].max() == 0 and (half[..., 1] == half[..., 0]).all()
    assert top_crop(frames, 1.0) is frames
    with pytest.raises(ValueError, match=r"keep is the share of the frame's height to keep, in \(0, 1\]; got 0"):
        top_crop(frames, 0)


def test_framed_copies_link_each_clip_and_write_cropped_copies_once(tmp_path):
    data = tmp_path / "data"
    for label in ("clap", "wave"):
        _write_video(data / label / f"a1_s1_t1_{label}.avi", banded(t=6, h=48, w=64))
    made = framed_copies(data, tmp_path / "out", copies=2, keep=(0.5, 0.55), seed=3)
    assert len(made) == 4
    names = sorted(p.name for p in (tmp_path / "out" / "wave").iterdir())
    assert names[0] == "a1_s1_t1_wave.avi" and (tmp_path / "out" / "wave" / names[0]).is_symlink()
    assert [n.split("_top")[0] for n in names[1:]] == ["a1_s1_t1_wave_framed1", "a1_s1_t1_wave_framed2"]
    copy = open_clip(made[0]).read_all()
    assert copy.shape == (6, 48, 64, 3)
    assert copy.mean() > 240  # the top half or so: white (MJPG leaves a little noise)
    assert framed_copies(data, tmp_path / "out", copies=2, keep=(0.5, 0.55), seed=3) == []  # nothing left to do

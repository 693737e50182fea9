"""Webcam framing: a clip seen from the waist or the chest up, as a laptop's camera sees the person in front of it.

    top_crop(frames, 0.5)                      # the top half of each frame, centred, scaled back to the frame's size
    framed_copies(data_dir, out_dir)           # every clip whole (linked) and cropped: training data for framing

UTD-MHAD shows everybody whole, head to feet; a model that learned only from it reads a person whose legs are out
of the frame as nothing it knows (docs/model-card.md, "Framing": waist up, 8 of 120 held-out clips right).
`framed_copies` writes each clip's copies cropped to random top fractions (`KEEP`), so BlazePose sees in training
what it sees on a webcam — the legs out of view, the hips at the frame's edge — with the clip's label and name
(its subject stays its group: `--group-by '_s(\\d+)_'` keeps the copies with the person).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

KEEP = (0.45, 0.8)
"""The range of the frame's height a framed copy keeps, from the top (drawn uniformly per copy)."""
COPIES = 2
"""Framed copies written per clip."""


def top_crop(frames: np.ndarray, keep: float) -> np.ndarray:
    """(T, H, W, 3) uint8 → the same shape: the top `keep` of the height and as large a share of the width,
    centred, scaled back up (the person nearer the camera, their lower body out of view). keep 1: unchanged."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep is the share of the frame's height to keep, in (0, 1]; got {keep}")
    if keep == 1:
        return frames
    t, h, w = frames.shape[:3]
    ch, cw = max(1, round(h * keep)), max(1, round(w * keep))
    x0 = (w - cw) // 2
    return np.stack([cv2.resize(f[:ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR) for f in frames])


def framed_copies(data_dir: Path, out_dir: Path, copies: int = COPIES, keep: tuple[float, float] = KEEP,
                  seed: int = 0) -> list[Path]:
    """For each clip of `data_dir` (class folders): a link to it in `out_dir/<class>/`, and `copies` cropped copies
    `<stem>_framed<i>_top<NN>.avi` (MJPG at the clip's rate; NN: the share of the height kept, in percent). Returns the
    copies written. Copies already there are kept (a rerun after an interruption writes only what is missing)."""
    from actcap.data.folders import scan_dataset
    from actcap.data.video import open_clip

    rng = np.random.default_rng(seed)
    written = []
    for record in scan_dataset(Path(data_dir)):
        src = Path(record.path)
        folder = Path(out_dir) / record.label
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / src.name
        if not link.exists():
            os.symlink(src.resolve(), link)
        fractions = rng.uniform(*keep, copies)  # drawn before any skip, so a rerun draws the same
        missing = [(folder / f"{src.stem}_framed{i}_top{round(100 * f):02d}.avi", float(f))
                   for i, f in enumerate(fractions, 1)]
        missing = [(dest, f) for dest, f in missing if not dest.exists()]
        if not missing:
            continue
        clip = open_clip(src)
        whole = clip.read_all()  # decoded once for all its copies
        for dest, f in missing:
            frames = top_crop(whole, f)
            h, w = frames.shape[1:3]
            tmp = dest.with_suffix(".part.avi")
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), clip.fps or 15.0, (w, h))
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            writer.release()
            tmp.replace(dest)
            written.append(dest)
    return written

"""What every clip is: frames by index in one layout, uint8 (T, H, W, 3) RGB, and the error a clip that can't be
read raises. The kinds of clip are in `actcap.data.video` (image lists, frame folders: chosen by `open_clip`) and
`actcap.data.video_file` (video files)."""

from __future__ import annotations

import operator
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".3gp", ".mpg", ".mpeg", ".ts", ".mts",
                    ".m2ts", ".flv", ".wmv", ".ogv", ".gif")
"""Files taken as clips by name (datasets, `actcap predict`); a file of another name is still tried by its content.
A GIF is a clip (its frames); so is an animated WebP or PNG, found by content (`actcap.data.video.open_clip`)."""
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
"""Frames of a frame folder or an image list (a GIF there is one frame: its first)."""


class VideoError(Exception):
    """A clip that can't be read; `path` is the file or folder, `reason` what the decoder said."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: frame_2 before frame_10; ties broken by the exact name."""
    parts = re.split(r"(\d+)", name)  # text at even positions, digits at odd ones, so types always line up
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)), name


def is_image_file(path: Path) -> bool:
    """True for a non-hidden file whose extension is in IMAGE_EXTENSIONS."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


class Clip:
    """Base class: `path`, `fps` (None when unknown), `len(clip)` frames, `read(indices)`, `read_all()`."""

    path: Path
    fps: float | None = None
    warnings: Sequence[str] = ()
    """What reading this clip had to work around (a header that miscounts, damaged packets), for the answer."""
    display_name: str | None = None
    """How warnings name this clip (None: its path); the server sets an upload's own file name after opening."""

    @property
    def name(self) -> str:
        return self.display_name or str(self.path)

    def __len__(self) -> int:
        raise NotImplementedError

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at `indices`, in the order asked (repeats allowed), as (len(indices), H, W, 3) uint8 RGB."""
        raise NotImplementedError

    def read_all(self) -> np.ndarray:
        """Every frame, (len(self), H, W, 3) uint8 RGB."""
        return self.read(list(range(len(self))))

    def iter_frames(self):
        """Every frame in order, one (H, W, 3) uint8 RGB array at a time (for videos too long to hold)."""
        for i in range(len(self)):
            yield self.read([i])[0]

    def _check_indices(self, indices: Sequence[int]) -> list[int]:
        idx = [operator.index(i) for i in indices]
        if not idx:
            raise ValueError(f"{self.path}: read() needs at least one frame index")
        bad = [i for i in idx if not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"{self.path}: frame indices {bad[:5]} out of range for a clip of {len(self)} frames")
        return idx

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, fps={self.fps})"


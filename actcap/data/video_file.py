"""A video file as a clip: OpenCV checks it, PyAV decodes only the frames asked for (`actcap.data.decode`), and a
header that miscounts is believed only as far as the frames that decode."""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

from actcap.data.clip import Clip, VideoError
from actcap.data.decode import (
    MISSING_INDEX,
    FrameScan,
    iter_decoded,
    mp4_missing_index,
    read_decoded,
    read_packets,
    scan_frames,
    sniff_image,
    stream_kinds,
)
from actcap.data.frames import shrink_to_working

MIN_DECODED_FRACTION = 0.75
"""A video whose container states a frame count is refused when fewer than this share of it decodes (a file
cut short) and fewer than MIN_DECODED_FRAMES do; otherwise the frames that decode are used and the difference
is reported as a warning."""
MIN_DECODED_FRAMES = 16
"""Enough frames for a model's 16 time slots: a long recording whose tail is damaged (a real cinepak AVI decodes
68 of the 444 frames its header reports) is still answered from what decodes, with a warning saying how little."""
IMAGE_REASON = ("is a {kind} image, not a video; send images as frames (image files to `actcap predict`, "
                "or field 'frames[]' to POST /predict)")
log = logging.getLogger(__name__)


class VideoFileClip(Clip):
    """A video file: OpenCV checks it on open, PyAV decodes only the frames asked for.

    `len` is the container's frame count when the file keeps its word: seeking to the last frame decodes
    it and nothing follows (cheap). Otherwise — a header that over- or under-counts, no count at all, a
    damaged packet — the file is decoded once (`decode.scan_frames`, nothing kept) and the frames that
    decode are the clip, with a warning in `warnings`; it is refused only when the container states a
    count and fewer than MIN_DECODED_FRACTION of it and fewer than MIN_DECODED_FRAMES decode
    (docs/data-formats.md).
    `read` decodes only what the requested frames need (`decode.read_packets`): just those packets for
    intra-only codecs such as MJPEG, for H.264 and the like the GOPs holding them up to the last one wanted;
    frames are bit-identical to OpenCV's. Where that cannot be exact it decodes sequentially from frame 0 up
    to max(indices): with OpenCV for a file that kept its word, else with the tolerant PyAV reader that
    counted it. Frames come out upright (rotation tags applied) and at working size.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(self.path, "file does not exist")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "file is empty (0 bytes)")
        kind = sniff_image(self.path)
        if kind:
            raise VideoError(self.path, IMAGE_REASON.format(kind=kind))
        self._notes: list[str] = []  # the warnings, without the clip's name (it may be set after opening)
        self._scan: FrameScan | None = None  # set when the header could not be trusted
        try:
            cap = self._open()
        except VideoError as e:
            self._open_with_pyav(e)
            return
        try:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else None
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            first = cap.grab()
            # OpenCV may land short of a damaged last frame and still grab one (MPEG-4 Part 2 with B-frames, as
            # in UCF101's AVIs): trusted only when its position after the grab is the end
            last_ok = first and (count <= 1 or (cap.set(cv2.CAP_PROP_POS_FRAMES, count - 1) and cap.grab()
                                                and cap.get(cv2.CAP_PROP_POS_FRAMES) == count))
            more = last_ok and count >= 1 and cap.grab()  # a frame after the last: the header under-counts
        finally:
            cap.release()
        self._len = count
        if not (count > 0 and last_ok and not more):
            self._recount(count, first)

    def _open(self) -> cv2.VideoCapture:
        if not _utf8(self.path):  # OpenCV crashes the process (SIGSEGV) on such a name; PyAV reads it
            raise VideoError(self.path, "OpenCV can't open a file whose name is not valid UTF-8")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise VideoError(self.path, "OpenCV could not open the file (not a video or unsupported codec)")
        return cap

    def _open_with_pyav(self, refusal: VideoError) -> None:
        """A file OpenCV can't open may still decode with PyAV's FFmpeg (it has more decoders); else `refusal`."""
        if mp4_missing_index(self.path):  # first: a cut index can also look like a file of no or other streams
            raise VideoError(self.path, MISSING_INDEX)
        kinds = stream_kinds(self.path)
        if kinds is not None and "video" not in kinds:  # an audio recording, a subtitle file: say so
            held = f"only {' and '.join(sorted(set(kinds)))}" if kinds else "no streams"
            raise VideoError(self.path, f"has no video stream ({held}); expected a video")
        try:
            scan = scan_frames(self.path)
        except av.FFmpegError:
            raise refusal from None
        if not scan.decoded:
            raise refusal
        log.info("%s: OpenCV could not open the file; PyAV decodes %d frames", self.path, scan.decoded)
        self.fps, self._len, self._scan = scan.resolve_fps(scan.fps), scan.decoded, scan

    def _recount(self, count: int, opencv_ok: bool) -> None:
        """Decode the whole file once and make the frames that decode the clip (see the class docstring)."""
        try:
            scan = scan_frames(self.path)
        except av.FFmpegError as e:
            raise VideoError(self.path, f"PyAV could not decode the file ({e})") from e
        n = scan.decoded
        if n == 0:
            raise VideoError(self.path, MISSING_INDEX if mp4_missing_index(self.path) else "decoded 0 frames")
        short = scan.header and count > 0 and n < math.ceil(MIN_DECODED_FRACTION * count)
        if short and n < MIN_DECODED_FRAMES:
            self._raise_truncated(scan.first_bad, count)
        self._len = n
        fps, self.fps = self.fps, scan.resolve_fps(self.fps)
        if fps and self.fps != fps:
            log.info("%s: the header's rate is %g frames/s; the frames' timestamps say %.3g", self.path, fps, self.fps)
        if n == count and not scan.damaged and opencv_ok:
            return  # OpenCV's seek was off, not the file: keep the exact fast paths
        self._scan = scan  # OpenCV's reader disagrees with the file (or can't decode it, as AV1): PyAV reads it
        if scan.damaged or (scan.header and n != count):
            plural = "s" if scan.damaged > 1 else ""
            skipped = f" ({scan.damaged} damaged packet{plural} skipped)" if scan.damaged else ""
            note = f"the header reports {count} frames; {n} decode{skipped}; using the {n} that do"
            if short:
                note = (f"only {n} of the {count} frames the header reports decode{skipped} (file cut short? "
                        f"frame {scan.first_bad} is the first that does not); using the {n} that do")
            log.warning("%s: %s", self.path, note)
            self._notes.append(note)
        elif count > 0 and n != count:  # Matroska/WebM store no count; OpenCV's estimate from the duration
            log.info("%s: the container's duration suggests %d frames; %d decode", self.path, count, n)

    def _raise_truncated(self, decoded: int, reported: int) -> None:
        raise VideoError(self.path, f"frame {decoded} could not be decoded (file truncated?); "
                                    f"the container reports {reported} frames")

    @property
    def warnings(self) -> list[str]:
        return [f"{self.name}: {note}" for note in self._notes]

    def __len__(self) -> int:
        return self._len

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self._check_indices(indices)
        with self._decoder_errors():
            frames = read_packets(self.path, sorted(set(idx))) if self._packets_exact() else None
            if frames is None:
                frames = self._read_sequential(set(idx))
        return np.stack([frames[i] for i in idx])  # (T, H, W, 3)

    def _packets_exact(self) -> bool:
        """Packet numbers are frame numbers unless packets were damaged or don't all give a frame."""
        return self._scan is None or (not self._scan.damaged and self._scan.decoded == self._scan.packets)

    @contextlib.contextmanager
    def _decoder_errors(self):
        """A decoder failing in the middle of a read is this file's problem: a VideoError naming it."""
        try:
            yield
        except (cv2.error, av.FFmpegError, OSError) as e:
            raise VideoError(self.path, f"decoding failed ({type(e).__name__}: {e})") from e

    def _read_sequential(self, wanted: set[int]) -> dict[int, np.ndarray]:
        if self._scan is None:
            frames = self._read_with_opencv(wanted)
            if frames is not None:
                return frames
            self._trust_pyav()
        n = self._scan.decoded  # frames 0 … n - 1 decode
        missing = sorted(i for i in wanted if i >= n)
        frames = read_decoded(self.path, {i for i in wanted if i < n} | ({n - 1} if missing and n else set()))
        if missing:
            self._stand_in(n)
            frames.update({i: frames[n - 1] for i in missing})
        return frames

    def _stand_in(self, n: int) -> None:
        """Fewer frames decode than the count OpenCV vouched for when the file was opened: refused as a file cut
        short would be (MIN_DECODED_FRACTION, MIN_DECODED_FRAMES), else the last frame that decodes stands in for
        the missing ones, and the clip's warnings say so."""
        if n == 0 or (n < math.ceil(MIN_DECODED_FRACTION * len(self)) and n < MIN_DECODED_FRAMES):
            self._raise_truncated(n, len(self))
        note = (f"the header reports {len(self)} frames; {n} decode; frame {n - 1} stands in for the "
                f"{len(self) - n} that do not")
        if note not in self._notes:
            log.warning("%s: %s", self.path, note)
            self._notes.append(note)

    def _read_with_opencv(self, wanted: set[int]) -> dict[int, np.ndarray] | None:
        """Frames `wanted`, decoded from frame 0 by OpenCV; None where it runs out before the last one."""
        frames = {}
        cap = self._open()
        try:
            for i in range(max(wanted) + 1):
                # grab() decodes; retrieve() only converts the frames we keep to BGR arrays
                if not cap.grab():
                    return None
                if i in wanted:
                    ok, bgr = cap.retrieve()
                    if not ok:
                        return None
                    frames[i] = shrink_to_working(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            cap.release()
        return frames

    def _trust_pyav(self) -> None:
        """OpenCV's reader ran out before the count its seek vouched for: from now on the tolerant PyAV reader
        reads the file (it skips a damaged packet where OpenCV stops); beyond what it decodes, see _stand_in."""
        log.info("%s: OpenCV stopped before the %d frames its seek vouched for; reading with PyAV",
                 self.path, len(self))
        self._scan = scan_frames(self.path)

    def iter_frames(self):
        with self._decoder_errors():
            if self._scan is not None:
                yield from itertools.islice(iter_decoded(self.path), len(self))
                return
            cap, done, last = self._open(), 0, None
            try:
                while done < len(self):
                    ok, bgr = cap.read()
                    if not ok:
                        break
                    last = shrink_to_working(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                    yield last
                    done += 1
            finally:
                cap.release()
            if done == len(self):
                return
            self._trust_pyav()  # OpenCV stopped short: the rest from PyAV, which numbers frames alike
            for last in itertools.islice(iter_decoded(self.path), done, len(self)):
                yield last
                done += 1
            if done < len(self):  # the last frame that decodes stands in for the rest
                self._stand_in(done)
                yield from itertools.repeat(last, len(self) - done)


def _utf8(path: Path) -> bool:
    """False for a name that is not valid UTF-8 (an old camera's or a Windows archive's Latin-1 bytes): Python
    holds those bytes as lone surrogates, which OpenCV's string conversion does not survive."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

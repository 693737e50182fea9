"""Decoding video files with PyAV: the fast packet-level reader, and a tolerant reader that trusts what decodes.

    frames = read_packets(path, [0, 15, 31])   # only the packets those frames need; None where not exact
    scan = scan_frames(path)                    # every frame decoded once, damaged packets skipped and counted
    for rgb in iter_decoded(path): …            # the frames scan_frames counted, upright, one at a time

Every frame comes out as (H, W, 3) uint8 RGB, turned upright as a player shows it (a phone's rotation tag) and
reduced to the working size (`actcap.data.frames.shrink_to_working`) before the next one is decoded, so a 4K or
ten-minute video never sits in memory. `sniff_image` tells an image file from a video by its first bytes.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from actcap.data.frames import shrink_to_working
from actcap.data.images import HEIF_BRANDS, image_kind

log = logging.getLogger(__name__)

# first bytes of the image formats a video decoder would also open (as a one-frame "video")
def sniff_image(path: Path) -> str | None:
    """The image format ('PNG', 'JPEG', …) when the file's first bytes are an image's signature, else None."""
    with open(path, "rb") as f:
        return image_kind(f.read(16))


def sniff_video(head: bytes) -> str | None:
    """The container ('MP4', 'WebM', 'AVI') when bytes start as a video file's do; None otherwise (HEIC photos,
    which are MP4-like, too)."""
    if head[4:8] == b"ftyp" and head[8:12] not in HEIF_BRANDS + (b"avif", b"avis"):  # HEIC and AVIF photos
        return "MP4"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "WebM"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    return None


def to_upright_rgb(frame: av.VideoFrame, to_rgb: VideoReformatter, size: tuple[int, int] = (0, 0)) -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8 RGB at working size, rotated as its display matrix says.

    The conversion is the one OpenCV makes (swscale to BGR24 with bicubic filtering, then BGR → RGB: 10-bit
    video differs by up to 38 levels with swscale's defaults) and so is the rotation (a phone's -90 → a quarter
    turn clockwise), so frames are bit-identical to OpenCV's. A stream that changes resolution midway (a
    browser's recording adapting to load) is scaled to `size`, the (width, height) its header declares, as
    OpenCV does, so a clip always stacks into one array."""
    w, h = size if all(size) else (frame.width, frame.height)
    bgr = to_rgb.reformat(frame, format="bgr24", width=w, height=h, interpolation="BICUBIC").to_ndarray()
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    turns = round(getattr(frame, "rotation", 0) / 90) % 4
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, turns))  # (W, H, 3) for a quarter turn
    return shrink_to_working(rgb)


FPS_TOLERANCE = 2.0


@dataclass
class FrameScan:
    """What decoding a whole file found: `decoded` frames, `packets` demuxed, `damaged` packets the decoder
    refused (skipped), `first_bad` the frame number where decoding first failed or ended, `header` the frame
    count the container stores (0 when it stores none: Matroska, WebM), `fps` its average frame rate, `size`
    the (width, height) its header declares."""

    decoded: int = 0
    packets: int = 0
    damaged: int = 0
    first_bad: int | None = None
    header: int = 0
    fps: float | None = None
    size: tuple[int, int] = (0, 0)
    first_time: float | None = None
    last_time: float | None = None

    @property
    def measured_fps(self) -> float | None:
        """Frames per second as the decoded frames' timestamps space them (None under 2 frames or no timestamps)."""
        if self.decoded < 2 or self.first_time is None or self.last_time is None:
            return None
        span = self.last_time - self.first_time
        return (self.decoded - 1) / span if span > 0 else None

    def resolve_fps(self, header_fps: float | None) -> float | None:
        """The header's rate unless the frames' timestamps say otherwise by more than FPS_TOLERANCE times: a
        browser's recording (MediaRecorder WebM) states no rate, and FFmpeg and OpenCV take its 1/1000 s clock
        for one (1000 fps)."""
        measured = self.measured_fps
        if measured is None:
            return header_fps
        if header_fps is None or not 1 / FPS_TOLERANCE <= header_fps / measured <= FPS_TOLERANCE:
            return measured
        return header_fps


def _declared_size(stream) -> tuple[int, int]:
    """(width, height) the stream's header declares, before any frame is decoded; (0, 0) when unknown."""
    return stream.codec_context.width, stream.codec_context.height


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise av.error.InvalidDataError(0, "no video stream", str(path))
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame and slice threads, as OpenCV decodes
    return stream


def _decode_tolerantly(path: Path, scan: FrameScan) -> Iterator[av.VideoFrame]:
    """Every frame that decodes, in presentation order; a packet the decoder refuses is skipped (counted in
    `scan`), and decoding stops where the container can no longer be demuxed."""
    with av.open(str(path)) as container:
        stream = _video_stream(container, path)
        scan.header = max(0, stream.frames)
        rate = stream.average_rate or stream.guessed_rate
        scan.fps = float(rate) if rate else None
        scan.size = _declared_size(stream)
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as e:  # the container itself breaks off here: keep what came before
                log.debug("%s: demuxing stopped after %d packets (%s)", path, scan.packets, e)
                break
            scan.packets += packet.size > 0
            try:
                frames = stream.codec_context.decode(packet)  # the last, empty packet drains the decoder
            except av.FFmpegError as e:
                scan.damaged += 1
                scan.first_bad = scan.decoded if scan.first_bad is None else scan.first_bad
                log.debug("%s: packet %d does not decode (%s); skipped", path, scan.packets, e)
                continue
            for frame in frames:
                scan.decoded += 1
                if frame.time is not None:
                    scan.first_time = frame.time if scan.first_time is None else scan.first_time
                    scan.last_time = frame.time
                yield frame
    if scan.first_bad is None:
        scan.first_bad = scan.decoded


TEXT_ART_CODECS = ("ansi", "bintext", "xbin", "idf")
"""FFmpeg "decodes" any text file named .txt, .nfo, .asc, … as ANSI art (its tty demuxer): not a video to us."""


MISSING_INDEX = ("is an MP4 whose index ('moov' box) is missing or cut short: a recording or a copy that did not "
                 "finish, as when a phone or camera stops mid-recording; its frames can't be found without the index "
                 "(a repair tool such as untrunc, given an intact file from the same camera, can rebuild it)")


def mp4_missing_index(path: Path) -> bool:
    """True for an MP4/MOV whose top-level boxes hold media data ('mdat') but no index ('moov'), or an index that
    runs past the end of the file."""
    end, kinds, at = path.stat().st_size, [], 0
    with open(path, "rb") as f:
        while at + 8 <= end and len(kinds) < 64:
            f.seek(at)
            head = f.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            if size == 1 and len(head) == 16:  # a 64-bit size follows the type
                size = struct.unpack(">Q", head[8:16])[0]
            elif size == 0:  # the box runs to the end of the file
                size = end - at
            kinds.append(kind if kind != b"moov" or at + size <= end else b"moov cut short")
            if size < 8:
                break
            at += size
    return kinds[:1] == [b"ftyp"] and b"mdat" in kinds and b"moov" not in kinds


def stream_kinds(path: Path) -> list[str] | None:
    """The kinds of the file's streams ('video', 'audio', 'subtitle', 'data'), or None when FFmpeg can't open it;
    a text file that FFmpeg would render as ANSI art has no video stream."""
    try:
        with av.open(str(path)) as container:
            return [s.type for s in container.streams  # a damaged header can leave a stream without a codec
                    if not (s.type == "video" and getattr(s.codec_context, "name", None) in TEXT_ART_CODECS)]
    except (av.FFmpegError, OSError):
        return None


def iter_decoded(path: Path) -> Iterator[np.ndarray]:
    """The frames `scan_frames` counts, one at a time: upright RGB at working size."""
    to_rgb, scan = VideoReformatter(), FrameScan()
    for frame in _decode_tolerantly(path, scan):
        yield to_upright_rgb(frame, to_rgb, scan.size)


def scan_frames(path: Path) -> FrameScan:
    """Decode a whole file once (no frame converted or kept) and report what decodes; see FrameScan."""
    scan = FrameScan()
    for _ in _decode_tolerantly(path, scan):
        pass
    return scan


def read_decoded(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Frames `wanted` as numbered by iter_decoded, decoding from the start up to the last one wanted."""
    out, last = {}, max(wanted)
    for i, rgb in enumerate(iter_decoded(path)):
        if i in wanted:
            out[i] = rgb
        if i >= last:
            break
    return out


def read_packets(path: Path, wanted: list[int]) -> dict[int, np.ndarray] | None:
    """Frames `wanted` (sorted, unique) of a video, decoding only the packets they need; None where that
    would not be exact, so the caller decodes sequentially instead.

    Packets are demuxed in order (cheap: no decoding). A GOP — a keyframe and the packets up to the next —
    is skipped undecoded unless it holds a wanted frame, and is decoded only up to (in decode order) its
    last wanted frame; with intra-only codecs (MJPEG) every packet is its own GOP. Frame numbers count
    presentation order as sequential decoding does, and each decoded frame's timestamp is checked against
    the packets sent, so a stream whose packets don't map one-to-one onto frames falls back rather than
    shifting indices.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError):
        return None
    wanted_set, last = set(wanted), wanted[-1]
    out: dict[int, np.ndarray] = {}
    expected: list[tuple[int, int]] = []  # (frame number, pts) of the packets sent, in presentation order per GOP
    decoded = 0
    to_rgb = VideoReformatter()  # one swscale context for every frame (a new one per frame costs ~1 ms)
    with container:
        if not container.streams.video:
            return None
        stream = _video_stream(container, path)
        size = _declared_size(stream)

        def decode(packet) -> bool:
            nonlocal decoded
            for frame in stream.codec_context.decode(packet):
                if decoded >= len(expected) or frame.pts != expected[decoded][1]:
                    return False  # not one frame per packet in pts order
                i = expected[decoded][0]
                if i in wanted_set:  # the conversion OpenCV makes: bit-identical frames
                    out[i] = to_upright_rgb(frame, to_rgb, size)
                decoded += 1
            return True

        def send_gop(gop: list, start: int) -> bool:
            pts = [p.pts for p in gop]
            if any(t is None for t in pts) or min(pts) != pts[0]:
                return False  # no timestamps, or leading frames that reference the previous GOP (open GOP)
            order = sorted(pts)  # presentation order: frame start + k has timestamp order[k]
            need = [order[i - start] for i in wanted_set if start <= i < start + len(gop)]
            if not need:
                return True  # no wanted frame here: skip the GOP undecoded
            # packets after the last needed one (in decode order) can't be referenced by it: don't send them
            position = {t: k for k, t in enumerate(pts)}
            sent = pts[: max(position[t] for t in need) + 1]
            rank = {t: k for k, t in enumerate(order)}
            expected.extend((start + rank[t], t) for t in sorted(sent))
            return all(decode(p) for p in gop[: len(sent)])

        gop, start = [], 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                if packet.is_keyframe and gop:
                    if not send_gop(gop, start):
                        return None
                    start, gop = start + len(gop), []
                    if start > last:
                        break
                gop.append(packet)
            if gop and start <= last and not send_gop(gop, start):
                return None
            if not decode(None) or decoded != len(expected):  # drain the frames the decoder still holds
                return None
        except (av.FFmpegError, ValueError):
            return None  # let the sequential reader report the damage with its own message
    return out if len(out) == len(wanted_set) else None

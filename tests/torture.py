"""The decode-torture corpus: small real-format videos of every kind a person may hand actcap, built by the test.

Each entry of TORTURE names a file, how to write it (PyAV encoders, then byte patches for the damaged ones) and
what actcap must do with it: answer (optionally with a warning it must show) or refuse with one exact line.
Frames are a few dozen at most (two at 4K), so the whole corpus builds in a few seconds.

    def test_x(torture_corpus):
        path = torture_corpus["avi_mpeg4_header_plus_one"]
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
import pytest
from PIL import Image


def scene(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """(t, h, w, 3) uint8 RGB: a textured square crossing a still gradient, so codecs compress it and flow moves."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w]
    background = np.stack([xs * 200 // max(w, 1), ys * 200 // max(h, 1), np.full_like(xs, 60)], -1)
    frames = np.repeat(background.astype(np.uint8)[None], t, axis=0)
    side = max(2, min(h, w) // 4)
    texture = rng.integers(100, 256, size=(side, side, 3), dtype=np.uint8)
    for i in range(t):
        x = (i * max(1, w // 16)) % max(1, w - side)
        y = (h - side) // 2
        frames[i, y:y + side, x:x + side] = texture
    return frames


def encode(path: Path, frames: np.ndarray, codec: str, pix_fmt: str = "yuv420p", fps: int = 15,
           container: str | None = None, options: dict | None = None, pts: list[int] | None = None,
           gray: bool = False, muxer: dict | None = None) -> Path:
    """Write `frames` (T, H, W, 3) with a PyAV encoder (`options`) and muxer (`muxer` options); `pts` in
    milliseconds makes a variable frame rate."""
    h, w = frames.shape[1:3]
    with av.open(str(path), "w", format=container, options=muxer or {}) as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i, rgb in enumerate(frames):
            frame = (av.VideoFrame.from_ndarray(rgb[:, :, 0].copy(), format="gray") if gray
                     else av.VideoFrame.from_ndarray(rgb, format="rgb24"))
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def resolution_change(path: Path) -> Path:
    """An H.264 MKV whose picture drops from 160x120 to 128x96 after 10 frames (a browser recording adapting
    to load): two encoders' packets, in-band headers, muxed into one stream that declares 160x120."""
    packets, codecs = [], []
    for start, frames in ((0, scene(10, 120, 160)), (10, scene(10, 96, 128, seed=1))):
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        codec.time_base = Fraction(1, 15)
        codec.options = {"preset": "veryfast", "x264-params": "repeat-headers=1", "bf": "0"}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = start + i
            packets += codec.encode(frame)
        packets += codec.encode(None)
        codecs.append(codec)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("h264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.extradata = codecs[0].extradata
        for packet in packets:
            packet.stream, packet.time_base = stream, Fraction(1, 15)
            out.mux(packet)
    return path


# --- byte patches for damaged AVIs and rotated MP4s ---------------------------------------------------------

def _patch_u32(data: bytearray, at: int, value: int) -> None:
    data[at:at + 4] = struct.pack("<I", value)


def patch_avi_frame_count(path: Path, delta: int) -> Path:
    """Add `delta` to the frame count an AVI's header declares: avih dwTotalFrames and the video strh dwLength
    (and OpenDML's dmlh, where FFmpeg wrote one)."""
    data = bytearray(path.read_bytes())
    avih = data.index(b"avih") + 8  # fourcc, size, then MainAVIHeader
    total = struct.unpack_from("<I", data, avih + 16)[0]
    _patch_u32(data, avih + 16, total + delta)
    strh = next(m.start() for m in re.finditer(b"strh", data) if data[m.start() + 8:m.start() + 12] == b"vids") + 8
    _patch_u32(data, strh + 32, struct.unpack_from("<I", data, strh + 32)[0] + delta)
    dmlh = data.find(b"dmlh") + 8
    if dmlh > 8 and struct.unpack_from("<I", data, dmlh)[0]:  # FFmpeg reserves it; filled only for big files
        _patch_u32(data, dmlh, struct.unpack_from("<I", data, dmlh)[0] + delta)
    path.write_bytes(bytes(data))
    return path


def _avi_chunks(data: bytes, fourcc: bytes = b"00dc") -> list[tuple[int, int]]:
    """(offset of the payload, size) of every video chunk in the movi list, in file order."""
    at, chunks = data.index(b"movi") + 4, []
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if kind == b"idx1" or kind == b"LIST":
            break
        if kind == fourcc:
            chunks.append((at + 8, size))
        at += 8 + size + (size & 1)
    return chunks


def damage_avi_chunk(path: Path, index: int) -> Path:
    """Overwrite the whole payload of video chunk `index` with 0xFF bytes (the packet no longer decodes)."""
    data = bytearray(path.read_bytes())
    at, size = _avi_chunks(bytes(data))[index]
    data[at:at + size] = b"\xff" * size
    path.write_bytes(bytes(data))
    return path


def damage_last_packets(path: Path, count: int = 1) -> Path:
    """Overwrite the payload of the last `count` video packets with 0xFF bytes, the index untouched: the container
    still counts those frames, as a real UCF101 AVI whose last frame does not decode (issue 19)."""
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(path.read_bytes())
    for at, size in packets[-count:]:
        data[at:at + size] = b"\xff" * size
    path.write_bytes(bytes(data))
    return path


def drop_avi_index(path: Path) -> Path:
    """Remove an AVI's idx1 index (renamed to a JUNK chunk) and clear AVIF_HASINDEX, as some cameras write it."""
    data = bytearray(path.read_bytes())
    at = data.rindex(b"idx1")
    data[at:at + 4] = b"JUNK"
    avih = data.index(b"avih") + 8
    _patch_u32(data, avih + 12, struct.unpack_from("<I", data, avih + 12)[0] & ~0x10)
    path.write_bytes(bytes(data))
    return path


def rotate_mp4(path: Path, degrees: int = 90) -> Path:
    """Set the video track's tkhd display matrix to a rotation, as a phone held upright writes it."""
    cos, sin = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    data = bytearray(path.read_bytes())
    tkhd = data.index(b"tkhd")
    assert data[tkhd + 4] == 0, "version-0 tkhd expected"
    matrix = tkhd + 4 + 40  # type, version/flags, times, track id, duration, reserved, layer, group, volume
    fixed = [cos << 16, sin << 16, 0, -sin << 16, cos << 16, 0, 0, 0, 1 << 30]
    data[matrix:matrix + 36] = struct.pack(">9i", *fixed)
    path.write_bytes(bytes(data))
    return path


def truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


# --- the corpus --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One torture file: `build(path)` writes it; `error` is the exact reason actcap must refuse it with
    (None: it must answer); `frames` and `size` (h, w) what actcap must read from it (upright, as a player
    shows it, at working size); `recovered` the clip's warning after '<file>: ' when the header can't be
    trusted; `warning` another text the answer's warnings must hold."""

    name: str
    suffix: str
    build: Callable[[Path], Path]
    error: str | None = None
    frames: int | None = None
    size: tuple[int, int] | None = None
    recovered: str | None = None
    warning: str | None = None


def _mp4(h: int, w: int, t: int = 16, **kw) -> Callable[[Path], Path]:
    kw.setdefault("options", {"preset": "veryfast"})
    return lambda p: encode(p, scene(t, h, w), "libx264", **kw)


def _avi_mpeg4(t: int = 24, then: Callable[[Path], Path] | None = None, bf: int = 0) -> Callable[[Path], Path]:
    """MPEG-4 Part 2 as HMDB51's and UCF101's AVIs hold it (Xvid/DivX: `bf` B-frames) in 320x240; any suffix."""
    def build(p: Path) -> Path:
        encode(p, scene(t, 240, 320), "mpeg4", fps=25, options={"qscale": "4", "bf": str(bf)})
        return then(p) if then else p
    return build


def _quiet_svt() -> bool:
    """SVT-AV1 prints its banner to stderr unless SVT_LOG says otherwise (read when the encoder starts)."""
    os.environ.setdefault("SVT_LOG", "1")
    return True


def _png(p: Path) -> Path:
    Image.new("RGB", (1, 1), (200, 10, 10)).save(p, format="PNG")
    return p


def _jpeg(p: Path) -> Path:
    Image.new("RGB", (32, 24), (10, 200, 10)).save(p, format="JPEG")
    return p


VFR_MS = [0, 33, 66, 150, 170, 190, 400, 433, 466, 500, 700, 710, 720, 730, 900, 1000]
IMAGE_REASON = ("is a {kind} image, not a video; send images as frames (image files to `actcap predict`, "
                "or field 'frames[]' to POST /predict)")  # written out here, not imported: the test pins the text

TORTURE = [
    Case("avi_mpeg4_hmdb", ".avi", _avi_mpeg4(), size=(240, 320), frames=24),
    Case("avi_mpeg4_header_plus_one", ".avi", _avi_mpeg4(then=lambda p: patch_avi_frame_count(p, +1)),
         size=(240, 320), frames=24, recovered="the header reports 25 frames; 24 decode; using the 24 that do"),
    Case("avi_mpeg4_header_minus_three", ".avi", _avi_mpeg4(then=lambda p: patch_avi_frame_count(p, -3)),
         size=(240, 320), frames=24, recovered="the header reports 21 frames; 24 decode; using the 24 that do"),
    Case("avi_mpeg4_damaged_packet", ".avi", _avi_mpeg4(then=lambda p: damage_avi_chunk(p, 12)),
         size=(240, 320), frames=23,
         recovered="the header reports 24 frames; 23 decode (1 damaged packet skipped); using the 23 that do"),
    # OpenCV seeks short of a last frame that does not decode (B-frames) and grabs another: the real UCF101 AVI
    *(Case(f"{kind}_mpeg4_bframes_last_frame_damaged", f".{kind}", _avi_mpeg4(bf=2, then=damage_last_packets),
           size=(240, 320), frames=22, recovered="the header reports 24 frames; 22 decode; using the 22 that do")
      for kind in ("avi", "mp4")),
    Case("avi_mpeg4_no_index", ".avi", _avi_mpeg4(then=drop_avi_index), size=(240, 320), frames=24),
    Case("avi_mpeg4_cut_short", ".avi", _avi_mpeg4(then=lambda p: truncate(p, 0.4)),
         error="frame 1 could not be decoded (file truncated?); the container reports 24 frames"),
    Case("mp4_h264_phone_rotated_90", ".mp4", lambda p: rotate_mp4(_mp4(240, 320)(p), 90), size=(320, 240),
         frames=16),
    Case("mp4_h264_vfr", ".mp4", _mp4(96, 128, pts=VFR_MS), size=(96, 128), frames=16),
    Case("webm_vp8_mediarecorder", ".webm",
         lambda p: encode(p, scene(20, 120, 160), "libvpx", container="webm"), size=(120, 160), frames=20),
    Case("webm_vp9_mediarecorder", ".webm",
         lambda p: encode(p, scene(20, 120, 160), "libvpx-vp9", container="webm", options={"deadline": "realtime",
                                                                                              "cpu-used": "8"}),
         size=(120, 160), frames=20),
    Case("webm_vp8_live_no_duration", ".webm",  # MediaRecorder streams: no duration, no cues, no frame count
         lambda p: encode(p, scene(20, 120, 160), "libvpx", fps=30, container="webm", muxer={"live": "1"}),
         size=(120, 160), frames=20),
    Case("mp4_fragmented", ".mp4",  # a browser's or a camera's streamed MP4: empty moov, one index per fragment
         _mp4(120, 160, t=20, options={"preset": "veryfast", "g": "8"}, muxer={"movflags": "frag_keyframe+empty_moov"}),
         size=(120, 160), frames=20),
    Case("mp4_av1", ".mp4",  # OpenCV's own FFmpeg has no software AV1 decoder; PyAV's (dav1d) reads it
         lambda p: _quiet_svt() and encode(p, scene(12, 120, 160), "libsvtav1", options={"preset": "12"}),
         size=(120, 160), frames=12),
    Case("mkv_h264", ".mkv", _mp4(120, 160), size=(120, 160), frames=16),
    Case("mkv_h264_resolution_change", ".mkv", resolution_change, size=(120, 160), frames=20),
    Case("mov_h264", ".mov", _mp4(120, 160), size=(120, 160), frames=16),
    Case("mp4_h264_10bit", ".mp4", _mp4(120, 160, pix_fmt="yuv420p10le"), size=(120, 160), frames=16),
    Case("mp4_h264_444", ".mp4", _mp4(120, 160, pix_fmt="yuv444p"), size=(120, 160), frames=16),
    Case("mkv_ffv1_grayscale", ".mkv", lambda p: encode(p, scene(12, 96, 128), "ffv1", pix_fmt="gray", gray=True),
         size=(96, 128), frames=12),
    Case("mp4_one_frame", ".mp4", _mp4(96, 128, t=1), size=(96, 128), frames=1, warning="1 frame in"),
    Case("mp4_306x256", ".mp4", _mp4(256, 306), size=(256, 306), frames=16),
    Case("mp4_452x256", ".mp4", _mp4(256, 452), size=(256, 452), frames=16),
    Case("mkv_97x61_odd", ".mkv", _mp4(61, 97, pix_fmt="yuv444p"), size=(61, 97), frames=16),
    Case("mp4_1280x720", ".mp4", _mp4(720, 1280, t=8), size=(360, 640), frames=8),
    Case("mp4_720x1280_portrait", ".mp4", _mp4(1280, 720, t=8), size=(640, 360), frames=8),
    Case("mp4_3840x2160", ".mp4", _mp4(2160, 3840, t=2, options={"preset": "ultrafast"}), size=(360, 640),
         frames=2),  # 4K UHD is the default pixel limit: the service answers it too
    Case("avi_mjpeg_long", ".avi", lambda p: encode(p, scene(400, 24, 32), "mjpeg", pix_fmt="yuvj420p"),
         size=(24, 32), frames=400),
    Case("mp4_truncated_no_moov", ".mp4", lambda p: truncate(_mp4(96, 128)(p), 0.5),
         error="is an MP4 whose index ('moov' box) is missing or cut short: a recording or a copy that did not "
               "finish, as when a phone or camera stops mid-recording; its frames can't be found without the index "
               "(a repair tool such as untrunc, given an intact file from the same camera, can rebuild it)"),
    Case("png_named_mp4", ".mp4", _png, error=IMAGE_REASON.format(kind="PNG")),
    Case("jpeg_named_avi", ".avi", _jpeg, error=IMAGE_REASON.format(kind="JPEG")),
    Case("empty", ".mp4", lambda p: p.write_bytes(b""), error="file is empty (0 bytes)"),
    Case("random_bytes", ".mkv",
         lambda p: p.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()),
         error="OpenCV could not open the file (not a video or unsupported codec)"),
]
CASES = {c.name: c for c in TORTURE}


class Corpus(dict):
    """name → path of each TORTURE file; a file this PyAV build has no encoder for skips the test that asks."""

    def __init__(self, paths: dict[str, Path], missing: dict[str, str]):
        super().__init__(paths)
        self.missing = missing

    def __missing__(self, name: str) -> Path:
        pytest.skip(f"{name}: {self.missing[name]}")


@pytest.fixture(scope="session")
def torture_corpus(tmp_path_factory) -> Corpus:
    """Every TORTURE file, written once per test session."""
    root = tmp_path_factory.mktemp("torture")
    paths, missing = {}, {}
    for case in TORTURE:
        path = root / f"{case.name}{case.suffix}"
        try:
            case.build(path)
            paths[case.name] = path
        except av.codec.codec.UnknownCodecError as e:
            missing[case.name] = f"this PyAV build cannot encode it ({e})"
    return Corpus(paths, missing)


def join_packets(sources: list[Path], out: Path) -> Path:
    """Concatenate MJPEG AVIs packet for packet (no re-encoding, so every frame is the original's): one video
    of several real clips, as a person filmed doing one action after another."""
    with av.open(str(sources[0])) as first, av.open(str(out), "w") as joined:
        stream = joined.add_stream_from_template(first.streams.video[0])
        n = 0
        for source in sources:
            with av.open(str(source)) as clip:
                for packet in clip.demux(clip.streams.video[0]):
                    if packet.size:  # not the end-of-stream marker
                        packet.stream, packet.pts, packet.dts, packet.time_base = stream, n, n, stream.time_base
                        joined.mux(packet)
                        n += 1
    return out

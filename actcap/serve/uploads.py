"""From a multipart POST /predict body to what the Predictor takes: ordered frames (T, H, W, 3) or a Clip.

    upload = await read_upload(request, settings)            # fields, counts and byte limit checked
    frames, warnings = decode_frames(upload.files, settings)  # in a worker thread: every image decoded
    with open_video(upload.video, settings) as clip: …        # in a worker thread: a temp file + open_clip

Every refusal is an ServiceError carrying an HTTP status and a message that names the file and the problem;
all bad files of a request are reported together. Nothing here runs the model.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from actcap.data.decode import sniff_image, sniff_video
from actcap.data.frames import shrink_to_working
from actcap.data.images import animated_frame_count
from actcap.data.video import (
    VIDEO_EXTENSIONS,
    Clip,
    ImageDecodeError,
    VideoError,
    decode_image_bytes,
    natural_key,
    open_clip,
)
from actcap.serve.errors import TEMP, ServiceError, disk_error
from actcap.serve.forms import (
    FALSE,
    FRAMES,
    MODEL,
    ORDER,
    ORDERS,
    POSE,
    PREDICT_FORM,
    TIMELINE,
    TRUE,
    VIDEO,
    accepted_message,
    accepted_names,
)
from actcap.serve.settings import ServeSettings, source

ACCEPTED = accepted_message(PREDICT_FORM)
MAX_LISTED = 10  # bad files named in one message; the count says how many there were


@dataclass
class NamedFile:
    name: str
    data: bytes


@dataclass
class Upload:
    files: list[NamedFile] = field(default_factory=list)
    """Image files in the order the model will see them."""
    video: NamedFile | None = None
    order: str = "name"
    timeline: bool = False
    """Segment the video over time and narrate it (Predictor.predict_timeline)."""
    model: str | None = None
    """The model to use (a name from GET /models); None: the active one."""
    pose: bool = False
    """Add the person's keypoints to the answer (inference/keypoints.py)."""


def too_large(settings: ServeSettings, size: int | None = None, setting: str = "max_upload_mb") -> ServiceError:
    limit = f"{getattr(settings, setting):g} MiB ({source(setting)})"
    if size is None:  # a streamed (chunked) body, stopped as soon as it passed the limit
        return ServiceError(413, f"request body is larger than the limit of {limit}")
    return ServiceError(413, f"request body is {size / 2**20:.2f} MiB; the limit is {limit}")


def limit_body(request: Request, settings: ServeSettings, setting: str = "max_upload_mb") -> Request:
    """The same request, refusing a body over the `setting` limit (MiB): at once from Content-Length when
    sent, else while it streams in (chunked uploads), so an oversized body is never read whole."""
    limit = int(getattr(settings, setting) * 1024 * 1024)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(settings, int(declared), setting)
    received = 0

    async def receive():
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large(settings, None, setting)
        return message

    return Request(request.scope, receive)


async def read_upload(request: Request, settings: ServeSettings) -> Upload:
    """Parse and check the form: accepted fields only, frames or one video, counts and size within limits."""
    request = limit_body(request, settings)
    try:
        # a few more parts than max_frames are parsed so that the count check below can say how many came
        form = await request.form(max_files=settings.max_frames + 16, max_fields=32)
    except HTTPException as e:  # Starlette's multipart parser refuses malformed bodies and runaway part counts
        if "Too many files" in str(e.detail):
            raise ServiceError(413, f"too many files: more than {settings.max_frames + 16} sent; the limit is "
                                   f"{settings.max_frames} frames ({source('max_frames')})") from None
        raise ServiceError(400, f"could not parse the multipart form: {e.detail}") from None
    try:
        return _check_form(form.multi_items(), settings)
    finally:
        await form.close()  # spooled temp files; _check_form has read the bytes out


def _check_form(items: list, settings: ServeSettings) -> Upload:
    by_field: dict[str, list] = {}
    for key, value in items:
        by_field.setdefault(key, []).append(value)
    unexpected = [k for k in by_field if k not in accepted_names(PREDICT_FORM)]
    if unexpected:
        names = ", ".join(f"'{k}'" for k in unexpected)
        raise ServiceError(400, f"unexpected form field{'s' if len(unexpected) > 1 else ''} {names}; {ACCEPTED}")
    frames = [v for k, v in items if k in FRAMES.names]  # in the order sent, whichever of the two names
    videos = by_field.get(VIDEO.name, [])
    texts = [k for k in (*FRAMES.names, VIDEO.name) for v in by_field.get(k, []) if not isinstance(v, UploadFile)]
    if texts:
        raise ServiceError(400, f"field '{texts[0]}' holds text, not a file; send files (multipart parts with a "
                               "filename)")
    if not frames and not videos:
        raise ServiceError(400, "no files received; send images in form field 'frames[]' (or 'frames') or one "
                               "video in field 'video', as multipart/form-data")
    if frames and videos:
        raise ServiceError(400, "send either images in 'frames[]' or one video in 'video', not both")
    if len(videos) > 1:
        raise ServiceError(400, f"one video per request; got {len(videos)} files in field 'video'")
    twice = [k for k in (ORDER.name, TIMELINE.name, POSE.name, MODEL.name) if len(by_field.get(k, [])) > 1]
    if twice:
        raise ServiceError(400, f"field '{twice[0]}' sent {len(by_field[twice[0]])} times; send it once")
    if len(frames) > settings.max_frames:
        raise ServiceError(413, f"too many frames: {len(frames)} files sent; the limit is {settings.max_frames} "
                               f"({source('max_frames')})")
    order = by_field.get(ORDER.name, ["name"])[-1]
    if order not in ORDERS:
        raise ServiceError(400, f"order must be 'name' (natural sort by file name, the default) or 'as_sent'; "
                               f"got {str(order)[:40]!r}")
    timeline = str(by_field.get(TIMELINE.name, [""])[-1]).strip().lower()
    if timeline not in TRUE + FALSE:
        raise ServiceError(400, f"timeline must be true or false; got {timeline[:40]!r}")
    if timeline in TRUE and not videos:
        raise ServiceError(400, "timeline=true needs a video in field 'video'; frames are one short clip")
    pose = str(by_field.get(POSE.name, [""])[-1]).strip().lower()
    if pose not in TRUE + FALSE:
        raise ServiceError(400, f"pose must be true or false; got {pose[:40]!r}")
    model = str(by_field[MODEL.name][-1]) if MODEL.name in by_field else None
    if videos:
        return Upload(video=_named(videos[0], 1), order=order, timeline=timeline in TRUE, model=model,
                      pose=pose in TRUE)
    files = [_named(f, i) for i, f in enumerate(frames, start=1)]
    if order == "name":
        files.sort(key=lambda f: natural_key(f.name))  # stable: equal names keep the order sent
    return Upload(files=files, order=order, model=model, pose=pose in TRUE)


def _named(upload: UploadFile, index: int) -> NamedFile:
    """Read an uploaded part; its name is the client's file name (path parts dropped) or `file <index>`."""
    name = Path(upload.filename or "").name or f"file {index}"
    upload.file.seek(0)
    return NamedFile(name, upload.file.read())


# --- decoding (blocking: called in a worker thread) -----------------------------------------------------

def decode_frames(files: list[NamedFile], settings: ServeSettings) -> tuple[np.ndarray, list[str]]:
    """Decode every image to RGB at working size; frames of another size are resized to the first good frame's.

    Memory is bounded by design: each image is checked against max_pixels from its header, decoded, and
    reduced to working size (longest side <= 640, `actcap.data.frames.shrink_to_working`) before the next one is
    decoded, straight into the one (T, H, W, 3) array returned; so a request holds at most `max_frames` working
    frames plus one full-size image. Returns (T, H, W, 3) uint8 and warnings. Raises one ServiceError(422)
    listing every file that failed.
    """
    out, sizes, problems, animated = None, [], [], []
    for i, f in enumerate(files):
        try:
            frame = shrink_to_working(decode_image_bytes(f.data, f.name, settings.max_pixels))  # (h, w, 3)
        except ImageDecodeError as e:
            kind = sniff_video(f.data[:16])
            article = "an" if kind in ("MP4", "AVI") else "a"
            problems.append(f"{e.name}: " + (f"is {article} {kind} video, not an image; send it alone in field "
                                             "'video'" if kind else e.reason))
            continue
        if (n := animated_frame_count(f.data)) > 1:
            animated.append(f"{f.name} is animated ({n} frames) and only its first frame was used; send it alone, "
                            f"or in field 'video', to use all its frames")
        if out is None:  # the first good frame sets the size of all
            out = np.empty((len(files),) + frame.shape, np.uint8)  # (T, H, W, 3)
        sizes.append((i, frame.shape[:2]))
        if not problems:  # once a file failed the request is refused: the others are only checked
            # same rule as ImageListClip for image files on disk: area filter to frame 0's size
            h, w = out.shape[1:3]
            out[i] = frame if frame.shape[:2] == (h, w) else cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    if problems:
        listed = "; ".join(problems[:MAX_LISTED]) + ("; …" if len(problems) > MAX_LISTED else "")
        raise ServiceError(422, f"{len(problems)} of {len(files)} file{'s' if len(files) > 1 else ''} could not be "
                               f"used: {listed}")
    h, w = out.shape[1:3]
    resized = [i for i, size in sizes if size != (h, w)]
    warnings = animated[:MAX_LISTED]
    if resized:
        names = ", ".join(files[i].name for i in resized[:5]) + (", …" if len(resized) > 5 else "")
        warnings.append(f"frame sizes differ; {len(resized)} frame{'s' if len(resized) > 1 else ''} ({names}) "
                        f"resized to {w}x{h}, the size of {files[0].name}")
    return out, warnings  # (T, H, W, 3)


@contextlib.contextmanager
def open_video(video: NamedFile, settings: ServeSettings) -> Iterator[Clip]:
    """The upload written to a temporary file and opened with `open_clip`; the file is removed afterwards.

    VideoError (also one raised while the caller reads frames) becomes ServiceError(422) naming the upload,
    never the temporary path.
    """
    if not video.data:
        raise ServiceError(422, f"{video.name}: file is empty (0 bytes)")
    suffix = Path(video.name).suffix.lower()
    # OpenCV probes the content; the suffix only tells open_clip it is a video, so unknown ones get .mp4
    suffix = suffix if suffix in VIDEO_EXTENSIONS else ".mp4"
    with tempfile.TemporaryDirectory(prefix="actcap-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        try:
            path.write_bytes(video.data)
        except OSError as e:  # the half-written copy goes with the folder
            raise disk_error(e, TEMP, len(video.data)) or e from None
        try:
            _check_video_size(path, video.name, settings.max_pixels)
            clip = open_clip(path)
            clip.display_name = video.name  # its warnings name the client's file, never the temp path
            yield clip
        except VideoError as e:
            raise ServiceError(422, f"{video.name}: {hide_temp_path(e.reason, path, video.name)}") from None


def _check_video_size(path: Path, name: str, max_pixels: int) -> None:
    """Refuse a video whose frames are over max_pixels before any frame is decoded (read from the header; an
    animated GIF, WebP or PNG's by Pillow, which reads its header only)."""
    w = h = 0
    if sniff_image(path):
        with contextlib.suppress(Exception):  # noqa: BLE001 - open_clip reports what is wrong with the file
            with Image.open(path) as im:
                w, h = im.size
    else:
        cap = cv2.VideoCapture(str(path))
        try:
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            cap.release()
    if w * h > max_pixels:
        raise ServiceError(422, f"{name}: video frames are {w}x{h} = {w * h} pixels; the limit is {max_pixels} "
                               f"({source('max_pixels')})")


def hide_temp_path(text: str, path: Path, name: str) -> str:
    """A decoder's error `text` with the upload's temporary file named as the client named it, and no trace of
    the temporary folder: a client never learns a path on the server. (Errors only: the decoders' own words
    may hold the path; warnings are written with the clip's name from the start, see open_video.)"""
    return text.replace(str(path), name).replace(str(path.parent), "(upload)")

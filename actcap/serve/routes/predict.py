"""POST /predict: several frames or one video in, one prediction out (with a timeline for a video on request).

The body is read by `uploads.read_upload` after two guards: an upload slot (so at most 2 × workers bodies
are held at once) and the byte limit, checked from Content-Length and while the body streams in. Decoding
and inference run in a worker thread under the service's limiter.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from actcap.data.images import animated_frame_count
from actcap.inference.keypoints import clip_keypoints, frame_keypoints
from actcap.inference.predictor import Predictor
from actcap.serve import uploads
from actcap.serve.forms import PREDICT_FORM, openapi_body
from actcap.serve.schemas import Error, Prediction
from actcap.serve.served import get_model
from actcap.serve.service import ServiceDep
from actcap.serve.settings import ServeSettings

ERRORS = {400: {"model": Error, "description": "malformed request: no files, wrong field, bad option"},
          413: {"model": Error, "description": "too many frames or bytes; the message names the limit"},
          403: {"model": Error, "description": "sent by a page on another site (actcap/serve/origins.py)"},
          404: {"model": Error, "description": "model=NAME names no model; the message lists them"},
          422: {"model": Error, "description": "a file that cannot be used: empty, not an image, truncated, "
                                               "over the pixel limit, undecodable video"},
          507: {"model": Error, "description": "no space left in the temporary folder for the video"}}
router = APIRouter()


@router.post("/predict", response_model=Prediction, response_model_exclude_none=True, responses=ERRORS,
             openapi_extra=openapi_body(PREDICT_FORM, one_of=("frames[]", "video")))
async def predict(request: Request, service: ServiceDep) -> dict:
    """Predict the action in several frames (field `frames[]`) or one video (field `video`).

    Frames are ordered by file name with a natural sort unless `order=as_sent`; any count from 1 to the
    limit is accepted and the model samples its own frame count from them (repeating frames when fewer).
    With a video, `timeline=true` adds `segments` and a `narrative` (the same as `actcap predict --timeline`).
    `pose=true` adds `pose`: the person's 13 joints in each frame the model looked at (docs/api.md).
    `model=NAME` (a form field or query parameter) uses that model from GET /models instead of the active one.
    """
    t0 = time.perf_counter()
    async with service.upload_slots:
        upload = await uploads.read_upload(request, service.settings)
        model = request.query_params.get("model") or upload.model
        predictor = await service.run(get_model, service.models, model)
        if upload.video is not None:
            result = await service.run(predict_video, predictor, upload.video, service.settings, upload.timeline,
                                       upload.pose)
        else:
            result = await service.run(predict_images, predictor, upload.files, service.settings, upload.pose)
    result["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return result


def predict_images(predictor: Predictor, files: list[uploads.NamedFile], settings: ServeSettings,
                   pose: bool = False) -> dict:
    if len(files) == 1 and animated_frame_count(files[0].data) > 1:  # one animated GIF, WebP or PNG: a clip
        return predict_video(predictor, files[0], settings, pose=pose)
    frames, warnings = uploads.decode_frames(files, settings)
    out = predictor.predict_frames(frames, warnings)
    if pose:
        idx = sorted(set(predictor.frames_to_read(len(frames))))
        out["pose"] = frame_keypoints(frames[idx], idx)
    return out


def predict_video(predictor: Predictor, video: uploads.NamedFile, settings: ServeSettings,
                  timeline: bool = False, pose: bool = False) -> dict:
    with uploads.open_video(video, settings) as clip:  # the clip carries the client's file name for warnings
        out = predictor.predict_timeline(clip) if timeline else predictor.predict_clip(clip)
        if pose:
            out["pose"] = clip_keypoints(clip, predictor.frames_to_read(len(clip)))
        return out

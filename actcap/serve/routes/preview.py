"""POST /preview: a few frames of an uploaded video (or animated image) as small JPEGs, and its frame count.

The page shows these where the browser cannot play the file itself (Chromium plays no AVI, the datasets'
format) and counts an animated GIF's frames as the model will read them. Same form, limits and decoder as
POST /predict (`uploads.read_upload`, `uploads.open_video`); no model runs.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np
from fastapi import APIRouter, Request

from actcap.data.images import animated_frame_count, image_kind
from actcap.serve import uploads
from actcap.serve.errors import ServiceError
from actcap.serve.forms import PREDICT_FORM, openapi_body
from actcap.serve.routes.predict import ERRORS
from actcap.serve.schemas import Preview
from actcap.serve.service import ServiceDep
from actcap.serve.settings import ServeSettings

THUMBNAILS = 8
THUMBNAIL_WIDTH = 160
router = APIRouter()


@router.post("/preview", response_model=Preview, responses=ERRORS, openapi_extra=openapi_body(PREDICT_FORM))
async def preview(request: Request, service: ServiceDep) -> dict:
    """Thumbnails and the frame count of one video (field `video`) or one image (field `frames[]`), as the
    model would read it: an animated GIF, WebP or PNG is a clip of all its frames."""
    async with service.upload_slots:
        upload = await uploads.read_upload(request, service.settings)
        if upload.video is None and len(upload.files) != 1:
            raise ServiceError(400, f"a preview is of one file; got {len(upload.files)} in 'frames[]'")
        return await service.run(make_preview, upload.video or upload.files[0], service.settings)


def make_preview(upload: uploads.NamedFile, settings: ServeSettings, count: int = THUMBNAILS) -> dict:
    """Up to `count` evenly spaced frames of the upload as JPEG data URLs, with its frame count and rate."""
    if image_kind(upload.data[:16]) and animated_frame_count(upload.data) <= 1:  # a still image
        return {"name": upload.name, "frames": 1, "fps": None, "thumbnails": [], "warnings": []}
    with uploads.open_video(upload, settings) as clip:
        n = len(clip)
        indices = sorted({int(i) for i in np.linspace(0, n - 1, min(count, n)).round()})
        thumbnails = [_jpeg_data_url(frame) for frame in clip.read(indices)]  # (H, W, 3) RGB each
        return {"name": upload.name, "frames": n, "fps": clip.fps, "thumbnails": thumbnails,
                "warnings": list(clip.warnings)}


def _jpeg_data_url(rgb: np.ndarray) -> str:
    h, w = rgb.shape[:2]
    if w > THUMBNAIL_WIDTH:
        rgb = cv2.resize(rgb, (THUMBNAIL_WIDTH, max(1, round(h * THUMBNAIL_WIDTH / w))), interpolation=cv2.INTER_AREA)
    _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")

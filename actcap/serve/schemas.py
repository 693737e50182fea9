"""Response models: what /docs shows and what every reply is checked against before it leaves. A prediction's
shape is the inference layer's own (actcap/inference/result.py), reused here, not redefined."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from actcap.inference.result import LabelScore, Prediction, Segment, State

__all__ = ["Error", "Health", "LabelScore", "Labels", "Limits", "LivePrediction", "LIVE_PREDICTION", "Prediction",
           "Preview", "Segment", "State"]

class LivePrediction(Prediction):
    """A /stream update: a prediction over the last frames plus how fast the stream runs."""

    type: Literal["prediction"]
    fps: Annotated[float, Field(description="frames processed per second over the last second")]
    latency_ms: Annotated[float, Field(description="from receiving the newest frame to sending this update")]
    frames_dropped: Annotated[int, Field(description="frames skipped because the client sent faster than the "
                                                     "server could process")]


LIVE_PREDICTION = TypeAdapter(LivePrediction)  # checks an update before it is sent, as response_model does


class Limits(BaseModel):
    max_frames: int
    max_upload_mb: float
    max_pixels: int
    max_streams: int


class Health(BaseModel):
    status: str = Field(description="'ready' once the model is loaded and warmed up", examples=["ready"])
    model: str = Field(description="model name (its run directory's name; never a path on the server)")
    classes: int
    num_frames: int = Field(description="time slots the model pools a clip into; not the frames it reads: a "
                                        "dense model (the shipped one) reads every frame up to 64, which is "
                                        "why an answer can say '50 of 50 frames used'")
    streams: list[str] = Field(description="input streams, e.g. appearance and flow")
    live_streams: int = Field(description="open /stream connections")
    limits: Limits
    version: str


class Labels(BaseModel):
    labels: list[str]
    captions: dict[str, str] = Field(description="the sentence said for each label when the model is sure")


class Error(BaseModel):
    detail: str = Field(examples=["3 of 16 files could not be used: notes.txt: not an image (Pillow could not "
                                  "identify the format)"])


class Preview(BaseModel):
    """POST /preview: what the page shows of an upload the browser may not play itself."""

    name: str = Field(description="the uploaded file's name")
    frames: int = Field(description="frames the model would read from it (an animated GIF's too)")
    fps: float | None = Field(description="frames per second, when the file states or implies it")
    thumbnails: list[str] = Field(description="up to 8 evenly spaced frames as JPEG data URLs, 160 px wide at most; "
                                              "empty for a still image, which the browser shows itself")
    warnings: list[str] = Field(description="what the decoder recovered from, as a prediction would say")

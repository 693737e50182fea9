"""Response models: what /docs shows and what every reply is checked against before it leaves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

State = Literal["action", "unknown", "idle"]


class LabelScore(BaseModel):
    label: str = Field(examples=["clap"])
    confidence: float = Field(ge=0, le=1, examples=[0.91])


class Segment(BaseModel):
    """One stretch of a longer video where one action holds (from the captions timeline)."""

    start: float = Field(description="seconds from the start of the video")
    end: float = Field(description="seconds from the start of the video")
    label: str = Field(description="the action; empty for a stretch whose state is unknown or idle")
    confidence: float = Field(ge=0, le=1)
    state: State = Field("action", description="action, unknown (none of the model's actions) or idle (nothing "
                                                "moves)")


class Prediction(BaseModel):
    prediction: str = Field(description="the most likely action", examples=["clap"])
    confidence: float = Field(ge=0, le=1, description="its calibrated probability", examples=[0.91])
    caption: str = Field(description="a sentence that is as sure as the model is; for state unknown or idle, "
                                     "one that says so", examples=["A person is clapping their hands."])
    state: State = Field(description="action: one of the model's actions is recognised; unknown: something "
                                     "happens that matches none of them; idle: nothing moves",
                         examples=["action"])
    open_set_score: float | None = Field(description="how unlike the model's training clips this input is "
                                                     "(its open-set score; above the model's threshold → "
                                                     "unknown); null when the model has none or it is off",
                                         examples=[0.12])
    motion: float = Field(ge=0, le=1, description="fraction of pixels moving in the busiest stretch (below "
                                                  "0.004 → idle)", examples=[0.013])
    top_k: list[LabelScore] = Field(description="the most likely actions, best first")
    frames_received: int = Field(description="images uploaded, or frames in the uploaded video")
    frames_used: int = Field(description="distinct frames the model looked at")
    model: str = Field(description="name of the model that answered")
    timing_ms: float = Field(description="server time for this request: decoding plus inference")
    warnings: list[str] = Field(default_factory=list,
                                examples=[["3 frames given; 16 expected; frames were repeated"]])
    segments: list[Segment] | None = Field(None, description="timeline of a longer video, when computed")
    narrative: str | None = Field(None, description="the timeline told as one sentence, when computed")


class LivePrediction(Prediction):
    """A /stream update: a prediction over the last frames plus how fast the stream runs."""

    type: str = "prediction"
    fps: float = Field(description="frames processed per second over the last second")
    latency_ms: float = Field(description="from receiving the newest frame to sending this update")
    frames_dropped: int = Field(description="frames skipped because the client sent faster than the server "
                                            "could process")


class Limits(BaseModel):
    max_frames: int
    max_upload_mb: float
    max_pixels: int
    max_streams: int


class Health(BaseModel):
    status: str = Field(description="'ready' once the model is loaded and warmed up", examples=["ready"])
    model: str = Field(description="model name (its run directory's name; never a path on the server)")
    classes: int
    num_frames: int = Field(description="frames per clip the model samples")
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

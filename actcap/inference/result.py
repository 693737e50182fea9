"""What a prediction is: the dict every Predictor method returns, typed once for Python and for the API.

    out = Predictor.load(None).predict_paths(["clip.avi"])     # a `Prediction`: a plain dict at run time
    out["prediction"], out["confidence"], out["top_k"][0]["label"]

They are `TypedDict`s whose fields carry pydantic `Field`s, so serve/schemas.py reuses them as FastAPI response
models (validated before a reply leaves, described in /docs) while callers keep indexing plain dicts.
pydantic needs `typing_extensions.TypedDict` before Python 3.12, and no `from __future__ import annotations`
here: with string annotations `NotRequired` is invisible to `Prediction.__required_keys__`.
"""

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

State = Literal["action", "unknown", "idle"]
Probability = Annotated[float, Field(ge=0, le=1)]


class LabelScore(TypedDict):
    label: Annotated[str, Field(examples=["clap"])]
    confidence: Annotated[float, Field(ge=0, le=1, examples=[0.91])]


class Segment(TypedDict):
    """One stretch of a longer video where one action holds (from the captions timeline)."""

    start: Annotated[float, Field(description="seconds from the start of the video")]
    end: Annotated[float, Field(description="seconds from the start of the video")]
    label: Annotated[str, Field(description="the action; empty for a stretch whose state is unknown or idle")]
    confidence: Probability
    state: Annotated[State, Field(description="action, unknown (none of the model's actions) or idle (nothing "
                                              "moves)")]


class Keypoints(TypedDict):
    """The tracked person's skeleton in the frames the model looked at (inference/keypoints.py), when asked."""

    joints: Annotated[list[str], Field(description="the joint names, in the order of each frame's points",
                                       examples=[["head", "left_shoulder", "right_shoulder"]])]
    frames: Annotated[list[int], Field(description="index of each frame (in the frames sent, or the video)")]
    points: Annotated[list[list[list[float]]], Field(
        description="per frame, per joint: [x, y, confidence], x and y as fractions of the frame's width and "
                    "height (y down); [0, 0, 0] where no person was found")]


class Prediction(TypedDict):
    """A Predictor's answer for a clip, a set of frames, a live window or (with `segments`) a timeline."""

    prediction: Annotated[str, Field(description="the most likely action", examples=["clap"])]
    confidence: Annotated[float, Field(ge=0, le=1, description="its calibrated probability", examples=[0.91])]
    caption: Annotated[str, Field(description="a sentence that is as sure as the model is; for state unknown or "
                                              "idle, one that says so",
                                  examples=["A person is clapping their hands."])]
    state: Annotated[State, Field(description="action: one of the model's actions is recognised; unknown: "
                                              "something happens that matches none of them; idle: nothing moves",
                                  examples=["action"])]
    open_set_score: Annotated[float | None, Field(description="how unlike the model's training clips this input "
                                                              "is (its open-set score; above the model's "
                                                              "threshold → unknown); null when the model has "
                                                              "none or it is off", examples=[0.12])]
    motion: Annotated[float, Field(ge=0, le=1, description="fraction of pixels moving in the busiest stretch "
                                                           "(below 0.004 → idle)", examples=[0.013])]
    top_k: Annotated[list[LabelScore], Field(description="the most likely actions, best first")]
    frames_received: Annotated[int, Field(description="images uploaded, or frames in the uploaded video")]
    frames_used: Annotated[int, Field(description="distinct frames the model looked at")]
    model: Annotated[str, Field(description="name of the model that answered")]
    timing_ms: Annotated[float, Field(description="server time for this request: decoding plus inference")]
    warnings: Annotated[list[str], Field(examples=[["3 frames given; 16 expected; frames were repeated"]])]
    segments: NotRequired[Annotated[list[Segment], Field(description="timeline of a longer video, when computed")]]
    narrative: NotRequired[Annotated[str, Field(description="the timeline told as one sentence, when computed")]]
    pose: NotRequired[Annotated[Keypoints, Field(description="the person's keypoints, when asked (pose=true)")]]

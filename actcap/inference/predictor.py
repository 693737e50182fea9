"""What `actcap predict`, the HTTP service and the live stream call: a Pipeline (pipeline.py) plus captions and
the answer dict.

    actcap predict path/to/clip.avi            # a video file
    actcap predict path/to/frames/             # a folder of frames
    actcap predict f1.jpg f2.jpg … f16.jpg     # a list of images

A Predictor is a `Pipeline` (sampling → features → head → calibrated scores and state) that also chooses
by path type what to open, and turns a verdict into the answer: prediction, confidence, caption, top_k,
frame counts, warnings and timing (the `Prediction` of result.py). Timelines are timeline.py's, live
streams live.py's, finding the model directory model_dir.py's. It imports nothing from the web layer.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from actcap.caption import CaptionPolicy, Captions, resolve_captions
from actcap.config import TimelineConfig
from actcap.data.frames import check_thwc
from actcap.data.sampling import multi_clip_indices, previous_indices
from actcap.data.video import IMAGE_EXTENSIONS, ImageListClip, is_animated_image, open_clip
from actcap.features.cache import read_for
from actcap.honesty.judge import Verdict
from actcap.inference.answer import answer, few_frames_warning
from actcap.inference.live import LiveStream
from actcap.inference.model_dir import DEFAULT_MODEL, resolve_model_dir
from actcap.inference.pipeline import Pipeline
from actcap.inference.result import Prediction
from actcap.inference.timeline import predict_timeline
from actcap.models.recognizer import Recognizer
from actcap.models.store import model_name

__all__ = ["DEFAULT_MODEL", "LiveStream", "Prediction", "Predictor", "open_inputs", "resolve_model_dir"]


class Predictor(Pipeline):
    def __init__(self, model: Recognizer, engine: str | None = None, captions: Captions | None = None,
                 policy: CaptionPolicy | None = None, num_clips: int = 1, top_k: int = 5, name: str = "",
                 open_set: bool = True):
        super().__init__(model, engine=engine, open_set=open_set)
        # the model's own sentences (from its training captions file), then the caller's override
        self.captions = resolve_captions(Captions(model.config.captions, source="model"), captions)
        self.policy = policy or CaptionPolicy()
        self.num_clips, self.top_k = num_clips, top_k
        self.name = name

    @classmethod
    def load(cls, model: str | Path | None = None, **kwargs) -> "Predictor":
        """`model`: a run directory, a taught model's name or None (the shipped model; model_dir.py)."""
        return cls.from_dir(resolve_model_dir(model), **kwargs)

    @classmethod
    def from_dir(cls, path: Path, **kwargs) -> "Predictor":
        """The model in the directory `path`, already resolved, answering as `name` if given, else its store name
        (`default` for the shipped model, as GET /models and `--model default` call it), else its folder's."""
        return cls(Recognizer.load(path), name=kwargs.pop("name", None) or model_name(path), **kwargs)

    def result(self, verdict: Verdict, **extra) -> Prediction:
        """Verdict → the answer dict (result.py `Prediction`, its first fields answer.py's, as the exported
        bundle's); `extra`: frame counts, warnings, timing."""
        return {**answer(verdict, self.classes, self.captions, self.policy, self.top_k), "model": self.name, **extra}

    # --- whole clips -----------------------------------------------------------------------------
    def predict_frames(self, frames: np.ndarray, warnings: list[str] | None = None) -> Prediction:
        """Predict from an ordered list of frames (T, H, W, 3), e.g. uploaded images."""
        t0 = time.perf_counter()
        check_thwc(frames)
        warnings = list(warnings or [])
        n = len(frames)
        if few := few_frames_warning(n, self.num_slots):
            warnings.append(few)
        idx = self.frames_to_read(n)
        if idx == list(range(n)):  # every frame in order (dense sampling, up to 64): each one's predecessor is
            inputs = self.inputs(frames)  # the frame before it, so no (T, H, W, 3) copies are made
        else:  # the frame before each: flow and the motion level compare them
            inputs = self.inputs(frames[idx], frames[previous_indices(idx)])
        return self.result(self.verdict(inputs), frames_received=n, frames_used=len(set(idx)), warnings=warnings,
                           timing_ms=round((time.perf_counter() - t0) * 1000, 1))

    def predict_clip(self, clip) -> Prediction:
        """Predict from a Clip (video file, frame folder, image list): decodes only the frames it needs."""
        t0 = time.perf_counter()
        n = len(clip)
        if self.sampling == "dense" or self.num_clips == 1:
            views = [self.frames_to_read(n)]
        else:
            views = multi_clip_indices(n, self.num_slots, self.num_clips)
        verdict = self.judge.combine([self.verdict(self.inputs(*read_for(self.streams, clip, idx)))
                                      for idx in views])
        warnings = list(clip.warnings)  # after reading: a decoder may only find out then (video_file.py)
        if few := few_frames_warning(n, self.num_slots, f"in {clip.name}"):
            warnings.append(few)
        used = len({i for v in views for i in v})
        return self.result(verdict, frames_received=n, frames_used=used, warnings=warnings,
                           timing_ms=round((time.perf_counter() - t0) * 1000, 1))

    def predict_paths(self, inputs: list[str | Path]) -> Prediction:
        """One video file (an animated GIF, WebP or PNG too), one frame folder, or image files (in the order given)."""
        return self.predict_clip(open_inputs(inputs))

    def predict_timeline(self, clip, window: float = TimelineConfig.window, stride: float = TimelineConfig.stride,
                         smooth: int = TimelineConfig.smooth, min_duration: float = TimelineConfig.min_duration,
                         min_confidence: float = TimelineConfig.min_confidence, chunk: int = 32) -> Prediction:
        """Slide a `window`-second clip over a long video every `stride` seconds and narrate it (timeline.py)."""
        return predict_timeline(self, clip, window, stride, smooth, min_duration, min_confidence, chunk)

    def new_stream(self, window: int | None = None) -> LiveStream:
        """Live-video state (live.py); the window spans as many frames as a typical training clip."""
        return LiveStream(self, window or self.config.clip_frames or self.num_slots)


def open_inputs(inputs: list[str | Path]):
    """The Clip that `predict_paths` reads: one video file or frame folder, or image files (in the order given)."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise ValueError("no input given: pass a video file, a frame folder, or image files")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"input not found: {', '.join(missing)}")
    one = paths[0]  # a folder, a video, or an animated image: a clip of many frames
    if len(paths) == 1 and (one.is_dir() or one.suffix.lower() not in IMAGE_EXTENSIONS
                            or is_animated_image(one)):
        return open_clip(paths[0])
    not_images = [str(p) for p in paths if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if not_images:
        raise ValueError(f"several inputs must all be image files ({', '.join(IMAGE_EXTENSIONS)}); "
                         f"not images: {', '.join(not_images)}")
    return ImageListClip(paths)

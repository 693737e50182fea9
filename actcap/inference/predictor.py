"""The one inference path: the CLI's `predict`, the HTTP service and the live stream all call this.

    actcap predict path/to/clip.avi            # a video file
    actcap predict path/to/frames/             # a folder of frames
    actcap predict f1.jpg f2.jpg … f16.jpg     # a list of images

A Predictor owns a trained Recognizer and its input streams. It samples the model's frame count
uniformly from a clip, computes each frame's stream features once, runs the temporal head and
returns a plain dict: prediction, confidence, caption, top_k, frame counts, warnings and timing.
It imports nothing from the web layer.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

from actcap.caption import IDLE, UNKNOWN, CaptionPolicy, Captions, build_timeline, caption_for, resolve_captions
from actcap.config import DEFAULT_CACHE_FRAMES, TimelineConfig, upgrade_train_record
from actcap.data.frames import check_thwc
from actcap.data.pooling import slot_features
from actcap.data.sampling import multi_clip_indices, previous_indices, uniform_indices
from actcap.data.video import IMAGE_EXTENSIONS, ImageListClip, open_clip
from actcap.features.cache import kept_indices, read_for
from actcap.features.engine import default_engine
from actcap.features.streams import create_streams
from actcap.honesty.held_out import window_views
from actcap.honesty.judge import Judge, Verdict
from actcap.honesty.motion import motion_levels
from actcap.models.recognizer import ModelFileError, Recognizer

log = logging.getLogger(__name__)
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "default_model"


def resolve_model_dir(model: str | Path | None) -> Path:
    """`--model` if given (a run directory, or the name of a taught model: see actcap/teach/store.py), else
    the model shipped inside the package."""
    if model is not None:
        from actcap.teach.store import is_model_name, resolve_taught

        if not Path(model).exists() and is_model_name(str(model)):
            return resolve_taught(str(model))
        return Path(model)
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise ModelFileError(f"no model given and the shipped default model is missing ({DEFAULT_MODEL}); "
                             "pass --model RUN_DIR from `actcap train --out RUN_DIR`")
    return DEFAULT_MODEL


class Predictor:
    def __init__(self, model: Recognizer, engine: str | None = None, captions: Captions | None = None,
                 policy: CaptionPolicy | None = None, num_clips: int = 1, top_k: int = 5, name: str = "",
                 open_set: bool = True):
        self.model = model.eval()
        trained_on = model.config.train.get("engine")
        if trained_on == "onnx-int8" and engine is None:
            engine = trained_on  # the head learnt int8 features; fp32 ones differ by ~15% and shift its answers
        elif trained_on == "onnx-int8" and engine != trained_on:
            log.warning("this model was trained on int8 features (--engine onnx-int8); with --engine %s its "
                        "answers may differ from the ones it was validated with", engine)
        if (engine or default_engine()) != "torch":
            # the head is tiny: one thread runs it ~30x faster than two fighting the CNN for the cores
            torch.set_num_threads(1)
        self.config = model.config
        self.classes = list(model.config.classes)
        self.num_frames = model.config.num_frames
        self.sampling = model.config.sampling
        self.max_frames = int(upgrade_train_record(model.config.train).get("cache_frames", DEFAULT_CACHE_FRAMES))
        self.streams = create_streams(model.config.streams, engine=engine, model_dir=model.model_dir)
        # the model's own sentences (from its training captions file), then the caller's override
        self.captions = resolve_captions(Captions(model.config.captions, source="model"), captions)
        self.policy = policy or CaptionPolicy()
        self.num_clips, self.top_k = num_clips, top_k
        self.name = name
        self.judge = Judge(model, open_set=open_set)  # calibration, unknown and idle (judge.py)

    @classmethod
    def load(cls, model: str | Path | None = None, **kwargs) -> "Predictor":
        path = resolve_model_dir(model)
        return cls(Recognizer.load(path), name=kwargs.pop("name", None) or path.name, **kwargs)

    # --- the steps, usable one by one (the live stream needs them apart) ---------------------------
    def features(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, D) concatenated stream features."""
        check_thwc(frames)
        return np.concatenate([s.extract(frames, previous) for s in self.streams], axis=1)

    def inputs(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, D + 1): the stream features plus each frame's motion level (motion.py)."""
        return np.concatenate([self.features(frames, previous), motion_levels(frames, previous)[:, None]], axis=1)

    def verdict_of_frames(self, inputs: np.ndarray, windowed: bool = False) -> Verdict:
        """(L, D + 1) `inputs` of consecutive frames → Verdict (calibrated probabilities and state); `windowed`:
        a window of a longer stream (live, timeline), judged by its best view and the window threshold (judge.py)."""
        if windowed:
            return self.judge.window([slot_features(v, self.num_frames, self.sampling)[0]
                                      for v in window_views(inputs, self.num_frames)])
        return self.judge(slot_features(inputs, self.num_frames, self.sampling)[0])

    @torch.no_grad()
    def scores(self, features: np.ndarray) -> np.ndarray:
        """(T, D) features of the model's time slots → (C,) calibrated class probabilities (no state)."""
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))[None]  # (1, T, D)
        return (self.model(x) / self.judge.temperature).softmax(-1)[0].numpy()

    def result(self, verdict: Verdict, **extra) -> dict:
        probs = verdict.probs
        order = np.argsort(-probs)[: self.top_k]
        top = [(self.classes[i], float(probs[i])) for i in order]
        caption = {"idle": IDLE, "unknown": UNKNOWN}.get(verdict.state) or caption_for(top, self.captions,
                                                                                      self.policy)
        score = None if verdict.open_set_score is None else round(verdict.open_set_score, 4)
        return {"prediction": top[0][0], "confidence": round(top[0][1], 4), "caption": caption,
                "state": verdict.state, "open_set_score": score, "motion": round(verdict.motion, 4),
                "top_k": [{"label": lab, "confidence": round(p, 4)} for lab, p in top],
                "model": self.name, **extra}

    # --- whole clips -----------------------------------------------------------------------------
    def predict_frames(self, frames: np.ndarray, warnings: list[str] | None = None) -> dict:
        """Predict from an ordered list of frames (T, H, W, 3), e.g. uploaded images."""
        t0 = time.perf_counter()
        check_thwc(frames)
        warnings = list(warnings or [])
        n = len(frames)
        if n < self.num_frames:
            warnings.append(f"{n} frame{'s' if n != 1 else ''} given; {self.num_frames} expected; "
                            "frames were repeated")
        idx = self._frames_to_read(n)
        if idx == list(range(n)):  # every frame in order (dense sampling, up to 64): each one's predecessor is
            inputs = self.inputs(frames)  # the frame before it, so no (T, H, W, 3) copies are made
        else:  # the frame before each: flow and the motion level compare them
            inputs = self.inputs(frames[idx], frames[previous_indices(idx)])
        return self.result(self._verdict(inputs), frames_received=n, frames_used=len(set(idx)), warnings=warnings,
                           timing_ms=round((time.perf_counter() - t0) * 1000, 1))

    def _frames_to_read(self, n: int) -> list[int]:
        """Source frames whose features a prediction needs: N sampled ones, or (dense) all that training
        would have kept."""
        return kept_indices(n, self.max_frames) if self.sampling == "dense" else uniform_indices(n, self.num_frames)

    def _verdict(self, inputs: np.ndarray) -> Verdict:
        """Inputs of the frames `_frames_to_read` chose → Verdict."""
        return self.verdict_of_frames(inputs) if self.sampling == "dense" else self.judge(inputs)

    def predict_clip(self, clip) -> dict:
        """Predict from a Clip (video file, frame folder, image list): decodes only the frames it needs."""
        t0 = time.perf_counter()
        n = len(clip)
        warnings = list(clip.warnings)
        if n < self.num_frames:
            warnings.append(f"{n} frame{'s' if n != 1 else ''} in {clip.path}; {self.num_frames} expected; "
                            "frames were repeated")
        if self.sampling == "dense" or self.num_clips == 1:
            views = [self._frames_to_read(n)]
        else:
            views = multi_clip_indices(n, self.num_frames, self.num_clips)
        verdict = self.judge.combine([self._verdict(self.inputs(*read_for(self.streams, clip, idx)))
                                      for idx in views])
        used = len({i for v in views for i in v})
        return self.result(verdict, frames_received=n, frames_used=used, warnings=warnings,
                           timing_ms=round((time.perf_counter() - t0) * 1000, 1))

    def predict_paths(self, inputs: list[str | Path]) -> dict:
        """One video file, one frame folder, or several image files (in the order given)."""
        paths = [Path(p) for p in inputs]
        if not paths:
            raise ValueError("no input given: pass a video file, a frame folder, or image files")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(f"input not found: {', '.join(missing)}")
        if len(paths) == 1 and (paths[0].is_dir() or paths[0].suffix.lower() not in IMAGE_EXTENSIONS):
            return self.predict_clip(open_clip(paths[0]))
        not_images = [str(p) for p in paths if p.suffix.lower() not in IMAGE_EXTENSIONS]
        if not_images:
            raise ValueError(f"several inputs must all be image files ({', '.join(IMAGE_EXTENSIONS)}); "
                             f"not images: {', '.join(not_images)}")
        return self.predict_clip(ImageListClip(paths))

    def predict_timeline(self, clip, window: float = TimelineConfig.window, stride: float = TimelineConfig.stride,
                         smooth: int = TimelineConfig.smooth, min_duration: float = TimelineConfig.min_duration,
                         min_confidence: float = TimelineConfig.min_confidence, chunk: int = 32) -> dict:
        """Slide a `window`-second clip over a long video every `stride` seconds and narrate the result.

        Each frame goes through the streams once (in chunks, so a long video never sits in memory);
        every window then samples the model's frame count from the features it covers. Returns the
        prediction for the whole video plus `segments` and a one-sentence `narrative`.
        """
        t0 = time.perf_counter()
        fps = clip.fps or 15.0  # a frame folder has no rate; 15 fps is UTD-MHAD's and a common webcam's
        n = len(clip)
        if window <= 0 or stride <= 0:
            raise ValueError(f"--window and --stride must be > 0 seconds; got {window} and {stride}")
        feats, buf, prev = [], [], None
        for frame in clip.iter_frames():
            buf.append(frame)
            if len(buf) == chunk:
                prev = self._features_chunk(buf, prev, feats)
                buf = []
        if buf:
            self._features_chunk(buf, prev, feats)
        allf = np.concatenate(feats)  # (n, D)
        win, step = max(1, round(window * fps)), max(1, round(stride * fps))
        starts = list(range(0, max(1, n - win + 1), step))
        if n > win and starts[-1] != n - win:
            starts.append(n - win)  # a window ending on the last frame: the video's end is covered too
        verdicts = [self.verdict_of_frames(allf[a:a + win], windowed=True) for a in starts]
        scores = np.stack([v.probs for v in verdicts])  # (W, C)
        times = [(a / fps, min(a + win, n) / fps) for a in starts]
        timeline = build_timeline(scores, times, self.classes, smooth=smooth, min_duration=min_duration,
                                  min_confidence=min_confidence, captions=self.captions,
                                  states=[v.state for v in verdicts])
        out = self.result(self.judge.combine(verdicts, windowed=True), frames_received=n, frames_used=n,
                          warnings=list(clip.warnings))
        out.update(timeline.to_dict())
        out["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return out

    def _features_chunk(self, frames: list[np.ndarray], prev: np.ndarray | None, out: list) -> np.ndarray:
        x = np.stack(frames)  # (t, H, W, 3)
        first = prev[None] if prev is not None else x[:1]  # the frame before this chunk (or its own first)
        before = np.concatenate([first, x[:-1]])  # (t, H, W, 3)
        out.append(self.inputs(x, before))
        return x[-1]

    def new_stream(self, window: int | None = None) -> "LiveStream":
        """Live-video state; the window spans as many frames as a typical training clip."""
        return LiveStream(self, window or self.config.clip_frames or self.num_frames)


class LiveStream:
    """Per-connection state for live video: each frame's features are computed once, when it arrives;
    the last `window` are kept (bounded memory) and the head runs over them on demand."""

    def __init__(self, predictor: Predictor, window: int):
        self.predictor = predictor
        self.window: deque[np.ndarray] = deque(maxlen=window)
        self.last_frame: np.ndarray | None = None
        self.frames_seen = 0

    def push(self, frame: np.ndarray) -> None:
        """Add one (H, W, 3) uint8 frame."""
        self.push_many([frame])

    def push_many(self, frames: list[np.ndarray]) -> None:
        """Add consecutive (H, W, 3) uint8 frames: the streams see them as one batch, which costs less per
        frame than one at a time (a client that sends faster than the CNN runs gets its backlog batched)."""
        i = 0
        while i < len(frames):  # a run of frames of one size (a client may switch cameras mid-stream)
            j = i + 1
            while j < len(frames) and frames[j].shape == frames[i].shape:
                j += 1
            run = np.stack(frames[i:j])  # (t, H, W, 3)
            last = self.last_frame
            first = last if last is not None and last.shape == run.shape[1:] else run[0]
            before = np.concatenate([first[None], run[:-1]])  # each frame's predecessor
            self.window.extend(self.predictor.inputs(run, before))  # (t, D + 1) rows
            self.last_frame = run[-1]
            i = j
        self.frames_seen += len(frames)

    def predict(self) -> dict | None:
        if not self.window:
            return None
        t0 = time.perf_counter()
        feats = np.stack(self.window)  # (W, D + 1)
        verdict = self.predictor.verdict_of_frames(feats, windowed=True)  # a window: the window threshold
        out = self.predictor.result(verdict, frames_received=self.frames_seen,
                                    frames_used=len(self.window), warnings=[])
        out["timing_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return out

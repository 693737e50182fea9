"""The one inference path — sampling → features → head → scores — built once from a model's config.

    pipeline = Pipeline(Recognizer.load(run_dir), engine=None)
    idx = pipeline.frames_to_read(len(clip))             # which source frames (data/sampling.py)
    inputs = pipeline.inputs(frames, previous)          # (T, D + 1): stream features + motion level
    verdict = pipeline.verdict(inputs)                  # slots (data/pooling.py) → head → calibrated probs, state
    verdicts = pipeline.clip_verdicts(cached_features)  # evaluate: the same slots, head and rules, batched

`Predictor` (predictor.py: captions and the answer dict), `evaluate` (training/evaluate.py), the live stream
(live.py) and the timeline (timeline.py) all run through one of these; the export bundle ships the same
sampling and pooling modules (export.py). The engine, and the head's threads, come from
features/engine.py (`resolve_engine`, `use_head_threads`), the one place that decides them.
"""

from __future__ import annotations

import numpy as np
import torch

from actcap.data.frames import check_thwc
from actcap.data.pooling import slot_features
from actcap.data.sampling import inference_indices
from actcap.features.engine import resolve_engine
from actcap.features.streams import create_streams
from actcap.features.threads import use_head_threads
from actcap.honesty.judge import Judge, Verdict
from actcap.honesty.motion import motion_levels
from actcap.honesty.windows import window_views
from actcap.models.recognizer import Recognizer, clip_outputs


class Pipeline:
    """A model's streams, slot sampling, head and judge, with the engine decided once."""

    def __init__(self, model: Recognizer, engine: str | None = None, open_set: bool = True):
        self.model = model.eval()
        self.config = model.config
        self.engine = resolve_engine(engine, model.config.engine)
        use_head_threads(self.engine)
        self.classes = list(model.config.classes)
        self.num_slots = model.config.num_slots  # the head's time slots
        self.sampling = model.config.sampling
        self.cache_frames = model.config.cache_frames  # dense: as many frames as training's cache kept
        self.streams = create_streams(model.config.streams, engine=self.engine, model_dir=model.model_dir)
        self.judge = Judge(model, open_set=open_set)  # calibration, unknown and idle (judge.py)
        self.judge.in_view = self._in_view()  # a pose stream tells the judge whether anybody is in view

    def _in_view(self):
        """(T, D) features → whether a person is in view, from the first stream that can tell (pose); None if none."""
        start = 0
        for s in self.streams:
            if hasattr(s, "in_view"):
                cols = slice(start, start + s.dim)
                return lambda feats, stream=s: stream.in_view(feats[:, cols])
            start += s.dim
        return None

    # --- frames → inputs -----------------------------------------------------------------------------
    def frames_to_read(self, n: int) -> list[int]:
        """Source frames of an n-frame clip whose features a prediction needs: one per slot (uniform), or
        (dense) every frame training's cache would have kept."""
        return inference_indices(n, self.num_slots, self.sampling, self.cache_frames)

    def features(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, D) concatenated stream features."""
        check_thwc(frames)
        return np.concatenate([s.extract(frames, previous) for s in self.streams], axis=1)

    def inputs(self, frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 → (T, D + 1): the stream features plus each frame's motion level (motion.py)."""
        return np.concatenate([self.features(frames, previous), motion_levels(frames, previous)[:, None]], axis=1)

    def inputs_after(self, frames: np.ndarray, last: np.ndarray | None) -> np.ndarray:
        """(t, H, W, 3) consecutive frames that follow the frame `last` → (t, D + 1) inputs; with no `last`, or
        one of another size (a camera switched), the first frame is its own predecessor (live.py, timeline.py)."""
        first = last if last is not None and last.shape == frames.shape[1:] else frames[0]
        return self.inputs(frames, np.concatenate([first[None], frames[:-1]]))  # each frame's predecessor

    # --- inputs → verdict ----------------------------------------------------------------------------
    def verdict(self, inputs: np.ndarray) -> Verdict:
        """(L, D + 1) inputs of the frames `frames_to_read` chose → Verdict."""
        return self.verdict_of_frames(inputs) if self.sampling == "dense" else self.judge(inputs)

    def verdict_of_frames(self, inputs: np.ndarray, windowed: bool = False) -> Verdict:
        """(L, D + 1) `inputs` of consecutive frames → Verdict (calibrated probabilities and state); `windowed`:
        a window of a longer stream (live, timeline), judged by its best view and the window threshold (judge.py)."""
        if windowed:
            return self.judge.window([slot_features(v, self.num_slots, self.sampling)[0]
                                      for v in window_views(inputs, self.num_slots)])
        return self.judge(slot_features(inputs, self.num_slots, self.sampling)[0])

    @torch.no_grad()
    def scores(self, features: np.ndarray) -> np.ndarray:
        """(T, D) features of the model's time slots → (C,) calibrated class probabilities (no state)."""
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))[None]  # (1, T, D)
        return (self.model(x) / self.judge.temperature).softmax(-1)[0].numpy()

    def clip_verdicts(self, features: list[np.ndarray], num_clips: int = 1, batch_size: int = 64) -> list[Verdict]:
        """(L, D) features of each clip's kept frames (the feature cache's) → a Verdict per clip, its `num_clips`
        views combined as `Predictor.predict_clip` combines them: the same slots, head and rules (judge.py) as
        `verdict`, in batches (models/recognizer.py `clip_outputs`). Cached features carry no motion, so no
        clip is idle here for stillness; a pose model's clips with nobody in view are."""
        logits, emb = clip_outputs(self.model, features, num_clips, batch_size)  # (N, K, C), (N, K, E)
        nobody = [None] * len(features)
        if self.judge.in_view is not None:  # a pose model: nobody in view is idle, as in `verdict`
            nobody = [[not self.judge.in_view(v) for v in slot_features(f, self.num_slots, self.sampling,
                                                                      num_clips=num_clips)] for f in features]
        views = [self.judge.verdicts(lg, em, nobody=nb) for lg, em, nb in zip(logits, emb, nobody)]
        return [v[0] if len(v) == 1 else self.judge.combine(v) for v in views]

    def clip_probs(self, features: list[np.ndarray], num_clips: int = 1, batch_size: int = 64) -> np.ndarray:
        """(L, D) features of each clip's kept frames → (N, C) calibrated probabilities (`clip_verdicts`)."""
        verdicts = self.clip_verdicts(features, num_clips, batch_size)
        return np.stack([v.probs for v in verdicts]) if verdicts else np.zeros((0, len(self.classes)), np.float32)

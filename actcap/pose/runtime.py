"""The BlazePose models shipped in the package, run by LiteRT (PyPI `ai-edge-litert`), one interpreter per thread.

    model = get_model("landmarks")             # a per-thread LiteRT interpreter of actcap/assets/pose/
    outputs = model(x)                          # (1, H, W, 3) float32 → {output name: array}

The two models come unchanged from the npm package `@mediapipe/pose` 0.5.1675469404 (Apache-2.0; licence and
provenance in actcap/assets/pose/NOTICE): `pose_detection.tflite` is that package's
`pose_solution_packed_assets.data` (its loader maps the whole file to `pose_detection/pose_detection.tflite`),
`pose_landmark_full.tflite` is byte for byte the full landmark model of PyPI `mediapipe` 0.10.21. Nothing is
downloaded at run time.

Why LiteRT and not ONNX Runtime: no TFLite → ONNX converter installs offline here without TensorFlow
(tf2onnx needs it), and LiteRT runs the files as Google ships them (XNNPACK, one thread: about 16 ms per frame for
the landmark model). A LiteRT interpreter is not thread-safe, so each thread gets its own (`threading.local`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "pose"
MODEL_FILES = {"detector": "pose_detection.tflite", "landmarks": "pose_landmark_full.tflite"}
THREADS_ENV = "ACTCAP_POSE_THREADS"
"""Threads each interpreter may use (default 1: the callers already run frames of several clips in parallel)."""

_local = threading.local()
DELEGATE_NOTICE = "Created TensorFlow Lite XNNPACK delegate for CPU."
"""What LiteRT's C++ runtime prints ("INFO: …") on the process's stderr as each interpreter is built; no setting
of the package turns it off (TF_CPP_MIN_LOG_LEVEL does not), so `_without_delegate_notice` drops that line."""


class PoseRuntimeError(RuntimeError):
    """The pose models or their runtime are missing or broken: the message says what and how to fix it."""


def model_path(kind: str) -> Path:
    if kind not in MODEL_FILES:
        raise ValueError(f"unknown pose model {kind!r}; choose one of: {', '.join(MODEL_FILES)}")
    path = ASSETS / MODEL_FILES[kind]
    if not path.is_file():
        raise PoseRuntimeError(f"the pose model {path} is missing; reinstall actcap (pip install -e .), "
                               "whose package data ships it")
    return path


@cache
def model_digest() -> str:
    """A short hash of both model files: part of the pose stream's cache key, so a new model re-extracts."""
    h = hashlib.sha256()
    for kind in sorted(MODEL_FILES):
        h.update(model_path(kind).read_bytes())
    return h.hexdigest()[:12]


def threads() -> int:
    raw = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number >= 1; got {raw!r}")
    return n


@contextmanager
def _without_delegate_notice():
    """Run the block with the process's stderr (file descriptor 2, where C++ writes) going to a temporary file,
    then pass on everything written to it except the delegate notice: `actcap predict` prints its answer and
    not LiteRT's chatter, and nothing else said meanwhile (by any thread) is lost."""
    try:
        fd = sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (an embedded interpreter): nothing to filter
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            caught.seek(0)
            rest = b"".join(line for line in caught.read().splitlines(keepends=True)
                            if DELEGATE_NOTICE.encode() not in line)
            if rest:
                os.write(fd, rest)


class TfliteModel:
    """One LiteRT interpreter: float32 input in, the outputs by name (`Identity`, `Identity_1`, …) out."""

    def __init__(self, path: Path, num_threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as e:  # a dependency of actcap; only a broken environment lacks it
            raise PoseRuntimeError("the pose stream needs LiteRT: pip install -c constraints.txt ai-edge-litert "
                                   f"({e})") from e
        with _without_delegate_notice():
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self.input_index, self.input_shape = inp["index"], tuple(inp["shape"])
        self.outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        if x.shape != self.input_shape:
            raise ValueError(f"pose model input must be {self.input_shape}; got {x.shape}")
        self.interpreter.set_tensor(self.input_index, np.ascontiguousarray(x, dtype=np.float32))
        self.interpreter.invoke()
        return {name: self.interpreter.get_tensor(i) for name, i in self.outputs.items()}


def get_model(kind: str) -> TfliteModel:
    """This thread's interpreter of the `kind` model ("detector" or "landmarks"), loaded on first use."""
    models = getattr(_local, "models", None)
    if models is None:
        models = _local.models = {}
    if kind not in models:
        models[kind] = TfliteModel(model_path(kind), threads())
    return models[kind]

"""Static int8 quantization of the frame CNN (ONNX Runtime QDQ, per-channel weights), calibrated on real frames.

    actcap export --model runs/utd5 --format onnx --out bundle/ --int8      # or: --engine onnx-int8

Calibration frames come from, in order: the path given (`calibration=`; a dataset root, a video, or a
frame folder), $ACTCAP_CALIBRATION, and last synthetic smooth images (with a warning: int8 calibrated on them is
less accurate). A development checkout sets ACTCAP_CALIBRATION=../shared/data/utd-mhad-5 (the tests do).
The engine hashes the calibration input into the cached file's name (actcap.features.engine.prepare_onnx).

Settings were chosen by measurement on an AVX2 machine without VNNI (docs/benchmarks.md): uint8
activations with min-max ranges; per-channel int8 weights, 7-bit (`reduce_range`) in the 1×1 and stem
convolutions, because ONNX Runtime's u8×s8 GEMM kernels saturate their 16-bit pair sums with full 8-bit
weights there (features drifted 47% instead of 13%), but full 8-bit in the depthwise convolutions, whose
kernel does not saturate and which lose the most from a 7-bit grid (28% → 15%).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SETTINGS = {"format": "QDQ", "per_channel": True, "reduce_range": "all but depthwise", "activations": "uint8",
            "weights": "int8", "method": "minmax", "version": 2}
CLIPS, FRAMES_PER_CLIP = 16, 4


def calibration_frames(source: str | Path | np.ndarray | list | None = None, clips: int = CLIPS,
                       per_clip: int = FRAMES_PER_CLIP) -> tuple[list[np.ndarray], str]:
    """Frames to calibrate on, as a list of uint8 (T, H, W, 3) arrays (one per clip), and where they came from."""
    if isinstance(source, np.ndarray):
        return [source], f"array of {len(source)} frames"
    if isinstance(source, list):
        return source, f"{len(source)} arrays of frames"
    path = source or os.environ.get("ACTCAP_CALIBRATION")
    if not path:
        log.warning("int8 calibration on synthetic frames (no clips given and $ACTCAP_CALIBRATION unset); "
                    "pass real clips for accurate int8 features")
        return [synthetic_frames(clips * per_clip)], "synthetic"
    return clip_frames(Path(path), clips, per_clip), f"{Path(path).name}: {clips} clips x {per_clip} frames"


def clip_frames(path: Path, clips: int, per_clip: int) -> list[np.ndarray]:
    """`per_clip` uniformly spaced frames from each of up to `clips` clips spread evenly over `path`."""
    from actcap.data.sampling import uniform_indices
    from actcap.data.video import VIDEO_EXTENSIONS, is_image_file, open_clip

    if not path.exists():
        raise FileNotFoundError(f"calibration data {path} does not exist (give a dataset folder, a video or "
                                "a frame folder)")
    if path.is_file() or any(is_image_file(p) for p in path.iterdir()):
        found = [path]
    else:
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        found += sorted({p.parent for p in path.rglob("*") if is_image_file(p)})
    if not found:
        raise FileNotFoundError(f"no videos or frame folders under calibration data {path}")
    chosen = [found[i] for i in uniform_indices(len(found), min(clips, len(found)))]  # spread over classes
    out = []
    for p in chosen:
        clip = open_clip(p)
        out.append(clip.read(uniform_indices(len(clip), per_clip)))
    return out


def synthetic_frames(n: int, size: tuple[int, int] = (240, 320), seed: int = 0) -> np.ndarray:
    """(n, H, W, 3) uint8 smooth random images: low-frequency colour fields, closer to photos than noise."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    out = []
    for _ in range(n):
        coarse = rng.uniform(0, 255, size=(rng.integers(2, 9), rng.integers(2, 9), 3)).astype(np.float32)
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 8, (h, w, 3))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


def quantize_onnx(fp32: Path, out: Path, x: np.ndarray, batch: int = 8) -> Path:
    """Write a static int8 QDQ copy of the fp32 model `fp32`, calibrated on model inputs x (N, 3, S, S)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([x[i : i + batch] for i in range(0, len(x), batch)])

        def get_next(self):
            b = next(self.batches, None)
            return None if b is None else {"frames": b}

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.onnx")
    full_range = {w: [{"axis": 0, "reduce_range": False}] for w in depthwise_weights(fp32)}
    log.info("calibrating int8 %s on %d frames", out.name, len(x))
    try:
        quantize_static(str(fp32), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"TensorQuantOverrides": full_range})
        os.replace(tmp, out)  # atomic: an interrupted calibration never looks like a cached model
    finally:
        tmp.unlink(missing_ok=True)
    return out


def depthwise_weights(path: Path) -> list[str]:
    """Weight initializers of the depthwise convolutions (one group per input channel) of an ONNX model."""
    import onnx

    model = onnx.load(str(path))
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    out = []
    for node in model.graph.node:
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        w = node.input[1] if node.op_type == "Conv" and len(node.input) > 1 else None
        if w in shapes and group > 1 and shapes[w][1] == 1:  # (out, in/group = 1, k, k)
            out.append(w)
    return out

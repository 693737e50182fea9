"""Shared fixtures: tiny synthetic clips built on disk by the test, and the real data when it is present.

Synthetic videos are FFV1 in .avi, which is lossless, so a video and a PNG frame folder written from the
same frames decode to identical arrays. Real data lives in ../../shared/data (never copied into the repo);
fixtures that need it skip cleanly when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if (SHARED_DATA / "utd-mhad-5").is_dir():  # int8 engines calibrate on real frames, as in a development checkout
    os.environ.setdefault("ACTCAP_CALIBRATION", str(SHARED_DATA / "utd-mhad-5"))
# fixtures of the engine/export tests, the service tests and the decode-torture corpus, for every test module
pytest_plugins = ["browser_fixtures", "keypoint_fixtures", "onnx_fixtures", "serve_fixtures", "torture"]


@pytest.fixture(scope="session", autouse=True)
def actcap_home(tmp_path_factory):
    """Taught models and the active-model pointer go to a throw-away folder, never the user's own."""
    import os

    old = os.environ.get("ACTCAP_HOME")
    os.environ["ACTCAP_HOME"] = str(tmp_path_factory.mktemp("actcap-home"))
    yield Path(os.environ["ACTCAP_HOME"])
    if old is None:
        del os.environ["ACTCAP_HOME"]
    else:
        os.environ["ACTCAP_HOME"] = old


@pytest.fixture(scope="session", autouse=True)
def no_bundled_models(tmp_path_factory):
    """The store lists only the shipped `default` and what a test teaches: models shipped by name in the package
    (actcap/assets/models/, e.g. `everyday`) are hidden, so listings stay what each test made; tests of bundled
    models point BUNDLED_DIR where they want (tests/test_bundled_models.py)."""
    from actcap.models import store

    old = store.BUNDLED_DIR
    store.BUNDLED_DIR = tmp_path_factory.mktemp("no-bundled-models")
    yield
    store.BUNDLED_DIR = old


# --- synthetic frames, frame folders and videos -------------------------------------------------------

def _make_frames(t: int, h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """(t, h, w, 3) uint8 RGB noise; every frame differs, so order mistakes show up as mismatches."""
    return np.random.default_rng(seed).integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


def _write_frame_folder(folder: Path, frames: np.ndarray, ext: str = "png") -> Path:
    """Write frames as folder/frame_1.<ext> … frame_T.<ext> (unpadded, so natural sort matters)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        if not cv2.imwrite(str(folder / f"frame_{i}.{ext}"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise RuntimeError(f"could not write {folder / f'frame_{i}.{ext}'}")
    return folder


def _write_video(path: Path, frames: np.ndarray, fps: float = 15.0) -> Path:
    """Write frames losslessly as FFV1 in an .avi container (decodes back bit-exactly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV has no FFV1 encoder for {path}")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def make_frames():
    """make_frames(T, H=24, W=32, seed=0) -> (T, H, W, 3) uint8 RGB noise."""
    return _make_frames


@pytest.fixture
def write_frame_folder():
    """write_frame_folder(dir, frames, ext='png') -> dir holding frame_1.png … frame_T.png."""
    return _write_frame_folder


@pytest.fixture
def write_video():
    """write_video(path, frames, fps=15.0) -> path of a lossless FFV1 .avi."""
    return _write_video


# --- a fake HMDB51 tree --------------------------------------------------------------------------------

# class -> clip stem -> (tag in split 1, tag in split 2, how it is on disk: "avi", "frames" or None = missing)
FAKE_HMDB = {
    "brush_hair": {
        "Brushing_Her_Hair__[_NEW_AUDIO_]_UPDATED!!!!_brush_hair_h_cm_np1_fr_goo_0": (1, 2, "avi"),
        "Chanta!____THAT_IS_long_blonde_hair!_brush_hair_u_cm_np1_fr_goo_2": (2, 1, "avi"),
        "Bob's_#1_hair_(take_2)_&_more_brush_hair_u_nm_np1_fr_med_0": (1, 1, "frames"),
        "can_somebody_just_brush_my_hair!_brush_hair_u_cm_np2_ri_med_0": (0, 2, "avi"),
        "April_09_brush_hair_u_nm_np1_ba_goo_0": (1, 0, None),
    },
    "fall_floor": {
        "(Rad)Schlag_die_Bank!_fall_floor_f_cm_np1_le_med_0": (1, 2, "avi"),
        "Geena_und_die_Radschl_ge___;-)_fall_floor_f_cm_np1_fr_med_2": (2, 1, "avi"),
        "Tom_&_Jerry_fall_floor_f_nm_np1_ri_bad_1": (1, 1, "avi"),
    },
    "clap": {
        "#20_Rhythm_clap_u_nm_np1_fr_goo_0": (1, 2, "avi"),
        "slowclap_clap_u_nm_np1_fr_goo_0": (2, 1, "avi"),
        "that70_sshowslowclap_clap_u_nm_np1_fr_med_0": (1, 1, "avi"),
    },
}
FAKE_HMDB_EXTRA = ("clap", "my_own_clap_recording")  # on disk, in no split file


@pytest.fixture
def fake_hmdb(tmp_path):
    """A 3-class HMDB51 tree: root/<class>/<clip>.avi (one clip as a frame folder), one clip listed in the
    split files but missing on disk, one on disk but in no split file, and real-format split files
    (`<name>.avi <tag> ` with a trailing space) for splits 1-3 (split 3 = split 1).
    Returns SimpleNamespace(root, splits_dir, table=FAKE_HMDB, extra=FAKE_HMDB_EXTRA)."""
    root, splits_dir = tmp_path / "hmdb51", tmp_path / "testTrainMulti_7030_splits"
    splits_dir.mkdir()
    frames = _make_frames(4, 16, 16)
    for cls, clips in FAKE_HMDB.items():
        for name, (_, _, kind) in clips.items():
            if kind == "avi":
                _write_video(root / cls / f"{name}.avi", frames)
            elif kind == "frames":
                _write_frame_folder(root / cls / name, frames)
        for split, col in ((1, 0), (2, 1), (3, 0)):
            lines = [f"{name}.avi {tags[col]} \n" for name, tags in clips.items()]
            (splits_dir / f"{cls}_test_split{split}.txt").write_text("".join(lines))
    _write_video(root / FAKE_HMDB_EXTRA[0] / f"{FAKE_HMDB_EXTRA[1]}.avi", frames)
    return SimpleNamespace(root=root, splits_dir=splits_dir, table=FAKE_HMDB, extra=FAKE_HMDB_EXTRA)


# --- real data (skips when absent) ---------------------------------------------------------------------

@pytest.fixture
def utd_root() -> Path:
    """The 5-class UTD-MHAD subset (120 MJPEG clips), or skip."""
    root = SHARED_DATA / "utd-mhad-5"
    if not root.is_dir():
        pytest.skip(f"real UTD-MHAD clips not found at {root}")
    return root


@pytest.fixture
def hmdb_splits_dir() -> Path:
    """The official HMDB51 split files (153 txt files), or skip."""
    d = SHARED_DATA / "hmdb51-splits" / "testTrainMulti_7030_splits"
    if not d.is_dir():
        pytest.skip(f"real HMDB51 split files not found at {d}")
    return d


# --- synthetic actions: a bright square moving left or right -------------------------------------------

def _moving_square(t: int, direction: int, h: int = 48, w: int = 64, start: int | None = None,
                   row: int = 16, seed: int = 0) -> np.ndarray:
    """(t, h, w, 3) frames of a 12-pixel square sliding 3 px/frame right (direction=+1) or left (-1)
    over a still, faintly textured background: the two classes differ only in the direction of motion."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 30, size=(h, w, 3), dtype=np.uint8)  # a still, textured room
    frames = np.repeat(background[None], t, axis=0)
    x0 = start if start is not None else (4 if direction > 0 else w - 16)
    for i in range(t):
        x = int(np.clip(x0 + direction * 3 * i, 0, w - 12))
        frames[i, row:row + 12, x:x + 12] = 220
    return frames


@pytest.fixture
def motion_dataset(tmp_path):
    """root/{move_left,move_right}/<clip>.avi: 6 lossless clips per class, 14-18 frames, subjects s1-s3
    in the names (`_s<k>_`) so group splits work. Returns the root."""
    root = tmp_path / "motion"
    for label, direction in (("move_left", -1), ("move_right", 1)):
        for k in range(6):
            frames = _moving_square(14 + k % 3 * 2, direction, row=8 + 4 * (k % 3), seed=k)
            _write_video(root / label / f"{label}_s{k % 3 + 1}_t{k}.avi", frames)
    return root

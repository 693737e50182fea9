"""UTD-MHAD's 27 actions learned from its Kinect skeletons, scored on the shared RGB clips of the person left out
(issue 23: ≥ 0.80 right over the people left out, in both modalities), one fold per person.

    OMP_NUM_THREADS=1 nice -n 10 python studies/utd_video.py --skeletons utd_mirrored.npz --subjects 1 2 3 4 5 6 \
        --cache-dir /tmp/pose-cache [--yaw 30 --views 3] [--seeds 3] [--epochs 150]

For each subject S: train the tcn head (the model card's recipe: width 32, clamp 6, 32 frames, batch 32, cosine
lr 2e-3, `--augment`) on the skeletons of the other subjects, then score S's skeletons and S's RGB clips
(`--clips`, pose features read from the feature cache `--cache-dir`; a clip missing from it is an error, nothing is
extracted here). Top-1 over the 27 classes, per person and pooled, with the RGB clips' confusions. `--seeds K`
averages the softmax of K heads trained from seeds 0..K-1. `--yaw D --views N` adds N-1 copies of every training
clip seen from other viewpoints: the 3D skeleton turned about the vertical axis through its hip centre by angles
spread evenly over ±D degrees before it is projected. Figures for the model card come from `actcap
train/evaluate`; this only screens bridges (no calibration, no open set).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actcap.cli.common import head_args  # noqa: E402
from actcap.config import TrainConfig  # noqa: E402
from actcap.data import dataset  # noqa: E402
from actcap.data.keypoints import read_keypoints  # noqa: E402
from actcap.data.sampling import kept_indices  # noqa: E402
from actcap.features.cache import stream_key  # noqa: E402
from actcap.features.labelled import build_streams  # noqa: E402
from actcap.models.recognizer import ModelConfig, Recognizer, clip_outputs  # noqa: E402
from actcap.pose.augment import PoseAugment, augment_features  # noqa: E402
from actcap.pose.bridge import to_blazepose_proportions  # noqa: E402
from actcap.pose.skeleton import camera_to_image, frame_features, map_joints  # noqa: E402
from actcap.training.loop import create_loss, create_optimizer, feature_batches, lr_schedule, run_epochs  # noqa: E402,E501

CLIPS = ROOT.parent / "shared" / "data" / "utd-mhad-5"
SUBJECT = re.compile(r"_s(\d+)_")


def yawed(xyz: np.ndarray, joints: list[str], degrees: float) -> np.ndarray:
    """(T, J, 3) Kinect points turned by `degrees` about the vertical (y) axis through the clip's mean hip centre."""
    if degrees == 0:
        return xyz
    hip = joints.index("hip_center")
    ok = xyz[:, hip, 2] > 1e-6
    centre = xyz[ok, hip].mean(0) if ok.any() else np.zeros(3, np.float32)
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]], np.float32)
    out = (xyz - centre) @ rot.T + centre
    return np.where(xyz[..., 2:3] > 1e-6, out, xyz).astype(np.float32)


def skeleton_features(path: Path, angles: list[float], bones: str = "clip") -> tuple:
    """Per clip, per angle: pose features as `actcap train --data` makes them (cache frames 64, float16)."""
    kset = read_keypoints(path)
    ch = [c.lower() for c in kset.channels]
    sel = [ch.index(c) for c in ("x", "y", "z")]
    feats = []
    for i in range(len(kset)):
        xyz = kset.clip_points(i)[..., sel]
        views = []
        for deg in angles:
            pts = map_joints(camera_to_image(yawed(xyz, list(kset.joints), deg)), kset.joints, ("x", "y", "visible"))
            if bones != "none":
                pts = to_blazepose_proportions(pts, per_frame=bones == "frame")
            idx = np.asarray(kept_indices(len(pts), 64))
            views.append(frame_features(pts[idx]).astype(np.float16).astype(np.float32))
        feats.append(views)
    return kset, feats


def video_features(clips: Path, cache_dir: Path, classes: list[str]) -> list[tuple[str, int, np.ndarray, str]]:
    """(subject, label, features, clip name) of every RGB clip under clips/<class>/, from the pose cache's
    entries found by the clip's file name (the entries' `source`: a copy of the same clips hashes to another
    cache id, so entries are matched by name; nothing is extracted here)."""
    key = stream_key(build_streams(["pose"], "none")[0], 64)
    entries = {}
    for f in sorted((cache_dir / "features" / f"pose-{key}").glob("*.npz")):
        with np.load(f) as z:
            entries.setdefault(Path(str(z["source"])).name, z["features"].astype(np.float32))
    out = []
    for d in sorted(p for p in clips.iterdir() if p.is_dir()):
        for f in sorted(d.glob("*.avi")):
            if f.name not in entries:
                raise SystemExit(f"{f}: not in the pose cache {cache_dir}; run `actcap evaluate --data {clips} "
                                 f"--cache-dir {cache_dir}` once to fill it")
            out.append((SUBJECT.search(f.name).group(1), classes.index(d.name), entries[f.name], f.name))
    return out


def train_head(ftr, ytr, classes, a, seed: int) -> Recognizer:
    torch.manual_seed(seed)
    cfg = TrainConfig(out=Path("/tmp/unused"), streams=["pose"], head="tcn", head_kwargs=a.head_args,
                      num_slots=32, epochs=a.epochs, batch_size=32, lr=2e-3, weight_decay=1e-4, augment=True,
                      seed=seed, lr_schedule="cosine")
    model = Recognizer(ModelConfig(classes=classes, streams=[], feature_dim=ftr[0].shape[1], num_slots=32,
                                   head="tcn", head_kwargs=a.head_args))
    allf = torch.from_numpy(np.concatenate(ftr)).float()
    model.head.set_input_stats(allf.mean(0), allf.std(0, unbiased=False))
    opt = create_optimizer(model.parameters(), cfg)
    run_epochs(model.head, opt, create_loss(cfg, ytr, len(classes)), feature_batches(ftr, ytr, cfg, seed),
               first=1, last=a.epochs, lr_factor=lr_schedule(cfg))
    return model.eval()


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--skeletons", type=Path, required=True, help="the mirrored UTD-MHAD skeleton file")
    p.add_argument("--clips", type=Path, default=CLIPS)
    p.add_argument("--cache-dir", type=Path, required=True)
    p.add_argument("--subjects", nargs="+", default=["1", "2", "3", "4", "5", "6"])
    p.add_argument("--head-args", type=head_args, default={"width": 32, "clamp": 6})
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--yaw", type=float, default=0.0)
    p.add_argument("--views", type=int, default=1)
    p.add_argument("--bones", choices=("frame", "clip", "none"), default="clip",
                   help="Kinect bones rescaled to BlazePose's lengths in every frame, by one factor per clip, or kept")
    p.add_argument("--speed", type=float, nargs=2, help="augmentation's speed range (default 0.7 1.4)")
    p.add_argument("--noise", type=float, help="augmentation's position noise (default 0.02)")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    aug = {k: v for k, v in (("speed", tuple(a.speed) if a.speed else None), ("noise", a.noise)) if v is not None}
    dataset.augment_features = partial(augment_features, cfg=PoseAugment(**aug))  # what FeatureClips calls
    torch.set_num_threads(1)
    angles = [0.0] if a.views <= 1 else [0.0] + [x for x in np.linspace(-a.yaw, a.yaw, a.views) if x != 0]
    kset, feats = skeleton_features(a.skeletons, angles, bones=a.bones)
    classes = list(kset.classes)
    videos = video_features(a.clips, a.cache_dir, classes)
    report = {"args": {k: str(v) for k, v in vars(a).items()}, "angles": angles, "folds": {}}
    start = time.process_time()
    for s in a.subjects:
        tr = [i for i in range(len(kset)) if str(kset.subjects[i]) != s]
        te = [i for i in range(len(kset)) if str(kset.subjects[i]) == s]
        ftr = [v for i in tr for v in feats[i]]
        ytr = [int(kset.labels[i]) for i in tr for _ in feats[i]]
        vids = [v for v in videos if v[0] == s]
        p_sk, p_rgb = 0.0, 0.0
        for seed in range(a.seeds):
            model = train_head(ftr, ytr, classes, a, seed)
            p_sk = p_sk + softmax(clip_outputs(model, [feats[i][0] for i in te], 1)[0][:, 0])
            p_rgb = p_rgb + softmax(clip_outputs(model, [v[2] for v in vids], 1)[0][:, 0])
        y_sk = np.array([int(kset.labels[i]) for i in te])
        y_rgb = np.array([v[1] for v in vids])
        wrong = Counter(f"{classes[y]}->{classes[q]}" for y, q in zip(y_rgb, p_rgb.argmax(1)) if y != q)
        fold = {"skeleton_top1": float((p_sk.argmax(1) == y_sk).mean()), "skeleton_clips": len(te),
                "rgb_right": int((p_rgb.argmax(1) == y_rgb).sum()), "rgb_clips": len(vids),
                "rgb_mean_conf": float((p_rgb / a.seeds).max(1).mean()), "rgb_wrong": dict(wrong)}
        report["folds"][s] = fold
        print(f"subject {s}: skeletons {fold['skeleton_top1']:.3f}  RGB {fold['rgb_right']}/{fold['rgb_clips']}  "
              f"conf {fold['rgb_mean_conf']:.2f}  wrong {dict(wrong)}  cpu {time.process_time() - start:.0f}s",
              flush=True)
    right = sum(f["rgb_right"] for f in report["folds"].values())
    total = sum(f["rgb_clips"] for f in report["folds"].values())
    report["rgb_right"], report["rgb_clips"] = right, total
    print(f"RGB {right}/{total} = {right / max(total, 1):.3f}; skeletons mean "
          f"{np.mean([f['skeleton_top1'] for f in report['folds'].values()]):.3f}")
    if a.json:
        a.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

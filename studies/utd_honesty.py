"""Which UTD-MHAD RGB clips the skeleton-trained 27-way model *answers* as the right action (state == "action"),
per person left out, and where the open-set threshold for those answers should come from.

    OMP_NUM_THREADS=1 nice -n 10 python studies/utd_honesty.py --skeletons utd_mirrored.npz \
        --cache-dir /tmp/pose-cache --footage-cache /tmp/keypoints-cache --bones clip --out honesty.npz

Per subject S left out: the final head (studies/utd_video.py's recipe, seed 0) and, exactly as `actcap train`
calibrates (training/held_out.py), one head per other training person trained without that person; their
answers on the person they never saw give the temperature and the open-set threshold (KNOWN_QUANTILE of the
held-out `prototype` scores). Besides the product's rule (the held-out clips as they are), each held-out clip is
also scored on `--aug-views` views perturbed by the training augmentation (actcap/pose/augment.py), the bridge's
own model of what video does to joints: a threshold from those is the candidate rule. Reported per person, for
each rule: RGB clips answered right, `unknown`, and the other footage's clips (`--footage-cache`, the model card's
12 clips) not answered as an action (unknown, or nobody in view). Every array is saved (`--out`), so other rules
can be scored without training again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "studies"))

from utd_video import CLIPS, skeleton_features, video_features  # noqa: E402

from actcap.cli.common import head_args  # noqa: E402
from actcap.config import TrainConfig  # noqa: E402
from actcap.features.cache import stream_key  # noqa: E402
from actcap.features.labelled import build_streams  # noqa: E402
from actcap.honesty.calibration import fit_temperature, softmax  # noqa: E402
from actcap.honesty.openset import create_score, get_score_kwargs, threshold_for  # noqa: E402
from actcap.models.recognizer import ModelConfig, Recognizer  # noqa: E402
from actcap.pose.augment import augment_features  # noqa: E402
from actcap.pose.skeleton import CONFIDENCES  # noqa: E402
from actcap.training.held_out import fit_head, outputs  # noqa: E402

SCORE = "prototype"


def footage_features(cache_dir: Path) -> dict[str, np.ndarray]:
    """Pose features of the other footage (any cached clip outside the UTD class folders), by file name."""
    key = stream_key(build_streams(["pose"], "none")[0], 64)
    out = {}
    for f in sorted((cache_dir / "features" / f"pose-{key}").glob("*.npz")):
        with np.load(f) as z:
            source = Path(str(z["source"]))
            if source.parent.name == "other":
                out[source.name] = z["features"].astype(np.float32)
    return out


def scorer(head: Recognizer, feats: list[np.ndarray], labels: np.ndarray):
    lg, em = outputs(head, feats)
    return create_score(SCORE, **get_score_kwargs(SCORE)).fit(em, lg, labels)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--skeletons", type=Path, required=True)
    p.add_argument("--clips", type=Path, default=CLIPS)
    p.add_argument("--cache-dir", type=Path, required=True)
    p.add_argument("--footage-cache", type=Path)
    p.add_argument("--subjects", nargs="+", default=["1", "2", "3", "4", "5", "6"])
    p.add_argument("--head-args", type=head_args, default={"width": 32, "clamp": 6})
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--bones", choices=("frame", "clip", "none"), default="clip")
    p.add_argument("--aug-views", type=int, default=4)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    kset, feats = skeleton_features(a.skeletons, [0.0], bones=a.bones)
    feats = [v[0] for v in feats]
    classes = list(kset.classes)
    videos = video_features(a.clips, a.cache_dir, classes)
    footage = footage_features(a.footage_cache) if a.footage_cache else {}
    cfg = TrainConfig(out=Path("/tmp/unused"), streams=["pose"], head="tcn", head_kwargs=a.head_args, num_slots=32,
                      epochs=a.epochs, batch_size=32, lr=2e-3, weight_decay=1e-4, augment=True, seed=0,
                      lr_schedule="cosine")
    template = Recognizer(ModelConfig(classes=classes, streams=[], feature_dim=feats[0].shape[1], num_slots=32,
                                      head="tcn", head_kwargs=a.head_args))
    subjects = np.array([str(s) for s in kset.subjects])
    labels = np.array([int(y) for y in kset.labels])
    saved = {}
    for s in a.subjects:
        tr = np.flatnonzero(subjects != s)
        model = fit_head(template, [feats[i] for i in tr], labels[tr].tolist(), cfg)
        held_lg, held_y, held_clean, held_aug = [], [], [], []
        rng = np.random.default_rng(0)
        for g in sorted(set(subjects[tr])):
            itr, ite = tr[subjects[tr] != g], tr[subjects[tr] == g]
            head = fit_head(template, [feats[i] for i in itr], labels[itr].tolist(), cfg)
            score = scorer(head, [feats[i] for i in itr], labels[itr])
            lg, em = outputs(head, [feats[i] for i in ite])
            held_lg.append(lg)
            held_y.append(labels[ite])
            held_clean.append(score.score(em, lg))
            views = [augment_features(feats[i], rng) for i in ite for _ in range(a.aug_views)]
            lg_a, em_a = outputs(head, views)
            held_aug.append(score.score(em_a, lg_a))
        held_lg, held_y = np.concatenate(held_lg), np.concatenate(held_y)
        held_clean, held_aug = np.concatenate(held_clean), np.concatenate(held_aug)
        t = fit_temperature(held_lg, held_y)
        score = scorer(model, [feats[i] for i in tr], labels[tr])
        vids = [v for v in videos if v[0] == s]
        lg_v, em_v = outputs(model, [v[2] for v in vids])
        sc_v, y_v = score.score(em_v, lg_v), np.array([v[1] for v in vids])
        te = np.flatnonzero(subjects == s)
        lg_s, em_s = outputs(model, [feats[i] for i in te])
        sc_s = score.score(em_s, lg_s)
        names = sorted(footage)
        lg_f, em_f = outputs(model, [footage[n] for n in names]) if names else (np.zeros((0, 27)), None)
        sc_f = score.score(em_f, lg_f) if names else np.zeros(0)
        nobody_f = np.array([not (footage[n][:, CONFIDENCES] > 0).any() for n in names], bool)
        right_v = lg_v.argmax(1) == y_v
        line = [f"subject {s}: T {t:.2f} RGB top-1 {right_v.sum()}/{len(vids)} conf "
                f"{softmax(lg_v / t).max(1).mean():.2f}; skeletons {np.mean(lg_s.argmax(1) == labels[te]):.3f}"]
        for rule, held in (("clean", held_clean), ("aug", held_aug)):
            thr = threshold_for(held)
            known = sc_v <= thr
            line.append(f"  {rule:5s} thr {thr:.4f}: RGB answered right {(right_v & known).sum()}/{len(vids)}, "
                        f"unknown {(~known).sum()}; skeletons answered right "
                        f"{np.mean((lg_s.argmax(1) == labels[te]) & (sc_s <= thr)):.3f}; footage not actions "
                        f"{((sc_f > thr) | nobody_f).sum()}/{len(names)}")
        print("\n".join(line), flush=True)
        saved.update({f"s{s}_{k}": v for k, v in dict(
            held_logits=held_lg, held_labels=held_y, held_clean=held_clean, held_aug=held_aug, rgb_logits=lg_v,
            rgb_labels=y_v, rgb_scores=sc_v, skel_logits=lg_s, skel_labels=labels[te], skel_scores=sc_s,
            footage_logits=lg_f, footage_scores=sc_f, footage_nobody=nobody_f).items()})
        np.savez(a.out, **saved)


if __name__ == "__main__":
    main()

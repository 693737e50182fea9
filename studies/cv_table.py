"""Print the cross-validation table of docs/model-card.md from `actcap cv` result folders.

    python studies/cv_table.py runs/cv/*/cv.json
"""

import json
import sys
from pathlib import Path


def row(path: Path) -> str:
    s = json.loads(path.read_text())
    c = s["config"]
    name = "+".join(c["streams"]) + (" (mirror)" if c.get("mirror") is not None else "")
    name += f", {c.get('sampling', 'frames')}"
    head = c["head"] + (f" {c['head_args']}" if c.get("head_args") else "")
    head += f", wd {c['weight_decay']}" if c.get("weight_decay", 1e-4) != 1e-4 else ""
    folds = " ".join(f"{f['top1']:.2f}" for f in s["folds"])
    recall = s["pooled"]["per_class"]
    per_class = " | ".join(f"{recall[k]['recall']:.2f}" for k in sorted(recall))
    pair = next(iter(s["pairs"].values()), None)
    rnd = s.get("random_80_20_top1")
    return (f"| {name} | {head} | {c['epochs']} | **{s['mean_top1']:.3f}** ± {s['std_top1']:.3f} | {folds} | "
            f"{per_class} | {pair:.3f} | {'' if rnd is None else f'{rnd:.3f}'} |")


def main(paths: list[str]) -> None:
    first = json.loads(Path(paths[0]).read_text())
    classes = sorted(first["pooled"]["per_class"])
    print(f"| streams, sampling | head | epochs | mean top-1 ± std | per fold | {' | '.join(classes)} | swipe pair | "
          "random 80/20 |")
    print("|" + "---|" * (8 + len(classes) - 1))
    for p in paths:
        print(row(Path(p)))


if __name__ == "__main__":
    main(sys.argv[1:])

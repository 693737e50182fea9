"""A teach job's check: how well the model will do on people it did not learn from, measured before it is trained.

    folds, method = fold_of(examples)                       # by person when every label has 2+ people
    result = check_examples(examples, feats, base, classes, cfg, config, rule, progress)
    result = with_threshold(result, threshold)              # once the final model's threshold is known

Each round holds some examples out, fits a head on the rest (plus the base's examples: they stay in training;
their own accuracy on new people is in docs/model-card.md) with held_out.fit_head, and scores the held-out ones:
the label and the open-set score, against which a threshold decides `action` or `unknown`: held out by person
with no base model, the threshold the taught rule gives the round's own examples (`round_threshold`: a round learns
from fewer people than the final model and is judged as a model taught from them would judge; the final model's
threshold, fitted on more people, is too strict for it: 0.20 answered where the model answers 0.90, docs/teaching.md);
otherwise the final model's. So `answered` — right *and* answered as an action — is what a user sees, not the head's
top-1 alone.

With two people each round learns from one: the check is then pessimistic and noisy (on UTD-MHAD 0.17 below what
the model taught from both does, on average; docs/teaching.md), and says so.
With one person (or none named) nothing can be held out by person: other clips of the same person are held out
instead, and the result says plainly that this is optimistic (same person, same room) — not "100%".
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training.metrics import classification_metrics

MAX_FOLDS = 10
BY_PERSON = "leave-one-person-out"


def fold_of(examples: list, max_folds: int = MAX_FOLDS) -> tuple[list[int], str]:
    """Each example's check fold, and the method: by person when every label has at least 2 people, else
    leave-one-example-out (the k-th example of each label in fold k mod max_folds)."""
    people: dict[str, set[str]] = {}
    for e in examples:
        people.setdefault(e.label, set()).add(e.group)
    if all(len(g) >= 2 and "" not in g for g in people.values()):
        groups = sorted({e.group for e in examples})
        index = {g: i % max_folds for i, g in enumerate(groups)}
        return [index[e.group] for e in examples], BY_PERSON
    seen: Counter = Counter()
    folds = []
    for e in examples:
        folds.append(seen[e.label] % max_folds)
        seen[e.label] += 1
    return folds, "leave-one-example-out" if max(seen.values()) <= max_folds else f"{max_folds}-fold"


def round_threshold(template: Recognizer, feats: list[np.ndarray], labels: list[int], cfg, rule) -> float:
    """The open-set threshold `rule` (held_out.ThresholdRule) gives a model taught from these clips alone: its margin
    × the quantile of their scores held out by clip, as the final model's is set; NaN when no clip can be held out."""
    from actcap.honesty.openset import threshold_for
    from actcap.training.held_out import held_out_answers

    held = held_out_answers(template, feats, labels, None, cfg, (rule.score,), windows=False)["scores"][rule.score]
    return rule.margin * threshold_for(held) if len(held) else float("nan")


def check_examples(examples: list, feats: list[np.ndarray], base, classes: list[str], cfg, config: ModelConfig,
                   rule, progress: Callable[[str, float], None]) -> dict:
    """Held-out answers for every example → the check's figures (module docstring); `scores` and `thresholds`
    (each example's round's own, NaN: the final model's) are kept for `with_threshold` and dropped from what the
    job reports. `rule`: the taught models' held_out.ThresholdRule."""
    from actcap.training.held_out import fit_head, fit_score, outputs
    from actcap.training.train import predict_probs

    folds, method = fold_of(examples)
    k = max(folds) + 1
    probs = np.zeros((len(examples), len(classes)), np.float32)
    scores = np.zeros(len(examples), np.float32)
    thresholds = np.full(len(examples), np.nan)
    own = method == BY_PERSON and base is None  # with a base, its many examples set the round's threshold as the final
    # each round only needs the head's answers (no files, no calibration): the lean trainer the held-out
    # calibration uses, with the same settings; the final model goes through train() in full
    template = Recognizer(ModelConfig(classes=classes, streams=config.streams, feature_dim=config.feature_dim,
                                      num_slots=cfg.num_slots, sampling=cfg.sampling, head=cfg.head,
                                      head_kwargs=cfg.head_kwargs))
    base_feats = base.features if base else []
    base_labels = [classes.index(lab) for lab in base.labels] if base else []
    for f in range(k):
        progress("checking", 0.3 + 0.55 * f / k)
        held = [i for i, x in enumerate(folds) if x == f]
        kept = [i for i, x in enumerate(folds) if x != f]
        train_feats = [feats[i] for i in kept] + base_feats
        train_labels = [classes.index(examples[i].label) for i in kept] + base_labels
        model = fit_head(template, train_feats, train_labels, cfg)
        probs[held] = predict_probs(model, [feats[i] for i in held])
        score = fit_score(rule.score, model, train_feats, train_labels)
        lg_held, em_held = outputs(model, [feats[i] for i in held])
        scores[held] = score.score(em_held, lg_held)
        if own:
            thresholds[held] = round_threshold(template, train_feats, train_labels, cfg, rule)
    y = np.array([classes.index(e.label) for e in examples])
    m = classification_metrics(probs, y, classes)
    taught = sorted({e.label for e in examples})
    people = sorted({e.group for e in examples if e.group})
    return {"method": method, "folds": k, "people": len(people), "top1": m["top1"],
            "optimistic": method != BY_PERSON, "pessimistic": method == BY_PERSON and len(people) == 2,
            "classes": classes,
            "per_label": {c: {"accuracy": m["per_class"][c]["recall"], "examples": m["per_class"][c]["support"]}
                          for c in taught},
            "confusion_matrix": [m["confusion_matrix"][classes.index(c)] for c in taught],
            "confusion_rows": taught, "right": (probs.argmax(1) == y).tolist(), "scores": scores.tolist(),
            "thresholds": thresholds.tolist()}


def with_threshold(check: dict, threshold: float | None) -> dict:
    """The check with `answered` (the share of held-out examples right *and* within the open-set threshold — their
    round's own where it has one, else the final model's `threshold`: what a user would see as a right answer) and
    the plain sentence that goes with it. No `threshold` (no open set): every answer is accepted."""
    right, scores = np.array(check.pop("right"), bool), np.array(check.pop("scores"))
    own = np.array(check.pop("thresholds", [np.nan] * len(scores)), float)
    accepted = (scores <= np.where(np.isnan(own), threshold, own) if threshold is not None
                else np.ones(len(scores), bool))
    answered = float(np.mean(right & accepted)) if len(right) else 0.0
    out = {**check, "answered": answered, "unknown": float(np.mean(~accepted)) if len(right) else 0.0}
    out["summary"] = summary(out)
    return out


def summary(c: dict) -> str:
    """What the check means, in a sentence a user can act on."""
    pct = f"{100 * c['answered']:.0f}%"
    if not c["optimistic"]:
        said = (f"On people it did not learn from (each of the {c['people']} people left out in turn), {pct} of the "
                f"examples were answered with the right action ({100 * c['unknown']:.0f}% 'I don't recognise this').")
        return said + (" Each round learned from one person only: the model, which learns from both, usually does "
                       "better (docs/teaching.md)." if c.get("pessimistic") else "")
    who = ("every example shows the same person" if c["people"] == 1 else
           "not every label has examples of 2 or more people" if c["people"] else "no one said who is in the examples")
    return (f"This cannot tell how well it works for other people: {who}. On other examples of the same people "
            f"{pct} were answered right — optimistic; expect less for someone new. Record each action with 2 or "
            "more people, and say who is in each example, for a check on new people.")

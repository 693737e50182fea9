"""The candidate open-set rules and calibration rules that studies/openset_rules.py scores.

A rule takes a fold's answers (its head on the training clips; its inner heads on their training clips and on
their held-out subject) and returns `decide(answers) -> (scores, rejected)`. Nothing but held-out known clips
sets a threshold.
"""

import numpy as np
import torch
from openset_input import InputPrototype, ViewDisagreement

from actcap.honesty.calibration import fit_temperature, softmax
from actcap.honesty.openset import create_score


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


class Predicted:
    """Cosine distance to the prototype of the class the head predicts (not the nearest prototype)."""

    def fit(self, emb, logits, labels):
        self.means = _unit(np.stack([_unit(emb)[labels == c].mean(0) for c in np.unique(labels)]))
        return self

    def score(self, emb, logits):
        return 1.0 - (_unit(emb) * self.means[logits.argmax(1)]).sum(1)


class ClassDiagonal:
    """Per-class diagonal Gaussian on the unit embedding: the mean squared z-score to the nearest class, each
    dimension's class variance shrunk towards the pooled within-class variance."""

    def __init__(self, shrink=0.5):
        self.shrink = shrink

    def fit(self, emb, logits, labels):
        u = _unit(emb)
        classes = np.unique(labels)
        self.means = np.stack([u[labels == c].mean(0) for c in classes])
        var = np.stack([u[labels == c].var(0) for c in classes])  # (C, E)
        pooled = var.mean(0, keepdims=True)
        self.var = (1 - self.shrink) * var + self.shrink * pooled + 1e-6
        return self

    def score(self, emb, logits):
        d = _unit(emb)[:, None, :] - self.means[None]  # (B, C, E)
        return (d ** 2 / self.var[None]).mean(2).min(1)


def family(name, **kw):
    if name == "predicted":
        return lambda: Predicted()
    if name == "diagonal":
        return lambda: ClassDiagonal(**kw)
    return lambda: create_score(name, **kw)


def _fit_score(make, ans):
    s = make()  # a score that reads the head's input (openset_input.py) is fitted on it, others on the embedding
    return s.fit(ans["inputs" if getattr(s, "uses_inputs", False) else "emb"], ans["logits"], ans["labels"])


def _score(s, ans):
    emb = ans["inputs" if getattr(s, "uses_inputs", False) else "emb"]
    return s.score(emb, ans["logits"]) if len(emb) else np.zeros(0)


class BestView:
    """A score's lowest value over a clip's views (the clip, its first/middle/last 60%): robust to where in
    the clip the action sits."""

    def __init__(self, inner):
        self.inner = inner

    def fit(self, emb, logits, labels):
        self.inner.fit(emb, logits, labels)
        return self

    def score_answers(self, ans):
        return np.minimum.reduceat(self.inner.score(ans["view_emb"], ans["view_logits"]), ans["view_first"])


def best_view(make):
    return lambda: BestView(make())


def _score_answers(s, ans):
    if not len(ans["emb"]):
        return np.zeros(0)
    return s.score_answers(ans) if hasattr(s, "score_answers") else _score(s, ans)


def held_out(make, d):
    """Scores of every inner held-out clip by its inner fold's score, and the inner head's predicted classes."""
    scores, preds = [], []
    for g in d["inner"]:
        scores.append(_score_answers(_fit_score(make, g["train"]), g["test"]))
        preds.append(g["test"]["logits"].argmax(1))
    return np.concatenate(scores), np.concatenate(preds)


def quantile_rule(make, q=0.95):
    def rule(d):
        thr = np.quantile(held_out(make, d)[0], q)
        s = _fit_score(make, d["train"])

        def decide(ans):
            x = _score_answers(s, ans)
            return x, x > thr
        return decide
    return rule


def per_class_rule(make, q=0.95, shrink=0.0):
    """A threshold per predicted class: the q-quantile of held-out clips the inner heads gave that class
    (blended with the global one by `shrink`)."""
    def rule(d):
        hs, hp = held_out(make, d)
        glob = np.quantile(hs, q)
        thr = np.array([(1 - shrink) * np.quantile(hs[hp == c], q) + shrink * glob if (hp == c).sum() >= 5
                        else glob for c in range(d["train"]["logits"].shape[1])])
        s = _fit_score(make, d["train"])

        def decide(ans):
            x = _score_answers(s, ans)
            t = thr[ans["logits"].argmax(1)] if len(x) else np.zeros(0)
            return x - t, x > t
        return decide
    return rule


def or_rule(makes, q=0.95):
    """Reject when any score is unusual: each score as its rank among the held-out scores, the highest rank
    thresholded at q."""
    def rule(d):
        hs = [held_out(m, d)[0] for m in makes]
        ranks = np.max([np.searchsorted(np.sort(h), h, side="right") / len(h) for h in hs], axis=0)
        thr = np.quantile(ranks, q)
        fitted = [_fit_score(m, d["train"]) for m in makes]

        def decide(ans):
            r = np.max([np.searchsorted(np.sort(h), _score_answers(s, ans), side="right") / len(h)
                        for h, s in zip(hs, fitted)], axis=0)
            return r, r > thr
        return decide
    return rule


def candidates(features) -> dict:
    proto = family("prototype")
    out = {f"prototype q{q}": quantile_rule(proto, q) for q in (0.9, 0.95, 0.975, 0.99, 1.0)}
    out.update({f"prototype per-class q{q}": per_class_rule(proto, q) for q in (0.95, 0.975, 1.0)})
    out.update({f"predicted q{q}": quantile_rule(family("predicted"), q) for q in (0.9, 0.95, 0.96, 0.97, 0.975, 1.0)})
    out["prototype match=predicted q0.95 (trained)"] = quantile_rule(family("prototype", match="predicted"), 0.95)
    out.update({f"predicted per-class q{q}": per_class_rule(family("predicted"), q) for q in (0.95, 0.975)})
    out.update({f"knn k{k} q0.95": quantile_rule(family("knn", k=k), 0.95) for k in (1, 3, 5, 10)})
    out.update({f"diagonal s{sh} q0.95": quantile_rule(family("diagonal", shrink=sh), 0.95) for sh in (0.2, 0.5, 0.8)})
    out.update({f"prototype best view q{q}": quantile_rule(best_view(proto), q) for q in (0.95, 0.975)})
    out["prototype OR msp q0.95"] = or_rule([proto, family("msp")], 0.95)
    out["prototype OR energy q0.95"] = or_rule([proto, family("energy")], 0.95)
    out["msp q0.95"] = quantile_rule(family("msp"), 0.95)
    out.update(input_candidates())
    return out


# ---- calibration rules: fit(d) -> (logits -> probs), from the inner held-out answers only


def _held(d):
    return (np.concatenate([g["test"]["logits"] for g in d["inner"]]),
            np.concatenate([g["test"]["labels"] for g in d["inner"]]))


def pooled_temperature(d):
    t = fit_temperature(*_held(d))
    return lambda lg: softmax(lg / t)


def mean_temperature(d):
    t = float(np.mean([fit_temperature(g["test"]["logits"], g["test"]["labels"]) for g in d["inner"]]))
    return lambda lg: softmax(lg / t)


def geo_temperature(d):
    t = float(np.exp(np.mean([np.log(fit_temperature(g["test"]["logits"], g["test"]["labels"]))
                              for g in d["inner"]])))
    return lambda lg: softmax(lg / t)


def vector_scaling(d, steps=300, l2=1e-2):
    lg, y = (torch.from_numpy(a) for a in _held(d))
    lg = lg.double()
    c = lg.shape[1]
    w, b = torch.zeros(c, dtype=torch.float64, requires_grad=True), torch.zeros(c, dtype=torch.float64,
                                                                                  requires_grad=True)
    t0 = fit_temperature(*_held(d))
    opt = torch.optim.LBFGS([w, b], max_iter=steps)

    def closure():
        opt.zero_grad()
        penalty = l2 * (w.square().sum() + b.square().sum())
        loss = torch.nn.functional.cross_entropy(lg / t0 * torch.exp(w) + b, y) + penalty
        loss.backward()
        return loss
    opt.step(closure)
    w_, b_ = np.exp(w.detach().numpy()), b.detach().numpy()
    return lambda x: softmax(x / t0 * w_ + b_)


def ece_temperature(d):
    """The temperature with the least held-out ECE (a grid), instead of the least NLL."""
    from actcap.honesty.calibration import expected_calibration_error
    lg, y = _held(d)
    grid = np.geomspace(0.05, 3.0, 120)
    t = grid[int(np.argmin([expected_calibration_error(softmax(lg / t), y) for t in grid]))]
    return lambda x: softmax(x / t)


def top_label_platt(d):
    """Temperature, then the top class's probability mapped by a logistic on its log-odds (2 numbers fitted
    by NLL of right/wrong on the held-out answers); the other classes share the rest in proportion. The
    ranking of classes is kept."""
    lg, y = _held(d)
    t = fit_temperature(lg, y)
    p = softmax(lg / t)
    top, right = np.clip(p.max(1), 1e-6, 1 - 1e-6), (p.argmax(1) == y).astype(float)
    z = torch.from_numpy(np.log(top / (1 - top)))
    r = torch.from_numpy(right)
    ab = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([ab], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(ab[0] * z + ab[1], r)
        loss.backward()
        return loss
    opt.step(closure)
    a, b = ab.detach().numpy()

    def apply(x):
        q = softmax(x / t)
        top = np.clip(q.max(1), 1e-6, 1 - 1e-6)
        new = 1 / (1 + np.exp(-(a * np.log(top / (1 - top)) + b)))
        rest = q * ((1 - new) / (1 - top))[:, None]
        rest[np.arange(len(q)), q.argmax(1)] = new
        return rest
    return apply


def class_scale(d, l2=1e-2):
    """Vector scaling without the biases: one temperature per class."""
    lg, y = (torch.from_numpy(a) for a in _held(d))
    lg = lg.double()
    t0 = fit_temperature(*_held(d))
    w = torch.zeros(lg.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=300)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lg / t0 * torch.exp(w), y) + l2 * w.square().sum()
        loss.backward()
        return loss
    opt.step(closure)
    w_ = np.exp(w.detach().numpy())
    return lambda x: softmax(x / t0 * w_)


def predicted_class_temperature(d, shrink=0.5, min_clips=10):
    """One temperature per predicted class (the ranking is kept: a clip's logits are all divided by one number),
    each fitted by NLL on the held-out clips the inner heads gave that class, shrunk towards the pooled one in
    log space."""
    lg, y = _held(d)
    t0 = fit_temperature(lg, y)
    pred = lg.argmax(1)
    ts = np.array([np.exp((1 - shrink) * np.log(fit_temperature(lg[pred == c], y[pred == c])) + shrink * np.log(t0))
                   if (pred == c).sum() >= min_clips else t0 for c in range(lg.shape[1])])
    return lambda x: softmax(x / ts[x.argmax(1)][:, None])


def uncalibrated(d):
    return softmax


CALIBRATIONS = {"none": uncalibrated, "pooled temperature (today)": pooled_temperature,
                "mean of inner temperatures": mean_temperature, "geometric mean of inner T": geo_temperature,
                "vector scaling (l2 0.01)": vector_scaling, "ECE-minimising temperature": ece_temperature,
                "temperature + top-label Platt": top_label_platt, "per-class temperature": class_scale,
                "T per predicted class, shrink 0.5": predicted_class_temperature,
                "T per predicted class, no shrink": lambda d: predicted_class_temperature(d, 0.0)}


def input_candidates() -> dict:
    """The head-input prototype (openset_input.py) alone and or-ed with the shipped score."""
    out = {}
    for grids in ((1, 2), (2,), (4,), (1, 2, 4)):
        for k in (4, 8):
            for match in ("predicted", "nearest"):
                out[f"input g{grids} K{k} {match} q0.95"] = quantile_rule(
                    lambda grids=grids, k=k, match=match: InputPrototype(grids, k, match), 0.95)
    out["input g(1, 2) K8 predicted, no square root q0.95"] = quantile_rule(lambda: InputPrototype(sqrt=False), 0.95)
    trained = family("prototype", match="predicted")
    out["views disagree q0.95"] = quantile_rule(ViewDisagreement, 0.95)
    for q in (0.95, 0.975):
        out[f"OR trained + views disagree q{q}"] = or_rule([trained, ViewDisagreement], q)
    for grids, match in (((2,), "nearest"), ((2,), "predicted"), ((4,), "predicted"), ((1, 2), "predicted")):
        for q in (0.95, 0.975):
            out[f"OR trained + input g{grids} K8 {match} q{q}"] = or_rule(
                [trained, lambda grids=grids, match=match: InputPrototype(grids, 8, match)], q)
    return out

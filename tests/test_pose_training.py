"""Pose augmentation keeps the features' meaning; the tcn head trains; --augment is refused without pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from keypoint_fixtures import reach_clip

from actcap.config import TrainConfig
from actcap.models.heads import create_head
from actcap.pose.augment import PoseAugment, augment_features, held_view
from actcap.pose.skeleton import (
    CENTRE,
    CONFIDENCES,
    FEATURE_DIM,
    JOINTS,
    POSITIONS,
    VELOCITIES,
    frame_features,
    mirror_features,
)


def clip_features(frames=20, seed=0):
    return frame_features(reach_clip(1, frames, np.random.default_rng(seed)))


def test_augmented_velocities_are_the_changes_of_augmented_positions():
    f = augment_features(clip_features(), np.random.default_rng(0))
    assert f.shape[1] == FEATURE_DIM and 14 <= len(f) <= 29 and np.isfinite(f).all()
    pos = f[:, POSITIONS].reshape(len(f), len(JOINTS), 2)
    present = f[:, CONFIDENCES] > 0
    expected = (pos[1:] - pos[:-1]) * (present[1:] & present[:-1])[..., None]
    np.testing.assert_allclose(f[1:, VELOCITIES].reshape(len(f) - 1, len(JOINTS), 2), expected, atol=1e-6)
    assert np.all(pos[~present] == 0)


def test_each_perturbation_does_what_it_says():
    f = clip_features()
    still = PoseAugment(speed=(1, 1), rotation_deg=0, scale=(1, 1), noise=0, dropout=0, confidence=(1, 1))
    np.testing.assert_allclose(still(f, np.random.default_rng(0)), f, atol=1e-6)
    fast = PoseAugment(speed=(2, 2), rotation_deg=0, scale=(1, 1), noise=0, dropout=0, confidence=(1, 1))
    g = fast(f, np.random.default_rng(0))
    assert len(g) == 10
    wrist = 2 * JOINTS.index("right_wrist")
    assert g[1:, VELOCITIES][:, wrist].mean() == pytest.approx(2 * f[1:, VELOCITIES][:, wrist].mean(), rel=0.15)
    turn = PoseAugment(speed=(1, 1), rotation_deg=90, scale=(1, 1), noise=0, dropout=0, confidence=(1, 1))
    r = turn(f, np.random.default_rng(3))
    np.testing.assert_allclose(np.linalg.norm(r[:, POSITIONS].reshape(-1, 2), axis=1),
                               np.linalg.norm(f[:, POSITIONS].reshape(-1, 2), axis=1), atol=1e-5)  # a rotation
    np.testing.assert_allclose(np.linalg.norm(r[:, CENTRE], axis=1), np.linalg.norm(f[:, CENTRE], axis=1), atol=1e-5)
    drop = PoseAugment(speed=(1, 1), dropout=1.0, confidence=(0.5, 0.9))
    d = drop(f, np.random.default_rng(1))
    assert (d[:, CONFIDENCES] == 0).any() and d[:, CONFIDENCES].max() <= 0.9


def test_a_held_view_plays_the_middle_half_forwards_and_backwards():
    f = clip_features(frames=16)
    f[:, CENTRE] = np.arange(16)[:, None] + 1.0  # the body moving on: each row's velocity names the row
    h = held_view(f, np.random.default_rng(0))
    assert h.shape == f.shape
    rows = h[:, CENTRE.start]  # signed source row + 1: + forwards, − backwards
    assert set(np.abs(rows).astype(int)) == set(range(5, 13))  # the middle half: rows 4-11
    steps = np.diff(np.abs(rows))
    assert set(steps) <= {-1.0, 0.0, 1.0} and 1 in steps and -1 in steps  # turns round (0 at each turn)
    assert np.all((np.diff(rows) == 1) | (np.sign(rows[1:]) != np.sign(rows[:-1])))  # in order, or a turn
    for i in np.flatnonzero(rows < 0):  # played backwards: the positions of that row, its motion reversed
        np.testing.assert_array_equal(h[i, POSITIONS], f[int(-rows[i]) - 1, POSITIONS])
    short = held_view(f[:5], np.random.default_rng(1))  # at least 4 rows are kept
    assert len(short) == 5 and set(np.abs(short[:, CENTRE.start]).astype(int)) == {1, 2, 3, 4}


def test_held_views_are_drawn_at_their_rate_and_only_when_asked():
    f = clip_features(frames=16)
    still = dict(speed=(1, 1), rotation_deg=0, scale=(1, 1), noise=0, dropout=0, confidence=(1, 1))
    rng = np.random.default_rng(0)
    same = [np.allclose(PoseAugment(**still, held=0.3)(f, rng), f, atol=1e-6) for _ in range(400)]
    assert 0.22 < 1 - np.mean(same) < 0.38  # ~30% of views differ from the clip (a held view equal to it: rare)
    a, b = np.random.default_rng(5), np.random.default_rng(5)  # off: no random draw, the views of before
    np.testing.assert_array_equal(augment_features(f, a), PoseAugment(held=0.0)(f, b))
    assert a.random() == b.random()
    with pytest.raises(ValueError, match=r"`--augment-held` is a probability in \[0, 1\]; got 1.5"):
        TrainConfig(out=Path("x"), streams=["pose"], augment=True, augment_held=1.5).check()
    with pytest.raises(ValueError, match="`--augment-held` is one of `--augment`'s perturbations; add `--augment`"):
        TrainConfig(out=Path("x"), streams=["pose"], augment_held=0.3).check()


def test_tcn_head_shapes_and_gradients():
    head = create_head("tcn", FEATURE_DIM, 5, 32, width=16)
    x = torch.randn(3, 32, FEATURE_DIM)
    out = head(x)
    assert out.shape == (3, 5) and torch.isfinite(out).all()
    out.sum().backward()
    assert [n for n, p in head.named_parameters() if p.grad is None] == []
    head.eval()
    assert head(torch.randn(1, 7, FEATURE_DIM)).shape == (1, 5)  # any length, the live stream's windows too
    with pytest.raises(ValueError, match="the tcn head reads pose-stream features"):
        create_head("tcn", 40, 5, 32)


def test_tcn_head_leaves_confidences_unstandardised():
    """Annotated joints are all confident: a std of 0 would blow augmented or video confidences up ×1000."""
    head = create_head("tcn", FEATURE_DIM, 5, 32, width=16)
    mean, std = torch.full((FEATURE_DIM,), 0.5), torch.full((FEATURE_DIM,), 2.0)
    mean[CONFIDENCES], std[CONFIDENCES] = 1.0, 0.0
    head.set_input_stats(mean, std)
    x = torch.full((1, 3, FEATURE_DIM), 0.7)
    z = head.norm(x)[0, 0]
    np.testing.assert_allclose(z[CONFIDENCES].numpy(), 0.7)  # as they came
    np.testing.assert_allclose(z[POSITIONS].numpy(), 0.1)  # (0.7 - 0.5) / 2
    assert mean[CONFIDENCES].eq(1.0).all()  # the caller's statistics are not changed


def test_tcn_mirror_average_answers_a_clip_and_its_mirror_image_alike():
    torch.manual_seed(0)
    head = create_head("tcn", FEATURE_DIM, 5, 32, width=16, mirror_average=1).eval()
    f = np.random.default_rng(0).normal(0, 1, (32, FEATURE_DIM)).astype(np.float32)  # no symmetry to hide in
    x, flipped = torch.from_numpy(f)[None], torch.from_numpy(mirror_features(f))[None]
    torch.testing.assert_close(head(x), head(flipped), atol=1e-5, rtol=1e-5)
    one, other = head.clip_embedding(x), head.clip_embedding(flipped)  # each view alone: a reach to the left
    assert (one - other).abs().max() > 0.01 * one.abs().max()  # differs from one to the right
    torch.testing.assert_close(head.fc((one + other) / 2), head(x))


def test_tcn_clamp_caps_positions_and_motion_but_not_confidences():
    torch.manual_seed(0)
    head = create_head("tcn", FEATURE_DIM, 5, 32, width=16, clamp=6).eval()
    x = torch.from_numpy(clip_features(32))[None]
    far, capped = x.clone(), x.clone()
    far[0, 10, :CONFIDENCES.start], capped[0, 10, :CONFIDENCES.start] = 300.0, 6.0  # a collapsed torso's frame
    embed = head.clip_embedding
    torch.testing.assert_close(embed(far), embed(capped))
    assert (embed(capped) - embed(x)).abs().max() > 0.01  # 6 torso lengths still counts
    low = capped.clone()
    low[0, :, CONFIDENCES] = 0.0
    assert (embed(low) - embed(capped)).abs().max() > 1e-4  # confidences pass as they are
    plain = create_head("tcn", FEATURE_DIM, 5, 32, width=16).eval()
    plain.load_state_dict(head.state_dict())
    assert (plain.clip_embedding(far) - plain.clip_embedding(capped)).abs().max() > 0.01  # off by default


def test_augment_needs_the_pose_stream(tmp_path):
    with pytest.raises(ValueError, match="`--augment` perturbs pose features; it needs `--streams pose`, got flow"):
        TrainConfig(out=tmp_path, streams=["flow"], augment=True).check()
    TrainConfig(out=tmp_path, streams=["pose"], augment=True).check()

"""The `skeleton` head: segment means of body-relative positions and joint distances, blind to visibilities and
velocities (what a camera tilt or zoom changes), and it reads the order of the segments (a raise from a lower)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from keypoint_fixtures import STANDING

from actcap.models.heads import create_head
from actcap.models.pose_heads import body_shape
from actcap.pose.skeleton import CENTRE, CONFIDENCES, FEATURE_DIM, JOINTS, VELOCITIES, frame_features

WRIST = JOINTS.index("right_wrist")


def raise_clip(up: bool, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, FEATURE_DIM) features of a person raising (up) or lowering the right wrist between the same two
    heights: the same poses, in the opposite order."""
    pts = np.repeat(STANDING[None], frames, 0) + rng.normal(0, 1.0, (frames, len(JOINTS), 2))
    pts = pts * rng.uniform(0.7, 1.4) + rng.uniform(-60, 60, 2)  # any size, anywhere in the frame
    heights = np.linspace(110, 30, frames) if up else np.linspace(30, 110, frames)
    pts[:, WRIST, 1] = heights + rng.normal(0, 1.0, frames)
    return frame_features(np.concatenate([pts, np.ones((frames, len(JOINTS), 1))], -1).astype(np.float32))


def batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return torch.from_numpy(np.stack([raise_clip(bool(k), 16, rng) for k in y])), torch.from_numpy(y)


def trained(segments: int) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(0)
    x, y = batch(128, 0)
    head = create_head("skeleton", FEATURE_DIM, 2, 16, segments=segments)
    head.fit_input_stats(x.reshape(-1, FEATURE_DIM))
    opt = torch.optim.Adam(head.parameters(), lr=0.01, weight_decay=0.1)  # as `actcap train` is told
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(x), y).backward()
        opt.step()
    xt, yt = batch(40, 1)
    with torch.no_grad():
        return head.eval(), (head(xt).argmax(1) == yt).float().mean().item()


def test_it_learns_the_order_of_the_poses_which_one_segment_cannot():
    _, accuracy = trained(segments=8)
    assert accuracy >= 0.95
    _, one_segment = trained(segments=1)  # the mean pose of a raise and of a lowering is the same
    assert one_segment <= 0.75


def test_visibilities_velocities_and_centre_motion_do_not_change_its_answer():
    head, _ = trained(segments=8)
    x, _ = batch(6, 2)
    changed = x.clone()
    changed[..., CONFIDENCES] = torch.rand_like(changed[..., CONFIDENCES])
    changed[..., VELOCITIES] += torch.randn_like(changed[..., VELOCITIES])
    changed[..., CENTRE] += 3.0
    with torch.no_grad():
        torch.testing.assert_close(head(changed), head(x))


def test_input_stats_standardise_positions_and_distances():
    x, _ = batch(32, 3)
    head = create_head("skeleton", FEATURE_DIM, 2, 16)
    head.fit_input_stats(x.reshape(-1, FEATURE_DIM))
    z = head.shape_norm(body_shape(x, head.pairs)).reshape(-1, head.shape_dim)
    assert head.shape_dim == 26 + 78
    torch.testing.assert_close(z.mean(0), torch.zeros(head.shape_dim), atol=1e-4, rtol=0)
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(head.shape_dim), atol=1e-3, rtol=0)


def test_shapes_and_refusals():
    head = create_head("skeleton", FEATURE_DIM, 5, 16, segments=4)
    out = head(torch.randn(3, 16, FEATURE_DIM))
    assert out.shape == (3, 5)
    out.sum().backward()
    assert [n for n, p in head.named_parameters() if p.grad is None] == []
    with pytest.raises(ValueError, match="the skeleton head reads pose-stream features"):
        create_head("skeleton", 40, 5, 16)
    with pytest.raises(ValueError, match=r"skeleton head needs 1 <= segments <= frames; got segments=32, frames=16"):
        create_head("skeleton", FEATURE_DIM, 5, 16, segments=32)
    with pytest.raises(ValueError, match="frame count divisible by 8; got 12"):
        create_head("skeleton", FEATURE_DIM, 5, 16)(torch.randn(1, 12, FEATURE_DIM))


def test_tcn_novelty_shape_reads_the_skeleton_heads_description_not_what_it_learned(tmp_path):
    from actcap.models.heads import head_outputs
    from actcap.models.recognizer import ModelConfig, Recognizer

    x, y = batch(32, 5)
    frames = x.reshape(-1, FEATURE_DIM)
    skeleton = create_head("skeleton", FEATURE_DIM, 2, 16)
    torch.manual_seed(0)
    tcn = create_head("tcn", FEATURE_DIM, 2, 16, width=8, novelty="shape")
    learned = create_head("tcn", FEATURE_DIM, 2, 16, width=8)
    for head in (skeleton, tcn, learned):
        head.fit_input_stats(frames)
    _, described = head_outputs(skeleton.eval(), x)
    logits, emb = head_outputs(tcn.eval(), x)
    assert emb.shape == (32, 8 * 104) and logits.shape == (32, 2)
    torch.testing.assert_close(emb, described)  # the skeleton head's segment means of the body's shape
    assert head_outputs(learned.eval(), x)[1].shape == (32, 4 * 8)  # by default: what fc reads
    with torch.no_grad():  # training moves the classifier, not what the open set compares
        for p in tcn.parameters():
            p.add_(1.0)
    changed_logits, same = head_outputs(tcn, x)
    torch.testing.assert_close(same, emb)
    assert not torch.allclose(changed_logits, logits)
    # saved with its normaliser, loaded back the same; a tcn file without novelty has no such tensors
    config = ModelConfig(classes=["a", "b"], streams=[], feature_dim=FEATURE_DIM, num_slots=16, head="tcn",
                         head_kwargs={"width": 8, "novelty": "shape"})
    model = Recognizer(config)
    model.head.load_state_dict(tcn.state_dict())
    loaded = Recognizer.load(model.save(tmp_path / "m"))
    torch.testing.assert_close(head_outputs(loaded.head, x)[1], emb)
    assert "shape_norm.mean" in tcn.state_dict() and "shape_norm.mean" not in learned.state_dict()


def test_tcn_novelty_refusals():
    with pytest.raises(ValueError, match=r"the tcn head's novelty is one of learned, shape; got 'pose'"):
        create_head("tcn", FEATURE_DIM, 2, 16, novelty="pose")
    with pytest.raises(ValueError, match="the tcn head's novelty=shape needs frames divisible by 8; got frames=12"):
        create_head("tcn", FEATURE_DIM, 2, 12, novelty="shape")
    assert create_head("tcn", FEATURE_DIM, 2, 12).novelty == "learned"  # any frame count without it


def test_a_bad_novelty_is_refused_when_the_arguments_are_checked():
    from actcap.models.heads import check_head_args, get_head_args

    message = r"the tcn head's novelty is one of learned, shape; got 'pose'"
    with pytest.raises(ValueError, match=message):  # before any clip is read (train.py, cli)
        check_head_args("tcn", {"novelty": "pose"})
    with pytest.raises(ValueError, match=message):
        check_head_args("ensemble", {"member": "tcn", "novelty": "pose"})
    assert get_head_args("tcn")["novelty"] == "learned"
    check_head_args("ensemble", {"member": "tcn", "members": 2, "novelty": "shape", "width": 8})

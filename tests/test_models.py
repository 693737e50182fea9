"""Heads and backbones: shapes, no NaN, gradients, registry errors, and a temporal-order task."""

import numpy as np
import pytest
import torch

from actcap.models import create_backbone, create_head, list_backbones, list_heads
from actcap.models.backbones import BackboneUnavailableError, get_backbone_spec, list_available_backbones
from actcap.models.heads import HEADS
from actcap.registry import UnknownNameError


@pytest.mark.parametrize("name", list_heads())
def test_head_shapes_and_gradients(name):
    torch.manual_seed(0)
    dim = max(12, HEADS.get(name).min_in_dim)  # tcn reads pose-stream features (skeleton.FEATURE_DIM of them)
    head = create_head(name, in_dim=dim, num_classes=5, num_slots=8)
    x = torch.randn(3, 8, dim)
    y = head(x)
    assert y.shape == ((3, 3, 5) if name == "ensemble" else (3, 5))  # an ensemble trains each of its 3 members
    assert torch.isfinite(y).all()
    y.sum().backward()
    for pname, p in head.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all()


def test_heads_registry_lists_names_on_a_miss():
    assert list_heads() == ["ensemble", "lstm", "mean", "segments", "skeleton", "tcn", "transformer"]
    with pytest.raises(UnknownNameError) as e:
        create_head("gru", 4, 2, 8)
    assert str(e.value) == ("unknown head 'gru'; choose one of: ensemble, lstm, mean, segments, skeleton, tcn, "
                            "transformer")


def test_unknown_backbone_lists_choices():
    with pytest.raises(UnknownNameError) as e:
        create_backbone("resnet9")
    assert str(e.value) == ("unknown backbone 'resnet9'; choose one of: "
                            "efficientnet_lite0, efficientnet_lite1, efficientnet_lite2, mobilenet_v2")


def test_unavailable_backbone_says_what_to_install():
    missing = [n for n in list_backbones() if n not in list_available_backbones()]
    if not missing:
        pytest.skip("every backbone is installed here")
    with pytest.raises(BackboneUnavailableError) as e:
        create_backbone(missing[0])
    msg = str(e.value)
    assert missing[0] in msg and "pip install" in msg and "available backbones: efficientnet_lite0" in msg


@pytest.mark.parametrize("name", list_available_backbones())
def test_backbone_carries_preprocessing_and_gives_features(name):
    spec = get_backbone_spec(name)
    b = create_backbone(name)
    s = spec.input_size
    with torch.no_grad():
        y = b(torch.zeros(2, 3, s, s))
    assert y.shape == (2, spec.feature_dim)
    assert torch.isfinite(y).all()
    assert b.weights_id.startswith(name + ":") and "random" not in b.weights_id
    assert spec.preprocessing()["input_size"] == s


def test_backbone_gradients_flow_when_finetuned():
    b = create_backbone("efficientnet_lite0", pretrained=False).train()
    b(torch.randn(2, 3, 64, 64)).sum().backward()
    grads = [p.grad for p in b.parameters()]
    assert all(g is not None for g in grads)


def _order_task(n_per_class=48, frames=8, seed=0):
    """A dot moves right (class 0) or left (class 1): the set of per-frame features is the same,
    only their order differs. Features are a one-hot position plus a little noise."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            pos = np.arange(frames) if label == 0 else np.arange(frames)[::-1]
            f = np.eye(frames)[pos] + 0.05 * rng.standard_normal((frames, frames))
            xs.append(f)
            ys.append(label)
    return torch.tensor(np.stack(xs), dtype=torch.float32), torch.tensor(ys)


def _fit(name, x, y, frames, epochs=60):
    torch.manual_seed(0)
    head = create_head(name, in_dim=x.shape[-1], num_classes=2, num_slots=frames, dropout=0.0)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    for _ in range(epochs):
        for i in torch.randperm(len(x)).split(16):
            loss = torch.nn.functional.cross_entropy(head(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return head


@pytest.mark.parametrize("name,learns", [("lstm", True), ("transformer", True), ("segments", True),
                                         ("mean", False)])
def test_temporal_order_task(name, learns):
    frames = 8
    x, y = _order_task(frames=frames)
    xt, yt = _order_task(n_per_class=32, frames=frames, seed=1)
    head = _fit(name, x, y, frames).eval()
    with torch.no_grad():
        acc = (head(xt).argmax(1) == yt).float().mean().item()
    if learns:
        assert acc >= 0.95, f"{name} should separate motion direction; got {acc:.2f}"
    else:
        assert 0.3 <= acc <= 0.7, f"mean pooling cannot see order; got {acc:.2f}"


def test_heads_refuse_unknown_arguments_and_list_their_own(motion_dataset, tmp_path, capsys):
    from actcap.cli import main
    from actcap.models.heads import get_head_args

    assert get_head_args("lstm") == {"hidden": 256, "dropout": 0.5}
    assert get_head_args("segments") == {"segments": 4, "dropout": 0.5}
    with pytest.raises(ValueError) as e:
        create_head("lstm", 4, 2, 8, hiden=64)
    assert str(e.value) == ("`--head-args`: the lstm head has no argument hiden; it takes (defaults): hidden=256, "
                            "dropout=0.5")
    # refused by `actcap train` before any clip is read
    code = main(["train", "--data", str(motion_dataset), "--head", "mean", "--head-args", "width=3", "--streams",
                 "flow", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2 and not (tmp_path / "cache").exists()
    assert "the mean head has no argument width; it takes (defaults): dropout=0.5" in capsys.readouterr().err

"""The `ensemble` head: members start apart and stay apart, each learns from its own loss, the answer is their
mean probability, and it saves, loads, calibrates, evaluates and exports like any head."""

from __future__ import annotations

import copy
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from keypoint_fixtures import pose_stream, write_keypoints  # noqa: F401  (pose_stream is a fixture)

from actcap.config import TrainConfig
from actcap.inference.export import export_head
from actcap.models.ensemble import EnsembleHead
from actcap.models.heads import check_head_args, create_head, get_head_args, head_outputs
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.pose.skeleton import FEATURE_DIM
from actcap.training.distributed import Context, GlobalBatchLoss
from actcap.training.held_out import fit_head

TCN3 = {"member": "tcn", "members": 3, "width": 8}


def _ensemble(**kwargs) -> EnsembleHead:
    torch.manual_seed(0)
    return create_head("ensemble", FEATURE_DIM, 4, 16, **{**TCN3, **kwargs})


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_members_start_apart_and_answer_with_their_mean_probability():
    head = _ensemble()
    assert [type(m).__name__ for m in head.members] == ["PoseConvHead"] * 3
    a, b, c = (_flat(m) for m in head.members)
    assert (a - b).abs().max() > 0.05 and (b - c).abs().max() > 0.05  # three initialisations, not one copied
    x = torch.randn(5, 16, FEATURE_DIM)
    assert head(x).shape == (5, 3, 4)  # training: every member's own logits
    head.eval()
    with torch.no_grad():
        mean = torch.stack([m(x).softmax(-1) for m in head.members]).mean(0)  # (5, 4)
        logits, emb = head_outputs(head, x)
    torch.testing.assert_close(logits.softmax(-1), mean, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(head(x), logits)  # the one answer, whoever asks
    assert not torch.allclose(head.members[0](x).softmax(-1), mean, atol=1e-3)  # a member alone answers otherwise
    # the embedding: each member's (what its fc reads), unit length, concatenated, / √3
    parts = [head_outputs(m, x)[1] for m in head.members]  # 3 × (5, 32)
    want = torch.cat([torch.nn.functional.normalize(p, dim=-1) for p in parts], -1) / np.sqrt(3)
    torch.testing.assert_close(emb, want)
    assert emb.shape == (5, 96)


@pytest.mark.parametrize("weights", [None, torch.tensor([1.0, 2.0, 0.5, 1.0])])
def test_the_loss_trains_each_member_as_if_it_were_alone(weights):
    head = _ensemble()
    alone = [copy.deepcopy(m) for m in head.members]
    x, y = torch.randn(6, 16, FEATURE_DIM), torch.tensor([0, 1, 2, 3, 1, 2])
    loss = GlobalBatchLoss(Context(), weights, 0.1)
    torch.manual_seed(1)  # each member's dropout draws the same masks in both runs
    value, part = loss(head, x, y)
    value.backward()
    own = []
    torch.manual_seed(1)
    for m in alone:
        v, p = loss(m, x, y)
        v.backward()
        own.append(p)
    for i, (m, a) in enumerate(zip(head.members, alone)):
        for (name, p), q in zip(m.named_parameters(), a.parameters()):
            torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4, msg=f"member {i}: {name}")
    assert part == pytest.approx(np.mean(own), rel=1e-5)  # reported: the members' mean loss
    assert value.item() == pytest.approx(sum(own), rel=1e-5)  # stepped: their sum


def test_bad_arguments_are_refused_with_what_it_takes(tmp_path, pose_stream, capsys):  # noqa: F811
    from actcap.cli import main

    assert get_head_args("ensemble", {"member": "segments"}) == {"member": "segments", "members": 3,
                                                                  "segments": 4, "dropout": 0.5}
    with pytest.raises(ValueError) as e:
        check_head_args("ensemble", {"member": "segments", "widht": 3})
    assert str(e.value) == ("`--head-args`: the ensemble head has no argument widht; it takes (defaults): "
                            "member=segments, members=3, segments=4, dropout=0.5")
    with pytest.raises(ValueError) as e:
        create_head("ensemble", 12, 4, 8, member="ensemble")
    assert str(e.value) == ("`--head-args`: the ensemble head's member='ensemble' is not a head to ensemble; "
                            "choose one of: lstm, mean, segments, skeleton, tcn, transformer")
    for members in (0, 2.5, "three"):
        with pytest.raises(ValueError, match=r"the ensemble head takes members=N, a whole number >= 1; got "):
            check_head_args("ensemble", {"members": members})
    path = write_keypoints(tmp_path / "reach.npz")
    code = main(["train", "--data", str(path), "--split", "npz:official", "--head", "ensemble", "--head-args",
                 "member=gru", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2 and not (tmp_path / "cache").exists()  # refused before any clip is read
    assert "member='gru' is not a head to ensemble; choose one of: lstm," in capsys.readouterr().err


def test_save_load_and_export_give_the_same_answers(tmp_path):
    torch.manual_seed(0)
    model = Recognizer(ModelConfig(classes=["a", "b", "c", "d"], streams=[], feature_dim=FEATURE_DIM, num_slots=16,
                                   head="ensemble", head_kwargs=TCN3))
    model.head.fit_input_stats(torch.randn(50, FEATURE_DIM) * 2 + 1)
    model.train()(torch.randn(8, 16, FEATURE_DIM))  # move the BatchNorm statistics off their start
    model.save(tmp_path / "m")
    loaded = Recognizer.load(tmp_path / "m")
    assert isinstance(loaded.head, EnsembleHead) and len(loaded.head.members) == 3
    x = torch.randn(3, 16, FEATURE_DIM)
    want = head_outputs(model.eval().head, x)
    for got, ref in zip(head_outputs(loaded.head, x), want):
        torch.testing.assert_close(got, ref, atol=0, rtol=0)
    sess = ort.InferenceSession(str(export_head(loaded, tmp_path / "head.onnx")), providers=["CPUExecutionProvider"])
    logits, emb = sess.run(None, {"features": x.numpy()})
    np.testing.assert_allclose(logits, want[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(emb, want[1].numpy(), atol=1e-4)


def test_held_out_heads_are_ensembles_too(tmp_path):
    template = Recognizer(ModelConfig(classes=["a", "b"], streams=[], feature_dim=FEATURE_DIM, num_slots=8,
                                      head="ensemble", head_kwargs={**TCN3, "members": 2}))
    rng = np.random.default_rng(0)
    feats = [rng.normal(0, 1, (10, FEATURE_DIM)).astype(np.float32) for _ in range(8)]
    cfg = TrainConfig(out=tmp_path, epochs=1, batch_size=4, num_slots=8)
    fold = fit_head(template, feats, [0, 1] * 4, cfg)  # as held_out.calibrate_run trains each fold's head
    assert isinstance(fold.head, EnsembleHead) and len(fold.head.members) == 2
    assert fold.config.head_kwargs == {**TCN3, "members": 2}


def test_an_ensemble_learns_a_keypoint_task_calibrates_and_evaluates(tmp_path, pose_stream):  # noqa: F811
    """Which way the right wrist moves is all that separates the classes; the person stands anywhere."""
    from actcap.cli import main

    path = write_keypoints(tmp_path / "reach.npz")
    out, cache = tmp_path / "run", str(tmp_path / "cache")
    assert main(["train", "--data", str(path), "--split", "npz:official", "--head", "ensemble", "--head-args",
                 "member=tcn,members=3,width=8", "--frames", "8", "--cache-frames", "16", "--epochs", "15",
                 "--lr", "3e-3", "--batch-size", "8", "--augment", "--no-progress", "--cache-dir", cache,
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["head"] == "ensemble" and config["head_kwargs"] == {"member": "tcn", "members": 3, "width": 8}
    assert json.loads((out / "metrics.json").read_text())["validation"]["top1"] == 1.0
    assert config["calibration"]["temperature"] > 0 and config["open_set"]["threshold"] > 0
    members = Recognizer.load(out).head.members
    assert min((_flat(a) - _flat(b)).abs().max() for a, b in [(members[0], members[1]), (members[1], members[2])
                                                              ]) > 0.05  # apart after training too
    assert main(["evaluate", "--model", str(out), "--data", str(path), "--split", "npz:official", "--no-progress",
                 "--cache-dir", cache, "--out", str(tmp_path / "eval")]) == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert ev["num_clips"] == 4 and ev["top1"] == 1.0

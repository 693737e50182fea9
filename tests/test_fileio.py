"""Atomic writes: whatever fails mid-write, the file that was there before is still there, whole."""

from __future__ import annotations

import json
import os

import pytest
import torch

from actcap.fileio import atomic_path, atomic_write_bytes, atomic_write_json
from actcap.models import recognizer as recognizer_module
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.training import train as train_module
from actcap.training.metrics import write_confusion


def _only(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())  # a temp file left behind would show up here


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    atomic_write_json(tmp_path / "metrics.json", {"top1": 0.5})
    atomic_write_json(tmp_path / "metrics.json", {"top1": 0.75})
    assert (tmp_path / "metrics.json").read_text() == '{\n  "top1": 0.75\n}\n'
    assert _only(tmp_path) == ["metrics.json"]
    atomic_write_bytes(tmp_path / "new" / "deeper" / "x.bin", b"\x00\x01")  # folders are created
    assert (tmp_path / "new" / "deeper" / "x.bin").read_bytes() == b"\x00\x01"


def test_mode_follows_the_umask_like_a_plain_write(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "model.safetensors", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "model.safetensors").stat().st_mode & 0o777 == 0o644  # readable by a server run as another user


def test_unserialisable_value_leaves_the_old_file(tmp_path):
    atomic_write_json(tmp_path / "metrics.json", {"top1": 0.5})
    with pytest.raises(TypeError, match="not JSON serializable"):
        atomic_write_json(tmp_path / "metrics.json", {"top1": object()})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"top1": 0.5}
    assert _only(tmp_path) == ["metrics.json"]


def test_failure_after_half_the_bytes_leaves_the_old_file(tmp_path, monkeypatch):
    atomic_write_bytes(tmp_path / "weights.bin", b"old" * 10)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the bytes are in the temp file; the disk gives up
    with pytest.raises(OSError, match="No space left on device"):
        atomic_write_bytes(tmp_path / "weights.bin", b"new" * 10)
    assert (tmp_path / "weights.bin").read_bytes() == b"old" * 10
    assert _only(tmp_path) == ["weights.bin"]


def test_atomic_path_error_in_the_block_leaves_the_old_file(tmp_path):
    (tmp_path / "curve.png").write_bytes(b"old png")
    with pytest.raises(RuntimeError, match="plot failed"):
        with atomic_path(tmp_path / "curve.png") as tmp:
            tmp.write_bytes(b"half a p")
            raise RuntimeError("plot failed")
    assert (tmp_path / "curve.png").read_bytes() == b"old png"
    assert _only(tmp_path) == ["curve.png"]


def _model(seed: int) -> Recognizer:
    torch.manual_seed(seed)
    return Recognizer(ModelConfig(classes=["a", "b"], streams=[], feature_dim=4, num_slots=2, head="mean"))


def test_model_save_interrupted_in_serialisation_keeps_the_old_model(tmp_path, monkeypatch):
    old = _model(0)
    old.save(tmp_path)
    before = {n: (tmp_path / n).read_bytes() for n in ("model.safetensors", "config.json")}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the weights are being serialised

    monkeypatch.setattr(recognizer_module, "safetensors_bytes", interrupted)
    new = _model(1)
    new.config.classes = ["c", "d"]
    with pytest.raises(KeyboardInterrupt):
        new.save(tmp_path)
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert _only(tmp_path) == ["config.json", "model.safetensors"]
    loaded = Recognizer.load(tmp_path)  # still a whole, loadable model
    assert loaded.config.classes == ["a", "b"]
    for k, v in old.head.state_dict().items():
        assert torch.equal(loaded.head.state_dict()[k], v)


def _trained(seed: int) -> tuple[Recognizer, torch.optim.Optimizer]:
    """A head one Adam step away from its seed's initial weights (so the optimizer has state to save)."""
    model = _model(seed)
    opt = torch.optim.Adam(model.head.parameters())
    torch.manual_seed(seed)
    model.head(torch.randn(3, 2, 4)).sum().backward()
    opt.step()
    return model, opt


def _checkpoint(tmp_path, epoch: int) -> None:
    train_module._save_checkpoint(tmp_path, *_trained(epoch), {"epoch": epoch, "history": [{"epoch": epoch}]})


def test_checkpoint_interrupted_in_serialisation_keeps_the_old_one(tmp_path, monkeypatch):
    _checkpoint(tmp_path, 1)
    before = {n: (tmp_path / n).read_bytes() for n in ("checkpoint.safetensors", "checkpoint.json")}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "safetensors_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_module._save_checkpoint(tmp_path, *_trained(2), {"epoch": 2, "history": []})
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert _only(tmp_path) == ["checkpoint.json", "checkpoint.safetensors"]


def test_resume_takes_its_state_from_the_tensors_file(tmp_path, monkeypatch):
    """Interrupted between the two checkpoint files: the state saved with the tensors wins, so epoch 2's
    weights are never resumed with epoch 1's history."""
    _checkpoint(tmp_path, 1)
    real = train_module.atomic_write_json

    def killed_before_the_json(path, obj):
        if path.name == "checkpoint.json":
            raise KeyboardInterrupt
        return real(path, obj)

    monkeypatch.setattr(train_module, "atomic_write_json", killed_before_the_json)
    with pytest.raises(KeyboardInterrupt):
        train_module._save_checkpoint(tmp_path, *_trained(2), {"epoch": 2, "history": [{"epoch": 2}]})
    assert json.loads((tmp_path / "checkpoint.json").read_text())["epoch"] == 1  # stale
    model = _model(7)
    state = train_module._load_checkpoint(tmp_path, model, torch.optim.Adam(model.head.parameters()))
    assert state == {"epoch": 2, "history": [{"epoch": 2}]}
    want = _trained(2)[0].head.state_dict()
    assert all(torch.equal(v, want[k]) for k, v in model.head.state_dict().items())


def test_confusion_files_are_whole_or_old(tmp_path, monkeypatch):
    metrics = {"classes": ["a", "b"], "confusion_matrix": [[2, 0], [1, 1]], "top1": 0.75, "num_clips": 4}
    write_confusion(metrics, tmp_path)
    assert (tmp_path / "confusion_matrix.csv").read_text().splitlines() == [
        "true \\ predicted,a,b", "a,2,0", "b,1,1"]
    png = (tmp_path / "confusion_matrix.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    import matplotlib.figure

    def savefig_fails(self, *args, **kwargs):
        raise MemoryError("out of memory while rendering")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig_fails)
    with pytest.raises(MemoryError):
        write_confusion({**metrics, "confusion_matrix": [[0, 2], [2, 0]]}, tmp_path)
    assert (tmp_path / "confusion_matrix.png").read_bytes() == png
    assert _only(tmp_path) == ["confusion_matrix.csv", "confusion_matrix.png"]

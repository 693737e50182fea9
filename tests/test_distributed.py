"""torchrun with 2 CPU processes (gloo) on tiny synthetic clips: sharded extraction, a killed rank, DDP training.

Every test launches the real launcher (`python -m torch.distributed.run --standalone`) on the real entry point
(`-m actcap`), so what runs is what a user runs. Nothing here depends on speed: a rank is killed by a clip count
(ACTCAP_TEST_KILL_AFTER), never by a timer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from actcap.cli import main
from actcap.training.distributed import Context, GlobalBatchLoss, check_global_batch

ROOT = Path(__file__).resolve().parents[1]
FLOW = ["--streams", "flow", "--no-progress"]
TRAIN = ["--group-by", r"_s(\d+)_", "--val-groups", "3", "--frames", "8", "--head", "lstm",
         "--head-args", "dropout=0", "--lr", "3e-3", "--batch-size", "4", "--epochs", "3", "--keep", "last"]


def torchrun(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node=2 -m actcap ARGS`, with this checkout first on the path."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                **(env or {})}
    full_env.pop("RANK", None), full_env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "actcap", *args]
    # its own session, so a hung job is killed whole (launcher and workers), never left running
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def entries(cache: Path) -> list[Path]:
    """The finished entries (temporary files are hidden: .<name>.<pid>.<random>.tmp)."""
    return sorted(p for p in cache.glob("features/flow-*/*.npz") if not p.name.startswith("."))


def loads(path: Path) -> bool:
    with np.load(path) as z:
        return z["features"].shape[1] > 0 and int(z["num_frames"]) > 0


def test_torchrun_extract_gives_each_rank_a_disjoint_shard_and_each_clip_once(motion_dataset, tmp_path):
    cache = tmp_path / "cache"
    r = torchrun("extract", "--data", str(motion_dataset), "--cache-dir", str(cache), *FLOW)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # rank 0 alone prints: stdout is one JSON document
    assert report["clips"] == 12 and report["extracted"] == 12 and report["cached"] == 0
    assert [(x["rank"], x["clips"], x["extracted"]) for x in report["ranks"]] == [(0, 6, 6), (1, 6, 6)]
    # 12 extractions wrote 12 distinct entries: each clip was extracted exactly once
    assert len(entries(cache)) == 12 and all(loads(p) for p in entries(cache))
    assert not list(cache.rglob("*.tmp*"))
    assert "[rank 1] INFO" not in r.stderr and "[rank 0] INFO actcap.features.cache" in r.stderr

    again = torchrun("extract", "--data", str(motion_dataset), "--cache-dir", str(cache), *FLOW)
    assert json.loads(again.stdout)["extracted"] == 0 and json.loads(again.stdout)["cached"] == 12


def test_a_killed_rank_leaves_nothing_corrupt_and_a_rerun_does_only_what_is_missing(motion_dataset, tmp_path):
    cache = tmp_path / "cache"
    # rank 1 kills itself (SIGKILL) while writing its 3rd entry; torchrun then stops rank 0 wherever it is
    r = torchrun("extract", "--data", str(motion_dataset), "--cache-dir", str(cache), *FLOW,
                 env={"ACTCAP_TEST_KILL_AFTER": "2", "ACTCAP_TEST_KILL_RANK": "1"})
    assert r.returncode != 0
    before = entries(cache)
    assert 2 <= len(before) < 12 and all(loads(p) for p in before)
    assert list(cache.glob("features/flow-*/.*.npz.*.tmp"))  # the half-written entry is there, not as an entry

    again = subprocess.run([sys.executable, "-m", "actcap", "extract", "--data", str(motion_dataset),
                            "--cache-dir", str(cache), *FLOW], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["extracted"] == 12 - len(before) and report["cached"] == len(before)
    assert len(entries(cache)) == 12 and all(loads(p) for p in entries(cache))
    assert not list(cache.rglob("*.tmp*"))  # the rerun removed what the killed writers left


def test_ddp_head_matches_the_single_process_head(motion_dataset, tmp_path, capsys):
    """Same seed, same global batch (4 = 2 ranks x 2): the heads agree to 1e-4 (float summation order and
    per-rank threads differ, nothing else). Dropout is off: its masks are the one thing ranks draw apart."""
    cache = tmp_path / "cache"
    r = torchrun("train", "--data", str(motion_dataset), "--cache-dir", str(cache), *FLOW, *TRAIN,
                 "--out", str(tmp_path / "ddp"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout[r.stdout.index("{"):])
    assert summary["num_clips"] == 4 and summary["train_clips"] == 8

    assert main(["train", "--data", str(motion_dataset), "--cache-dir", str(cache), *FLOW, *TRAIN,
                 "--out", str(tmp_path / "one")]) == 0
    ddp, one = load_file(str(tmp_path / "ddp" / "model.safetensors")), load_file(str(tmp_path / "one" /
                                                                                    "model.safetensors"))
    assert ddp.keys() == one.keys()
    assert max(float((ddp[k] - one[k]).abs().max()) for k in ddp) < 1e-4
    h_ddp = json.loads((tmp_path / "ddp" / "history.json").read_text())
    h_one = json.loads((tmp_path / "one" / "history.json").read_text())
    assert np.allclose([h["train_loss"] for h in h_ddp], [h["train_loss"] for h in h_one], atol=1e-5)
    assert [h["val_top1"] for h in h_ddp] == [h["val_top1"] for h in h_one]  # over all 4 clips, gathered
    m = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert m["validation"]["num_clips"] == 4
    assert not (tmp_path / "ddp" / "model.safetensors.tmp").exists()


def test_finetune_backbone_runs_under_ddp(motion_dataset, tmp_path):
    out = tmp_path / "e2e"
    r = torchrun("train", "--data", str(motion_dataset), "--group-by", r"_s(\d+)_", "--val-groups", "3",
                 "--finetune-backbone", "--streams", "appearance", "--frames", "2", "--epochs", "1",
                 "--batch-size", "4", "--engine", "torch", "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                 "--out", str(out))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout[r.stdout.index("{"):])
    assert summary["finetune_backbone"] is True and summary["num_clips"] == 4
    assert (out / "backbone.safetensors").is_file()
    assert json.loads((out / "config.json").read_text())["train"]["finetune_backbone"] is True


@pytest.mark.parametrize("weighted", [False, True])
def test_global_batch_loss_parts_sum_to_the_single_process_loss_and_gradient(weighted):
    torch.manual_seed(0)
    weight = torch.tensor([0.5, 2.0, 1.0]) if weighted else None
    net = torch.nn.Linear(5, 3)
    x, y = torch.randn(5, 5), torch.tensor([0, 1, 2, 1, 0])  # 5 clips over 2 ranks: shares of 3 and 2
    one = GlobalBatchLoss(Context(), weight, 0.1)
    loss, _ = one(net, x, y)
    loss.backward()
    grad_one = net.weight.grad.clone()
    total, grads = 0.0, torch.zeros_like(grad_one)
    for rank in (0, 1):
        net.zero_grad()
        share, part = GlobalBatchLoss(Context(rank=rank, world_size=2), weight, 0.1)(net, x, y)
        share.backward()
        total += part
        grads += net.weight.grad / 2  # what DDP does: average over the ranks
    assert total == pytest.approx(loss.item(), abs=1e-6)
    assert torch.allclose(grads, grad_one, atol=1e-6)


def test_a_last_batch_smaller_than_the_world_counts_each_clip_once():
    net = torch.nn.Linear(5, 3)
    x, y = torch.randn(1, 5), torch.tensor([2])
    parts = [GlobalBatchLoss(Context(rank=r, world_size=2), None, 0.0)(net, x, y)[1] for r in (0, 1)]
    assert parts[1] == 0.0 and parts[0] == pytest.approx(torch.nn.functional.cross_entropy(net(x), y).item())


def test_context_shards_are_disjoint_and_gather_back_in_order():
    items = list(range(7))
    shards = [Context(rank=r, world_size=3).shard(items) for r in range(3)]
    assert shards == [[0, 3, 6], [1, 4], [2, 5]]
    assert Context().gather_rows(np.arange(4.0)[:, None], 4)[:, 0].tolist() == [0, 1, 2, 3]


def test_a_global_batch_smaller_than_the_world_is_refused():
    with pytest.raises(ValueError) as e:
        check_global_batch(1, Context(rank=0, world_size=2))
    assert str(e.value) == ("`--batch-size` (1) must be >= the number of processes (2): under torchrun it is "
                            "the global batch, split across the processes")

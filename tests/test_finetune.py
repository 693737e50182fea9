"""`--finetune-backbone`: end-to-end training writes its own CNN weights, and prediction uses them."""

import json

import numpy as np
import pytest
from safetensors.torch import load_file

from actcap.cli import main
from actcap.inference.predictor import Predictor
from actcap.models.backbones import create_backbone


def test_finetune_saves_backbone_and_predictor_uses_it(motion_dataset, tmp_path, capsys):
    out = tmp_path / "e2e"
    code = main(["train", "--data", str(motion_dataset), "--group-by", r"_s(\d+)_", "--val-groups", "3",
                 "--finetune-backbone", "--streams", "appearance", "--frames", "2", "--epochs", "1",
                 "--batch-size", "4", "--engine", "torch", "--cache-dir", str(tmp_path / "cache"),
                 "--no-progress", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    stream = config["streams"][0]
    assert stream["weights_file"] == "backbone.safetensors" and len(stream["weights_sha1"]) == 40
    assert config["train"]["finetune_backbone"] is True
    # calibrated, with the open set, like every other model (held_out.calibrate_run on the tuned CNN's features)
    assert config["calibration"]["temperature"] > 0 and config["calibration"]["held_out_folds"] == 2
    assert config["open_set"]["score"] == "prototype" and "threshold" in config["open_set"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["num_clips"] == 4 and len(metrics["history"]) == 1

    tuned = load_file(str(out / "backbone.safetensors"))
    stock = create_backbone("efficientnet_lite0").state_dict()
    key = "features.net._conv_stem.weight"
    assert not np.allclose(tuned[key].numpy(), stock[key].numpy())  # the CNN did learn

    p = Predictor.load(out, engine="torch")
    assert p.streams[0].load_backbone().weights_id.endswith(stream["weights_sha1"])
    clip = next((motion_dataset / "move_left").glob("*.avi"))
    assert p.predict_paths([clip])["prediction"] in ("move_left", "move_right")


def test_finetune_refuses_other_streams(motion_dataset, tmp_path, capsys):
    assert main(["train", "--data", str(motion_dataset), "--finetune-backbone", "--streams", "appearance+flow",
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "`--finetune-backbone` trains the appearance stream end to end; use `--streams appearance` " \
           "(got appearance+flow)" in capsys.readouterr().err


def test_missing_finetuned_weights_is_a_clear_error(motion_dataset, tmp_path):
    from actcap.features.streams.appearance import AppearanceStream

    s = AppearanceStream(weights_file="backbone.safetensors", model_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="fine-tuned backbone weights .*backbone.safetensors are missing"):
        s.load_backbone()


def test_finetune_refuses_the_flags_it_cannot_honour_by_name(motion_dataset, tmp_path, capsys):
    assert main(["train", "--data", str(motion_dataset), "--finetune-backbone", "--streams", "appearance",
                 "--sampling", "dense", "--mirror", "move_left:move_right", "--test-clips", "3", "--resume",
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    for flag in ("`--sampling dense`", "`--mirror`", "`--test-clips 3`", "`--resume`"):
        assert flag in err, flag

"""The real entry point end to end on tiny synthetic clips: train → files → resume → evaluate → predict."""

import json

import pytest

from actcap.cli import build_parser, main

FAST = ["--streams", "flow", "--frames", "8", "--no-progress"]


def _train(motion_dataset, out, cache, *extra):
    return main(["train", "--data", str(motion_dataset), "--group-by", r"_s(\d+)_", "--val-groups", "3",
                 "--head", "lstm", "--lr", "3e-3", "--batch-size", "4", "--cache-dir", str(cache),
                 "--out", str(out), *FAST, *extra])


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["-h"])
    text = capsys.readouterr().out
    for cmd in ("train", "evaluate", "predict", "cv"):
        assert cmd in text
    assert build_parser().parse_args(["train", "--data", "d", "--out", "o"]).frames == 16


def test_train_writes_run_dir_and_resume_continues(motion_dataset, tmp_path, capsys):
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert _train(motion_dataset, out, cache, "--epochs", "3") == 0
    for name in ("model.safetensors", "config.json", "metrics.json", "training_curve.png",
                 "confusion_matrix.png", "confusion_matrix.csv", "checkpoint.safetensors"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["classes"] == ["move_left", "move_right"]
    assert config["head"] == "lstm" and config["num_frames"] == 8
    assert config["streams"] == [{"name": "flow", "grid": 4, "width": 160, "bins": 8, "cut": 1.0,
                                  "method": "farneback-hof-v2"}]
    assert config["train"]["epochs"] == 3 and config["actcap_version"] == "0.1.0"
    # calibrated on held-out people (s1, s2: the training side), and an open-set threshold by the documented rule
    assert config["calibration"]["held_out_folds"] == 2 and config["calibration"]["temperature"] > 0
    assert config["open_set"]["score"] == "prototype" and config["open_set"]["rule"].startswith("quantile 0.95")
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert metrics["validation"]["num_clips"] == 4  # subject 3: two clips per class
    assert set(metrics["validation"]["per_class"]) == {"move_left", "move_right"}

    assert _train(motion_dataset, out, cache, "--epochs", "12", "--resume") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == list(range(1, 13))
    # direction of motion is all that separates the classes; flow + LSTM must get it
    assert metrics["validation"]["top1"] == 1.0
    capsys.readouterr()

    assert main(["evaluate", "--model", str(out), "--data", str(motion_dataset), "--cache-dir", str(cache),
                 "--no-progress", "--out", str(tmp_path / "eval")]) == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert ev["num_clips"] == 12 and ev["top1"] >= 0.9
    assert 0 <= ev["calibration"]["ece"] <= 1 and len(ev["calibration"]["reliability"]) == 10
    assert (tmp_path / "eval" / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert set(ev) >= {"top1", "top5", "mean_class_accuracy", "num_clips", "per_class"}
    assert (tmp_path / "eval" / "confusion_matrix.csv").read_text().splitlines()[0] == \
        "true \\ predicted,move_left,move_right"
    capsys.readouterr()

    clip = next((motion_dataset / "move_right").glob("*.avi"))
    assert main(["predict", "--model", str(out), str(clip)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["prediction"] == "move_right"
    assert [t["label"] for t in result["top_k"]][0] == "move_right"
    assert result["caption"].endswith(".") and "_" not in result["caption"]
    assert result["state"] in ("action", "unknown") and isinstance(result["open_set_score"], float)
    assert main(["predict", "--model", str(out), "--open-set", "off", str(clip)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["state"] == "action" and result["open_set_score"] is None
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", str(out), "--open-set", "maybe", str(clip)])
    assert exit_info.value.code == 2
    assert "argument --open-set: expected on or off; got 'maybe'" in capsys.readouterr().err


def test_resume_without_checkpoint_is_a_clear_error(motion_dataset, tmp_path, capsys):
    assert _train(motion_dataset, tmp_path / "new", tmp_path / "cache", "--epochs", "1", "--resume") == 2
    err = capsys.readouterr().err
    assert f"`--resume`: no checkpoint in {tmp_path / 'new'}" in err


def test_bad_inputs_are_one_line_errors(tmp_path, capsys, motion_dataset):
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--data", str(motion_dataset), "--backbone", "resnet9", "--out", str(tmp_path / "o"),
                 "--streams", "appearance"]) == 2
    assert "unknown backbone 'resnet9'; choose one of:" in capsys.readouterr().err
    assert main(["train", "--data", str(motion_dataset), "--classes", "move_left", "--out", str(tmp_path / "o")]) == 2
    assert "training needs at least 2" in capsys.readouterr().err
    assert main(["predict", "--model", str(tmp_path / "nope"), "x.avi"]) == 2
    assert f"model directory {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def test_short_clips_are_used_and_reported(motion_dataset, tmp_path, capsys, caplog):
    from conftest import _moving_square, _write_video

    out, cache = tmp_path / "run", tmp_path / "cache"
    assert _train(motion_dataset, out, cache, "--epochs", "1") == 0
    short = _write_video(motion_dataset / "move_left" / "move_left_s1_short.avi", _moving_square(4, -1))
    capsys.readouterr()
    with caplog.at_level("WARNING"):
        assert main(["evaluate", "--model", str(out), "--data", str(motion_dataset), "--cache-dir", str(cache),
                     "--no-progress", "--out", str(tmp_path / "eval")]) == 0
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert ev["num_clips"] == 13 and ev["short_clips"] == [f"{short} (4 frames)"]
    assert "1 clip(s) have fewer than 8 frames; their frames are repeated in order" in caplog.text
    capsys.readouterr()
    assert main(["predict", "--model", str(out), str(short)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["warnings"] == [f"4 frames in {short}; 8 expected; frames were repeated"]


def test_cv_reports_per_group_folds_calibration_with_its_interval_and_a_diagram(motion_dataset, tmp_path, capsys):
    out = tmp_path / "cv"
    assert main(["cv", "--data", str(motion_dataset), "--group-by", r"_s(\d+)_", "--head", "lstm", "--lr", "3e-3",
                 "--batch-size", "4", "--epochs", "12", "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
                 "--streams", "flow", "--frames", "8"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(printed["folds"]) == ["1", "2", "3"]  # one fold per subject, each validated on its 4 clips
    assert printed["mean_top1"] >= 0.9  # direction of motion separates the classes for people never seen
    lo, hi = printed["ece_interval"]
    assert 0 <= lo <= hi <= 1
    saved = json.loads((out / "cv.json").read_text())
    assert saved["calibration"]["ece"] == pytest.approx(printed["ece"], abs=1e-4)
    assert [round(v, 4) for v in saved["calibration"]["ece_interval"]] == printed["ece_interval"]
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"

"""One source for each setting: flags built from the config dataclasses, defaults written once, checks that
name the flag (actcap/config.py, actcap/cli/options.py)."""

import ast
import inspect
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pytest
import torch

from actcap.cli import build_parser
from actcap.cli.options import TRAIN_GROUPS, dest_of, train_config
from actcap.config import (
    DEFAULT_BACKBONE,
    DEFAULT_CACHE_FRAMES,
    DEFAULT_HEAD,
    DEFAULT_NUM_SLOTS,
    TimelineConfig,
    TrainConfig,
    field_docs,
    field_flag,
    upgrade_train_record,
)
from actcap.training.loop import lr_schedule, run_epochs

ACTCAP = Path(__file__).resolve().parents[1] / "actcap"


def _subparser(name: str):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices[name]


def _group_flags(parser) -> dict[str, list[tuple]]:
    """{group title: [(flags, help, default, type, choices, action class)]} of a subcommand's parser."""
    return {g.title: [(tuple(a.option_strings), a.help, a.default, a.type, a.choices, type(a).__name__)
                      for a in g._group_actions] for g in parser._action_groups}


def test_cv_takes_the_same_training_flags_as_train():
    train, cv = _group_flags(_subparser("train")), _group_flags(_subparser("cv"))
    for title in TRAIN_GROUPS:
        assert cv[title] == train[title], title
    flags = [f for title in TRAIN_GROUPS for (opts, *_) in cv[title] for f in opts]
    assert {"--class-weights", "--cache-frames", "--test-clips", "--frames", "--head-args"} <= set(flags)


def test_every_flag_of_every_subcommand_has_help():
    from actcap.cli import COMMANDS

    for name in COMMANDS:
        missing = [a.option_strings for a in _subparser(name)._actions if a.option_strings and not a.help]
        assert missing == [], name


def test_every_flagged_field_has_its_flag_with_the_field_default():
    train = _subparser("train")
    by_flag = {s: a for a in train._actions for s in a.option_strings}
    for f in fields(TrainConfig):
        flag = field_flag(TrainConfig, f.name)
        action = by_flag[flag]
        assert action.dest == dest_of(TrainConfig, f.name)
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if f.name == "streams":
            assert action.default == "+".join(default)
        elif flag.startswith("--no-"):
            assert action.default is (not default)
        elif f.name == "captions":
            assert action.default is None and default == {}
        elif default is MISSING:
            assert action.required
        else:
            assert action.default == default, f.name
    assert [f.name for f in fields(TrainConfig) if field_flag(TrainConfig, f.name) not in by_flag] == []


def test_parsed_flags_become_the_config_fields(tmp_path):
    args = build_parser().parse_args(
        ["cv", "--data", "d", "--group-by", r"_s(\d+)_", "--out", str(tmp_path), "--frames", "8",
         "--cache-frames", "32", "--test-clips", "3", "--class-weights", "--streams", "appearance+flow",
         "--head-args", "hidden=64,dropout=0.25", "--mirror", "a:b", "--open-set", "off", "--seed", "7"])
    cfg = train_config(args, out=tmp_path, progress=False)
    assert (cfg.num_slots, cfg.cache_frames, cfg.num_clips, cfg.class_weights, cfg.streams) == (
        8, 32, 3, True, ["appearance", "flow"])
    assert (cfg.head_kwargs, cfg.mirror, cfg.open_set, cfg.seed, cfg.group_by) == (
        {"hidden": 64, "dropout": 0.25}, [("a", "b")], False, 7, r"_s(\d+)_")
    plain = train_config(build_parser().parse_args(["train", "--data", "d", "--out", "o"]), out=Path("o"))
    assert plain == TrainConfig(out=Path("o"))
    held = train_config(build_parser().parse_args(["train", "--data", "d", "--out", "o", "--streams", "pose",
                                                   "--augment", "--augment-held", "0.3"]), out=Path("o"))
    assert (held.augment, held.augment_held) == (True, 0.3)


def test_check_names_every_bad_flag_at_once(tmp_path):
    cfg = TrainConfig(out=tmp_path, num_slots=0, epochs=0, batch_size=0, num_clips=0, cache_frames=0, lr=0,
                      weight_decay=-1, label_smoothing=1.0, sampling="every", keep="first", lr_schedule="step")
    with pytest.raises(ValueError) as e:
        cfg.check()
    assert str(e.value).splitlines() == [
        "`--frames` must be >= 1; got 0", "`--epochs` must be >= 1; got 0", "`--batch-size` must be >= 1; got 0",
        "`--test-clips` must be >= 1; got 0", "`--cache-frames` must be >= 1; got 0", "`--lr` must be > 0; got 0",
        "`--weight-decay` must be >= 0; got -1", "`--label-smoothing` must be in [0, 1); got 1.0",
        "`--sampling` must be frames or dense; got every", "`--lr-schedule` must be constant or cosine; got step",
        "`--keep` must be best or last; got first"]
    with pytest.raises(ValueError) as e:
        TrainConfig(out=tmp_path, num_slots=32, cache_frames=16).check()
    assert str(e.value) == "`--cache-frames` (16) must be >= `--frames` (32)"


def test_a_model_files_old_train_record_reads_back_under_the_new_names(tmp_path):
    old = {"max_frames": 48, "num_frames": 8, "head": "mean", "out": "runs/x", "no_longer_a_setting": 1}
    assert upgrade_train_record(old)["cache_frames"] == 48 and "max_frames" not in upgrade_train_record(old)
    cfg = TrainConfig.from_record(old, out=tmp_path)
    assert (cfg.cache_frames, cfg.num_slots, cfg.head, cfg.out) == (48, 8, "mean", tmp_path)
    record = TrainConfig(out=tmp_path).record()
    assert record["cache_frames"] == DEFAULT_CACHE_FRAMES and "max_frames" not in record


def test_timeline_defaults_are_one_source():
    from actcap.caption.timeline import build_timeline
    from actcap.inference.predictor import Predictor
    from actcap.inference.timeline import predict_timeline

    wanted = {f.name: f.default for f in fields(TimelineConfig)}
    assert wanted == {"window": 3.0, "stride": 0.5, "smooth": 3, "min_duration": 1.0, "min_confidence": 0.4}
    predictor = inspect.signature(Predictor.predict_timeline).parameters
    assert {k: predictor[k].default for k in wanted} == wanted
    function = inspect.signature(predict_timeline).parameters
    assert {k: function[k].default for k in wanted} == wanted
    built = inspect.signature(build_timeline).parameters
    assert {k: built[k].default for k in ("smooth", "min_duration", "min_confidence")} == {
        k: wanted[k] for k in ("smooth", "min_duration", "min_confidence")}
    args = build_parser().parse_args(["predict", "--timeline", "v.mp4"])
    assert {k: getattr(args, k) for k in wanted} == wanted


def test_every_config_field_is_documented():
    for cls in (TrainConfig, TimelineConfig):
        assert set(field_docs(cls)) == {f.name for f in fields(cls)}, cls.__name__


def _string_literals(path: Path) -> list:
    return [n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)]


def test_default_backbone_head_and_frames_are_written_once():
    assert (DEFAULT_BACKBONE, DEFAULT_HEAD, DEFAULT_NUM_SLOTS, DEFAULT_CACHE_FRAMES) == (
        "efficientnet_lite0", "lstm", 16, 64)
    # the registries name them (that is where they are defined); every other module imports the constant
    allowed = {DEFAULT_BACKBONE: {"config.py", "models/backbones.py"}, DEFAULT_HEAD: {"config.py", "models/heads.py"}}
    found = {value: sorted(str(p.relative_to(ACTCAP)) for p in ACTCAP.rglob("*.py") if value in _string_literals(p))
             for value in allowed}
    assert {k: set(v) - allowed[k] for k, v in found.items()} == {DEFAULT_BACKBONE: set(), DEFAULT_HEAD: set()}


def test_cosine_schedule_scales_every_group_from_its_own_rate_and_resumes_on_the_curve():
    net = torch.nn.Linear(2, 2)
    cfg = TrainConfig(out=Path("o"), lr=0.1, epochs=4, lr_schedule="cosine")
    seen = []

    def run(first, last):
        opt = torch.optim.SGD([{"params": [net.weight], "lr": 0.01}, {"params": [net.bias], "lr": 0.1}])
        loss = lambda n, x, y: (n(x).sum(),) * 2  # noqa: E731
        run_epochs(net, opt, loss, lambda e: [(torch.ones(1, 2), None)], first=first, last=last,
                   after_epoch=lambda e, _: seen.append([g["lr"] for g in opt.param_groups]),
                   lr_factor=lr_schedule(cfg))

    run(1, 4)
    factors = [1.0, 0.853553, 0.5, 0.146447]  # ½(1 + cos(π (e − 1) / 4))
    np.testing.assert_allclose(seen, [[0.01 * f, 0.1 * f] for f in factors], rtol=1e-5)
    seen.clear()
    run(3, 4)  # a resumed run (fresh optimizer at the configured rates) picks the curve up at its epoch
    np.testing.assert_allclose(seen, [[0.01 * f, 0.1 * f] for f in factors[2:]], rtol=1e-5)
    assert lr_schedule(TrainConfig(out=Path("o"), epochs=4))(3) == 1.0  # constant: the default

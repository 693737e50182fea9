"""Command-line flags built from the settings dataclasses (actcap/config.py), so flag and field cannot drift.

A field's flag is the first `--flag` its docstring names, its help text is the docstring and its default the
field's default. `actcap train` and `actcap cv` share one training-argument group (TRAIN_GROUPS), built here:

    add_train_groups(parser)                      # the same flags, help and defaults for both commands
    cfg = train_config(args, out=args.out)        # argparse values → TrainConfig, each through its field
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path

from actcap.cli.common import head_args, mirror_pairs, on_off
from actcap.config import KEEPS, LR_SCHEDULES, SAMPLINGS, TimelineConfig, TrainConfig, field_docs, field_flag

TRAIN_GROUPS = {  # title: TrainConfig fields; the training settings `train` and `cv` both take
    "model": ("streams", "backbone", "head", "num_slots", "sampling", "head_kwargs", "engine"),
    "training": ("epochs", "batch_size", "lr", "lr_schedule", "weight_decay", "label_smoothing", "class_weights",
                 "num_clips", "cache_frames", "cache_dir", "mirror", "augment", "augment_held", "open_set",
                 "open_set_clusters", "open_set_margin", "unknown_below"),
}
# How a flag's text becomes the field's value, where the field's type alone does not say.
PARSERS = {"head_kwargs": head_args, "mirror": mirror_pairs, "open_set": on_off, "captions": Path}
CHOICES = {"sampling": SAMPLINGS, "keep": KEEPS, "lr_schedule": LR_SCHEDULES}
METAVARS = {"open_set": "{on,off}", "captions": "FILE"}


def _listed(name: str) -> str:
    """Valid names in the help (not argparse choices: the registries' own error lists them, naming the flag)."""
    if name == "backbone":
        from actcap.models.backbones import list_backbones

        return f"; one of: {', '.join(list_backbones())}"
    if name == "head":
        from actcap.models.heads import list_heads

        return f"; one of: {', '.join(list_heads())}"
    return ""


def field_help(cls, name: str) -> str:
    """A field's docstring as help text: without the bare mention of its own flag, plus the valid names."""
    flag = field_flag(cls, name)
    text = field_docs(cls)[name].replace(f" (`{flag}`)", "").replace(f"(`{flag}`; ", "(")
    return text.rstrip(".") + _listed(name)


def dest_of(cls, name: str) -> str:
    """The argparse attribute of a field's flag: --cache-frames → cache_frames."""
    return field_flag(cls, name)[2:].replace("-", "_")


def _default(f):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def add_field_args(group, cls, names: typing.Iterable[str], **overrides) -> None:
    """One argument per named field of `cls`: its flag, docstring and default (`overrides`: argparse keywords)."""
    by_name, hints = {f.name: f for f in fields(cls)}, typing.get_type_hints(cls)
    for name in names:
        f, flag = by_name[name], field_flag(cls, name)
        if flag is None:
            raise TypeError(f"{cls.__name__}.{name} has no `--flag` in its docstring")
        kw = {"help": field_help(cls, name).replace("%", "%%"), "default": _default(f)}
        hint = hints[name]
        kinds = [a for a in typing.get_args(hint) if a is not type(None)]
        kind = kinds[0] if isinstance(hint, types.UnionType) and len(kinds) == 1 else hint  # X | None → X
        if kw["default"] is MISSING:
            kw = {"help": kw["help"], "required": True}
        if name == "streams":  # typed as text; parse_streams checks it at run time, naming the flag
            kw["default"] = "+".join(kw["default"])
        elif name in PARSERS:
            kw["type"] = PARSERS[name]
        elif kind is bool:
            kw = {"help": kw["help"], "action": "store_true"}  # --no-progress turns a True field off
        elif kind in (int, float, str, Path):
            kw["type"] = kind
        else:
            raise TypeError(f"{cls.__name__}.{name}: no parser for {hints[name]}; add one to PARSERS")
        if name in CHOICES:
            kw["choices"] = CHOICES[name]
        if name in METAVARS:
            kw["metavar"] = METAVARS[name]
        if name == "captions":
            kw["default"] = None
        group.add_argument(flag, **{**kw, **overrides.get(name, {})})


def add_train_groups(p: argparse.ArgumentParser) -> None:
    """The training-argument group of `actcap train` and `actcap cv`: identical by construction."""
    for title, names in TRAIN_GROUPS.items():
        add_field_args(p.add_argument_group(title), TrainConfig, names)


def field_value(cls, name: str, args: argparse.Namespace):
    """A field's value from parsed arguments (the inverse of add_field_args)."""
    value = getattr(args, dest_of(cls, name))
    if name == "streams":
        from actcap.features.streams import parse_streams

        return parse_streams(value)
    if name == "captions":
        if value is None:
            return {}
        from actcap.caption import load_captions

        return load_captions(value).to_dict()
    if field_flag(cls, name).startswith("--no-"):
        return not value
    return value


def train_config(args: argparse.Namespace, **fixed) -> TrainConfig:
    """TrainConfig from every field whose flag the command has; `fixed` sets the others (or overrides)."""
    return TrainConfig(**{f.name: field_value(TrainConfig, f.name, args) for f in fields(TrainConfig)
                          if f.name not in fixed and field_flag(TrainConfig, f.name)
                          and hasattr(args, dest_of(TrainConfig, f.name))}, **fixed)


def add_timeline_args(group) -> None:
    add_field_args(group, TimelineConfig, [f.name for f in fields(TimelineConfig)])


def timeline_config(args: argparse.Namespace) -> TimelineConfig:
    return TimelineConfig(**{f.name: getattr(args, dest_of(TimelineConfig, f.name)) for f in fields(TimelineConfig)})

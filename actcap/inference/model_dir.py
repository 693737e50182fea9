"""Which model directory a `--model` value names: a run directory, a taught model's name, or (none) the shipped one.

    resolve_model_dir("runs/utd5")   -> runs/utd5
    resolve_model_dir("kitchen")     -> ~/.actcap/models/kitchen   (a taught model: see actcap/models/store.py)
    resolve_model_dir(None)          -> actcap/assets/default_model
"""

from __future__ import annotations

from pathlib import Path

from actcap.models.recognizer import ModelFileError
from actcap.models.store import SHIPPED_DIR, resolve_model

DEFAULT_MODEL = SHIPPED_DIR  # the model shipped inside the package


def resolve_model_dir(model: str | Path | None) -> Path:
    """`--model` if given (a run directory, or the name of a taught model: see actcap/models/store.py), else
    the model shipped inside the package."""
    if model is not None:
        return resolve_model(model)[0]
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise ModelFileError(f"no model given and the shipped default model is missing ({DEFAULT_MODEL}); "
                             "pass --model RUN_DIR from `actcap train --out RUN_DIR`")
    return DEFAULT_MODEL

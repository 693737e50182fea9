"""Where models live: the shipped one, taught ones by name (`actcap teach`), and which the service uses.

    $ACTCAP_HOME/models/<name>/    config.json + model.safetensors (as `actcap train --out` writes) + teach.json
    $ACTCAP_HOME/active.json       {"model": NAME}: the model `actcap serve` starts with when given no --model
    $ACTCAP_HOME/staging/          jobs build here; a finished model is renamed into models/ in one step

ACTCAP_HOME defaults to the user data folder ($XDG_DATA_HOME/actcap, ~/.local/share/actcap; macOS
~/Library/Application Support/actcap; Windows %APPDATA%\\actcap). A model appears under models/ only
complete (built in staging/, then renamed), and active.json is replaced atomically, so a crash or kill never
leaves half a model or a half-written pointer. The shipped model is listed as `default` and is never deleted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

from actcap.fileio import atomic_write_json

log = logging.getLogger(__name__)
SHIPPED = "default"
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "default_model"
NAME_RULE = "letters, digits, '_' and '-', 1 to 40 characters"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
TEACH_FILE = "teach.json"


class UnknownModelError(ValueError):
    """No model of that name; the message lists the names there are."""


def home_dir(env: dict | None = None) -> Path:
    """ACTCAP_HOME, else the platform's user data folder."""
    env = os.environ if env is None else env
    if env.get("ACTCAP_HOME"):
        return Path(env["ACTCAP_HOME"]).expanduser()
    if sys.platform == "win32":
        return Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "actcap"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "actcap"
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "actcap"


def is_model_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a taught model, or None."""
    if not is_model_name(name):
        return f"name {name[:60]!r} is not allowed; use {NAME_RULE}"
    if name == SHIPPED:
        return f"name '{SHIPPED}' is the shipped model's; choose another"
    return None


class ModelStore:
    def __init__(self, root: str | Path | None = None, shipped: str | Path = SHIPPED_DIR):
        self.root = Path(root) if root is not None else home_dir()
        self.shipped = Path(shipped)
        self.models = self.root / "models"

    # --- building a model -------------------------------------------------------------------------
    def staging(self) -> Path:
        """A fresh folder to build a model in (removed by `commit`, or by the caller on failure)."""
        d = self.root / "staging" / uuid.uuid4().hex[:12]
        d.mkdir(parents=True)
        return d

    def commit(self, staged: Path, name: str, info: dict) -> Path:
        """Write teach.json into `staged` and move it to models/<name>, replacing a model of that name."""
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        atomic_write_json(staged / TEACH_FILE, {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()), **info})
        self.models.mkdir(parents=True, exist_ok=True)
        target = self.models / name
        old = None
        if target.exists():  # moved aside first: a directory cannot be renamed over a non-empty one
            old = self.root / "staging" / f"replaced-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(staged, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        log.info("taught model %s saved in %s", name, target)
        return target

    # --- looking models up ------------------------------------------------------------------------
    def names(self) -> list[str]:
        taught = sorted(p.name for p in self.models.iterdir()
                        if (p / TEACH_FILE).is_file()) if self.models.is_dir() else []
        return [SHIPPED, *taught]

    def get_path(self, name: str) -> Path:
        if name == SHIPPED:
            return self.shipped
        if is_model_name(name) and (self.models / name / TEACH_FILE).is_file():
            return self.models / name
        raise UnknownModelError(f"unknown model {name[:60]!r}; choose one of: {', '.join(self.names())} "
                                "(`actcap models` lists them)")

    def get_info(self, name: str) -> dict:
        path = self.get_path(name)
        config = json.loads((path / "config.json").read_text())
        info = json.loads((path / TEACH_FILE).read_text()) if name != SHIPPED else {
            "name": SHIPPED, "created": None, "metrics": config.get("metrics") or {}, "base": None}
        return {**info, "name": name, "classes": config["classes"], "active": name == self.get_active(),
                "path": str(path)}

    def list_models(self) -> list[dict]:
        out = []
        for n in self.names():
            try:
                out.append(self.get_info(n))
            except (OSError, ValueError, KeyError) as e:  # damaged by hand: listed in the log, not fatal
                log.warning("skipping model %s in %s: %s", n, self.models, e)
        return out

    # --- the active model and deleting --------------------------------------------------------------
    def get_active(self) -> str:
        path = self.root / "active.json"
        if not path.is_file():
            return SHIPPED
        try:
            name = json.loads(path.read_text())["model"]
        except (ValueError, KeyError, TypeError) as e:
            log.warning("ignoring %s (%s); the shipped model is active", path, e)
            return SHIPPED
        if name != SHIPPED and name not in self.names():
            log.warning("active model %r (%s) no longer exists; the shipped model is active", name, path)
            return SHIPPED
        return name

    def activate(self, name: str) -> Path:
        path = self.get_path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.root / "active.json", {"model": name})
        return path

    def delete(self, name: str) -> None:
        if name == SHIPPED:
            raise ValueError(f"the shipped model '{SHIPPED}' cannot be deleted")
        path = self.get_path(name)
        if self.get_active() == name:
            self.activate(SHIPPED)
        trash = self.root / "staging" / f"deleted-{name}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, trash)  # gone from the listing in one step, then removed
        shutil.rmtree(trash, ignore_errors=True)


def resolve_taught(name: str) -> Path:
    """`--model NAME`: the folder of a taught model (or `default`) in the user's store."""
    return ModelStore().get_path(name)

"""Where models live: the shipped one, taught ones by name (`actcap teach`), and which the service uses.

    $ACTCAP_HOME/models/<name>/    config.json + model.safetensors (as `actcap train --out` writes) + teach.json
    $ACTCAP_HOME/active.json       {"model": NAME}: the model `actcap serve` starts with when given no --model
    $ACTCAP_HOME/staging/          jobs build here; a finished model is renamed into models/ in one step

ACTCAP_HOME defaults to the user data folder ($XDG_DATA_HOME/actcap, ~/.local/share/actcap; macOS
~/Library/Application Support/actcap; Windows %APPDATA%\\actcap). A model appears under models/ only
complete (built in staging/, then renamed), and active.json is replaced atomically, so a crash or kill never
leaves half a model or a half-written pointer. The shipped model is listed as `default` and is never deleted.

Several processes may share one store (two servers, a server and `actcap teach`): every change (commit,
activate, delete) holds `store.lock`, so changes never interleave. Two jobs teaching one name both finish and
the later one replaces the earlier model, never silently: `commit` returns what it replaced and the job says so.
Work in progress (staging/, uploads/) lives in folders named after the process that made them, which holds
`owners/<token>.lock` while it runs; `sweep` (at every server start) removes the folders of processes that are
gone (killed, crashed), never another live process's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from actcap.fileio import atomic_write_json

log = logging.getLogger(__name__)
SHIPPED = "default"
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "default_model"
BUNDLED_DIR = SHIPPED_DIR.parent / "models"
"""Other models shipped in the package, by folder name (`everyday`): listed and used like taught ones, never
deleted or replaced by teaching."""
NAME_RULE = "letters, digits, '_' and '-', 1 to 40 characters, starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
RESERVED = (SHIPPED, "default_model")  # the shipped model's names, in any case
TEACH_FILE = "teach.json"
WORK_FOLDERS = ("staging", "uploads")  # work in progress, named <owner token>-<id>
_OWNER: tuple[str, dict[str, FileLock]] | None = None  # this process's token and the lock it holds while alive
_OWNER_GUARD = threading.Lock()
_LOCKS: dict[str, tuple[threading.Lock, FileLock]] = {}  # one per store folder, shared by this process's threads


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


def bundled_models() -> dict[str, Path]:
    """The named models shipped in the package: name → folder."""
    if not BUNDLED_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(BUNDLED_DIR.iterdir()) if (p / "config.json").is_file()}


def is_model_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a taught model, or None."""
    if not is_model_name(name):
        return f"name {name[:60]!r} is not allowed; use {NAME_RULE}"
    if name.lower() in RESERVED:
        return f"name {name!r} is the shipped model's; choose another"
    if name.lower() in {b.lower() for b in bundled_models()}:
        return f"name {name!r} is a model shipped with actcap; choose another"
    return None


class ModelStore:
    def __init__(self, root: str | Path | None = None, shipped: str | Path = SHIPPED_DIR):
        self.root = Path(root) if root is not None else home_dir()
        self.shipped = Path(shipped)
        self.models = self.root / "models"

    # --- changes, one process at a time -------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock for one change: a thread lock within this process (flock alone does not keep
        two threads of one process apart), the file lock between processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _OWNER_GUARD:
            guard, file_lock = _LOCKS.setdefault(str(self.root.resolve()), (
                threading.Lock(), FileLock(str(self.root / "store.lock"), thread_local=False)))
        with guard, file_lock:
            yield

    def work_dir(self, kind: str = "staging") -> Path:
        """A fresh folder under staging/ or uploads/ owned by this process (removed by its user, or by `sweep`
        once this process is gone)."""
        d = self.root / kind / f"{_owner_token(self.root)}-{uuid.uuid4().hex[:12]}"
        d.mkdir(parents=True)
        return d

    def staging(self) -> Path:
        """A fresh folder to build a model in (removed by `commit`, or by the caller on failure)."""
        return self.work_dir("staging")

    def sweep(self) -> list[Path]:
        """Remove the work folders of processes that are gone; returns what was removed."""
        removed = []
        for kind in WORK_FOLDERS:
            for d in sorted((self.root / kind).iterdir()) if (self.root / kind).is_dir() else []:
                owner = d.name.split("-", 1)[0]
                if owner != _owner_token(self.root) and not _owner_alive(self.root, owner):
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d)
        for lock in (self.root / "owners").glob("*.lock"):
            if lock.stem != _owner_token(self.root) and not _owner_alive(self.root, lock.stem):
                lock.unlink(missing_ok=True)
        if removed:
            log.info("removed %d folder(s) left by stopped processes in %s", len(removed), self.root)
        return removed

    def commit(self, staged: Path, name: str, info: dict) -> dict | None:
        """Write teach.json into `staged` and move it to models/<name>, replacing a model of that name; returns
        the replaced model's teach.json (None when the name was new)."""
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        atomic_write_json(staged / TEACH_FILE, {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()), **info})
        with self.lock():
            self.models.mkdir(parents=True, exist_ok=True)
            target = self.models / name
            old, replaced = None, None
            if target.exists():  # moved aside first: a directory cannot be renamed over a non-empty one
                with contextlib.suppress(OSError, ValueError):
                    replaced = json.loads((target / TEACH_FILE).read_text())
                old = self.work_dir("staging")
                os.replace(target, old / name)
            os.replace(staged, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        log.info("taught model %s saved in %s%s", name, target, " (replacing the earlier one)" if old else "")
        return replaced

    # --- looking models up ------------------------------------------------------------------------
    def names(self) -> list[str]:
        taught = sorted(p.name for p in self.models.iterdir()
                        if (p / TEACH_FILE).is_file()) if self.models.is_dir() else []
        return [SHIPPED, *bundled_models(), *(t for t in taught if t not in bundled_models())]

    def get_path(self, name: str) -> Path:
        if name == SHIPPED:
            return self.shipped
        if name in bundled_models():
            return bundled_models()[name]
        if is_model_name(name) and (self.models / name / TEACH_FILE).is_file():
            return self.models / name
        raise UnknownModelError(f"unknown model {name[:60]!r}; choose one of: {', '.join(self.names())} "
                                "(`actcap models` lists them)")

    def get_info(self, name: str) -> dict:
        path = self.get_path(name)
        config = json.loads((path / "config.json").read_text())
        taught = name != SHIPPED and name not in bundled_models()
        info = json.loads((path / TEACH_FILE).read_text()) if taught else {
            "name": name, "created": None, "metrics": config.get("metrics") or {}, "base": None}
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

    def active_stamp(self) -> tuple | None:
        """Changes whenever active.json is replaced (by any process): for servers that re-read it."""
        try:
            st = (self.root / "active.json").stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def activate(self, name: str) -> Path:
        with self.lock():
            path = self.get_path(name)
            atomic_write_json(self.root / "active.json", {"model": name})
        return path

    def delete(self, name: str) -> None:
        """Delete a taught model with everything in its folder (weights, its examples' features)."""
        if name == SHIPPED or name in bundled_models():
            raise ValueError(f"the shipped model '{name}' cannot be deleted")
        with self.lock():
            path = self.get_path(name)
            if self.get_active() == name:
                atomic_write_json(self.root / "active.json", {"model": SHIPPED})
            trash = self.work_dir("staging")
            os.replace(path, trash / name)  # gone from the listing in one step, then removed
        shutil.rmtree(trash, ignore_errors=True)


def _owner_token(root: Path) -> str:
    """This process's token; the first call takes `owners/<token>.lock` in `root` and holds it until exit."""
    global _OWNER
    with _OWNER_GUARD:
        if _OWNER is None:
            token = uuid.uuid4().hex[:10]
            _OWNER = (token, {})
        token, held = _OWNER
        if str(root) not in held:
            (root / "owners").mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(root / "owners" / f"{token}.lock"), thread_local=False)
            lock.acquire()
            held[str(root)] = lock
        return token


def _owner_alive(root: Path, token: str) -> bool:
    """Whether the process with `token` still holds its lock in `root` (a killed one's lock is released)."""
    path = root / "owners" / f"{token}.lock"
    if not path.exists():
        return False
    lock = FileLock(str(path), thread_local=False)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        return True
    lock.release()
    return False


def model_name(path: str | Path) -> str:
    """What answers call the model in `path`: `default` for the shipped one (its one name everywhere: the store,
    `--model default`, GET /models and every answer), else its folder's name."""
    path = Path(path)
    return SHIPPED if path.resolve() == SHIPPED_DIR else path.name


def resolve_model(model: str | Path | None, store: ModelStore | None = None) -> tuple[Path, str | None]:
    """The one answer to "which model does `--model` name?" for the CLI and the service: (its folder, its store
    name). An existing path, or text that cannot be a name, is a run directory (name None); otherwise a name in
    the store (UnknownModelError lists them); None is the store's active model."""
    store = store or ModelStore()
    if model is not None and (Path(model).exists() or not is_model_name(str(model))):
        return Path(model), None
    name = str(model) if model is not None else store.get_active()
    return store.get_path(name), name

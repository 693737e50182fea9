"""The one owner of the models a service answers with: `ServedModels` loads a model by name (cached, reloaded
when re-taught), knows the active one, activates and deletes; `load_startup_models` picks and loads the model a
server starts with.

    models.get(None)        # the active model's Predictor: the one the store's active.json names
    models.get("arrows")    # a taught model by name (model=NAME on /predict and /stream)
    models.activate("arrows"); models.delete("arrows")

What is served always follows the store, whichever process changed it: a model re-taught under the same name
(its teach.json replaced) is reloaded on its next use, and when active.json changes (another server, or
`actcap models use`) the next request is answered by the model it names. A server started with `--model`
serves that model until a model is activated. The routes are in actcap/serve/routes/teach.py.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from actcap.inference.predictor import Predictor
from actcap.models.recognizer import ModelFileError
from actcap.models.store import SHIPPED, TEACH_FILE, ModelStore, UnknownModelError, bundled_models, resolve_model
from actcap.serve.errors import ServiceError
from actcap.serve.settings import ServeSettings

log = logging.getLogger(__name__)


@dataclass
class Startup:
    """The model a server starts with: loaded, its folder, and its store name (None: a run directory)."""
    predictor: Predictor
    path: Path
    name: str | None


class ServedModels:
    """Models loaded by name (at most `settings.cached_models` besides the active one) and which one is active."""

    def __init__(self, settings: ServeSettings, startup: Startup):
        self.settings = settings
        self.store = ModelStore(settings.home)
        self.lock = threading.RLock()
        self.loaded: dict[tuple, Predictor] = {}
        self.pinned: Startup | None = startup if settings.model is not None else None  # --model: until activate
        self.active_name = startup.name
        self.stamp = self.store.active_stamp()
        if startup.name is not None:
            self.loaded[self._key(startup.name, startup.path)] = startup.predictor

    # --- what is served -----------------------------------------------------------------------------
    def get(self, name: str | None = None) -> Predictor:
        """The active model (name None), else the named one; loads it if needed (blocking: call from a worker
        thread). UnknownModelError lists the names there are."""
        with self.lock:
            if name is None:
                if self.pinned is not None and (self.pinned.name is None or self._fresh(self.pinned)):
                    return self.pinned.predictor
                name = self.current_name() or SHIPPED
            path = self.store.get_path(name)
            key = self._key(name, path)
            if key in self.loaded:
                return self.loaded[key]
        # loaded outside the lock, so the models already loaded keep answering meanwhile
        predictor = load_predictor(path, name, self.settings)
        with self.lock:
            for old in [k for k in self.loaded if k[0] == name and k != key]:  # re-taught: the old head goes
                del self.loaded[old]
            while len(self.loaded) > self.settings.cached_models:
                self.loaded.pop(next(k for k in self.loaded if k[0] != self.active_name))
            return self.loaded.setdefault(key, predictor)

    def current_name(self) -> str | None:
        """The active model's store name (None: a run directory given by --model), re-read from active.json
        when another process changed it."""
        with self.lock:
            if self.pinned is not None:
                return self.pinned.name
            stamp = self.store.active_stamp()
            if stamp != self.stamp or self.active_name is None:
                self.stamp, self.active_name = stamp, self.store.get_active()
            elif self.active_name != SHIPPED and self.active_name not in self.store.names():
                self.active_name = self.store.get_active()  # deleted by another process: what the store says
            return self.active_name

    def activate(self, name: str) -> None:
        """Serve `name` from now on (predictions without model=, new live streams), also after a restart."""
        self.get(name)  # loads (or refuses) before anything changes
        with self.lock:
            self.store.activate(name)
            self.pinned, self.stamp, self.active_name = None, self.store.active_stamp(), name

    def delete(self, name: str) -> None:
        self.store.get_path(name)  # 404 before 400: an unknown name is unknown, even 'default' spelt wrong
        if name == SHIPPED or name in bundled_models():
            raise ServiceError(400, f"the shipped model '{name}' cannot be deleted")
        with self.lock:
            self.store.delete(name)
            self.loaded = {k: v for k, v in self.loaded.items() if k[0] != name}
            if self.pinned is not None and self.pinned.name == name:
                self.pinned = None
            self.stamp, self.active_name = None, None  # read again from the store on the next request

    def list(self) -> list[dict]:
        # the store's "path" is for `actcap models` on the server's own terminal; replies never show server paths
        active = self.current_name()
        return [{**{k: v for k, v in m.items() if k != "path"}, "active": m["name"] == active}
                for m in self.store.list_models()]

    def _key(self, name: str, path: Path) -> tuple:
        if name == SHIPPED or name in bundled_models():  # shipped in the package: changes only with actcap
            return (name, 0)
        st = (path / TEACH_FILE).stat()  # re-taught: teach.json is a new file (atomic replace)
        return (name, st.st_ino, st.st_mtime_ns)

    def _fresh(self, startup: Startup) -> bool:
        """Whether a pinned taught model is still the one in the store (not re-taught or deleted since)."""
        try:
            return self._key(startup.name, self.store.get_path(startup.name)) in self.loaded
        except (UnknownModelError, OSError):
            return False


def load_startup_models(settings: ServeSettings) -> Startup:
    """The starting model resolved (`--model`: a run directory or a store name; else the store's active model)
    and loaded once; a remembered active model damaged by hand gives way to the shipped one rather than to
    nothing."""
    store = ModelStore(settings.home)
    path, name = resolve_model(settings.model, store)
    try:
        return Startup(load_predictor(path, name, settings), path, name)
    except (ModelFileError, OSError, ValueError) as e:
        if settings.model is not None or name == SHIPPED:
            raise
        log.warning("the active model %s cannot be loaded (%s); starting with the shipped model", name, e)
        return Startup(load_predictor(store.shipped, SHIPPED, settings), store.shipped, SHIPPED)


def load_predictor(path: Path, name: str | None, settings: ServeSettings) -> Predictor:
    """The model in `path` on the service's engine and open-set setting, answering as `name` (the store's name;
    a run directory: its folder's)."""
    return Predictor.from_dir(path, engine=settings.engine, open_set=settings.open_set, name=name)


def get_model(models: ServedModels, name: str | None) -> Predictor:
    """For POST /predict and /stream: `model=NAME` → its predictor; 404 naming the models there are."""
    try:
        return models.get(name)
    except UnknownModelError as e:
        raise ServiceError(404, f"model: {e}") from None

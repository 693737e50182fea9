"""The model store behind the service: `Teaching` keeps taught models, runs teach jobs, loads models by name for
`model=NAME` on /predict and /stream, and swaps the service's active predictor on activate; `startup_model`
picks the model a server starts with. The routes are in actcap/serve/routes/teach.py.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from actcap.inference.predictor import Predictor
from actcap.models.recognizer import ModelFileError
from actcap.models.store import SHIPPED, TEACH_FILE, ModelStore, UnknownModelError, is_model_name
from actcap.serve.settings import ServeSettings
from actcap.serve.uploads import UploadError
from actcap.teach.jobs import JobQueue
from actcap.teach.trainer import TeachRequest, teach

if TYPE_CHECKING:
    from actcap.serve.service import Service

log = logging.getLogger(__name__)
CACHED_MODELS = 4


class Teaching:
    """What the teach routes share: the model store, the job queue, and models loaded by name."""

    def __init__(self, settings: ServeSettings, service: Service):
        self.settings, self.service = settings, service
        self.store = ModelStore(settings.home)
        self.base_dir = Path(settings.base_model) if settings.base_model else self.store.shipped
        self.jobs = JobQueue(self._run)
        self.loaded: dict[tuple[str, int], Predictor] = {}
        self.lock = threading.Lock()

    def _run(self, req: TeachRequest, progress) -> dict:
        return teach(req, self.store, self.base_dir, progress)

    def predictor(self, name: str | None) -> Predictor:
        """The active predictor (name None or the active one's), else the named model, loaded once (blocking)."""
        if name is None or name == self.service.active_name:
            return self.service.predictor
        path = self.store.get_path(name)  # UnknownModelError lists the names
        key = (name, (path / TEACH_FILE).stat().st_mtime_ns if name != SHIPPED else 0)  # re-taught: reload
        with self.lock:
            if key not in self.loaded:
                if len(self.loaded) >= CACHED_MODELS:
                    self.loaded.pop(next(iter(self.loaded)))
                self.loaded[key] = load_predictor(path, name, self.settings)
            return self.loaded[key]

    def activate(self, name: str) -> None:
        """Serve `name` from now on (the page's predictions and new live streams), and remember it."""
        predictor = self.predictor(name)
        self.store.activate(name)
        self.service.predictor, self.service.model_path = predictor, self.store.get_path(name)
        self.service.active_name = name

    def delete(self, name: str) -> None:
        self.store.get_path(name)  # 404 before 400: an unknown name is unknown, even 'default' spelt wrong
        if name == SHIPPED:
            raise UploadError(400, f"the shipped model '{SHIPPED}' cannot be deleted")
        was_active = self.service.active_name == name
        self.store.delete(name)
        with self.lock:
            self.loaded = {k: v for k, v in self.loaded.items() if k[0] != name}
        if was_active:
            self.activate(SHIPPED)

    def models(self) -> list[dict]:
        # the store's "path" is for `actcap models` on the server's own terminal; replies never show server paths
        return [{**{k: v for k, v in m.items() if k != "path"}, "active": m["name"] == self.service.active_name}
                for m in self.store.list_models()]


def resolve_model(teaching: Teaching, name: str | None) -> Predictor:
    """For POST /predict and /stream: `model=NAME` → its predictor; 404 naming the models there are."""
    try:
        return teaching.predictor(name)
    except UnknownModelError as e:
        raise UploadError(404, f"model: {e}") from None


def startup_model(settings: ServeSettings) -> tuple[Path, str | None]:
    """The model a server starts with and its store name: `--model` (a run directory: no name), else the
    store's active model (the shipped one unless one was activated)."""
    store = ModelStore(settings.home)
    model = settings.model
    if model is not None and (Path(model).exists() or not is_model_name(str(model))):
        return Path(model), None
    name = str(model) if model is not None else store.get_active()
    return store.get_path(name), name


def load_startup_predictor(settings: ServeSettings) -> tuple[Predictor, Path, str | None]:
    """The starting model (`startup_model`) resolved and loaded once, with its path and store name; a remembered
    active model damaged by hand gives way to the shipped one rather than to nothing."""
    path, name = startup_model(settings)
    try:
        return load_predictor(path, name, settings), path, name
    except (ModelFileError, OSError, ValueError) as e:
        if settings.model is not None or name == SHIPPED:
            raise
        log.warning("the active model %s cannot be loaded (%s); starting with the shipped model", name, e)
        shipped = ModelStore(settings.home).shipped
        return load_predictor(shipped, SHIPPED, settings), shipped, SHIPPED


def load_predictor(path: Path, name: str | None, settings: ServeSettings) -> Predictor:
    """The model in `path` on the service's engine and open-set setting, answering as `name` (the store's name;
    the shipped one and a run directory keep their folder's name, e.g. default_model)."""
    return Predictor.from_dir(path, engine=settings.engine, open_set=settings.open_set,
                              name=name if name != SHIPPED else None)

"""The web service and page: `actcap serve`, then open http://127.0.0.1:5000/.

settings.py (limits) → uploads.py (multipart → frames) → stream.py (live WebSocket) → app.py (lifespan, routes)
→ static/ (the page). All inference goes through `actcap.inference.predictor.Predictor`.
"""

from actcap.serve.app import create_app
from actcap.serve.settings import ServeSettings, resolve_settings

__all__ = ["ServeSettings", "create_app", "resolve_settings"]

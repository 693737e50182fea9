"""The web service and page: `actcap serve`, then open http://127.0.0.1:5000/.

settings.py (ACTCAP_* and flags) → service.py (what routes share, `Depends(get_service)`) → routes/ (page,
health, predict, stream, teach) over uploads.py + forms.py (multipart → frames), live.py (the /stream
session) and teaching.py (the model store) → app.py (lifespan, middleware, routers) → static/ (the page).
All inference goes through `actcap.inference.predictor.Predictor`.
"""

from actcap.serve.app import create_app
from actcap.serve.settings import ServeSettings, resolve_settings

__all__ = ["ServeSettings", "create_app", "resolve_settings"]

"""The service's routes, one module per concern; `create_app` includes every router in ROUTERS.

    page.py     GET /                      the web page
    health.py   GET /health, GET /labels   what is loaded and what it knows
    predict.py  POST /predict              frames or a video in, a prediction out
    preview.py  POST /preview              thumbnails and the frame count of an upload (no model)
    stream.py   WS /stream                 live video (the session itself: actcap/serve/live.py)
    teach.py    POST /teach, /jobs, /models
"""

from actcap.serve.routes import health, page, predict, preview, stream, teach

ROUTERS = (page.router, health.router, predict.router, preview.router, stream.router, teach.router)

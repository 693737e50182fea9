"""The service's routes, one module per concern; `create_app` includes every router in ROUTERS.

    page.py     GET /                      the web page
    health.py   GET /health, GET /labels   what is loaded and what it knows
    predict.py  POST /predict              frames or a video in, a prediction out
    stream.py   WS /stream                 live video (the session itself: actcap/serve/live.py)
    teach.py    POST /teach, /jobs, /models
"""

from actcap.serve.routes import health, page, predict, stream, teach

ROUTERS = (page.router, health.router, predict.router, stream.router, teach.router)

"""The API documentation pages, offline: /docs (Swagger UI) and /redoc (ReDoc) load their JavaScript and CSS
from this server, never a CDN, so they work on a machine without internet.

The files come from the `fastapi-offline` package (MIT; it vendors Swagger UI 5, which renders the
OpenAPI 3.1 that FastAPI writes, and ReDoc 2). Only its files are used: the pages are FastAPI's own
`get_swagger_ui_html` / `get_redoc_html` with local URLs, under a policy that blocks anything remote.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
# FastAPI's pages start Swagger UI / ReDoc with an inline script; ReDoc renders in a blob: worker
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'")


def docs_assets_dir() -> Path:
    """The folder holding ASSET_FILES (in the installed fastapi-offline package)."""
    folder = Path(str(files("fastapi_offline") / "static"))
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"the API docs need {', '.join(missing)} from the fastapi-offline package, not found in "
                           f"{folder}; reinstall it: pip install -c constraints.txt fastapi-offline")
    return folder


def add_docs(app: FastAPI) -> None:
    """Mount the assets and add GET /docs and GET /redoc (create the app with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    headers = {"Content-Security-Policy": DOCS_CSP}

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                                   # no badge from the public online validator
                                   swagger_ui_parameters={"validatorUrl": None})
        page.headers.update(headers)
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                              redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)
        page.headers.update(headers)
        return page

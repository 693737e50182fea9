"""What a page on another site may do with this service through a visitor's browser: nothing that changes
or runs anything. A guard against cross-site request forgery, and headers against sniffing and framing.

Any web page can make its visitor's browser POST a multipart form to http://127.0.0.1:5000/teach (a "simple"
request: no preflight) or `POST /models/NAME/activate`. So every request that is not GET, HEAD or OPTIONS must
come from this service's own page or from a program that is not a browser:

    Sec-Fetch-Site   same-origin or none (typed by the user)  → answered; cross-site or same-site → 403
    no Sec-Fetch-Site (older browsers): Origin, when sent, must name the Host the request was sent to → else 403
    neither header (curl, Python, the CLI)                      → answered

Every response also says `X-Content-Type-Options: nosniff` and `X-Frame-Options: DENY` with
`Content-Security-Policy: frame-ancestors 'none'` (added to the page's own policy), so no other site can show
the page in a frame and trick a click on "Use this model". The /stream WebSocket checks Origin itself
(actcap/serve/live.py); the Host check is actcap/serve/hosts.py.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SAME = ("same-origin", "none")
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
FRAME_POLICY = "frame-ancestors 'none'"


def cross_site(method: str, headers: dict[str, str]) -> str | None:
    """Why a request comes from another site (None: it does not, or it changes nothing)."""
    if method in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return None if fetch_site in SAME else f"the browser says the request comes from a {fetch_site} page"
    origin = headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower()):
        return f"the request comes from the page at {origin[:80]}"
    return None


class SameOriginGuard:
    """ASGI middleware: refuses cross-site requests that change or run anything (403), and adds the
    anti-sniffing and anti-framing headers to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        why = cross_site(scope["method"], headers)
        if why is not None:
            log.warning("refused %s %s: %s", scope["method"], scope.get("path"), why)
            detail = (f"cross-site request refused: {why}; this service changes models and runs work only for "
                      "its own page (open it at this server's address) and for programs such as curl")
            return await JSONResponse({"detail": detail}, status_code=403)(scope, receive, _secured(send))
        await self.app(scope, receive, _secured(send))


def _secured(send):
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for k, v in HEADERS.items():
                headers.setdefault(k, v)
            csp = headers.get("content-security-policy")
            if csp is None:
                headers["Content-Security-Policy"] = FRAME_POLICY
            elif "frame-ancestors" not in csp:
                headers["Content-Security-Policy"] = f"{csp}; {FRAME_POLICY}"
        await send(message)
    return wrapped

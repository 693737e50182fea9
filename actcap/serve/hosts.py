"""Which `Host` names the service answers: a guard against DNS rebinding.

A page on evil.example can make its own name resolve to 127.0.0.1 and then drive a service on this machine
from a visitor's browser: the browser thinks it talks to evil.example and sends `Host: evil.example`. So
the service answers only the names it is meant to be reached by:

    loopback names   127.0.0.1, localhost, [::1] (any port), always
    the bind address when it is one address (`--host 192.168.1.5` → 192.168.1.5), not 0.0.0.0 or ::
    --allowed-hosts / ACTCAP_ALLOWED_HOSTS   more names, comma-separated; `*` answers any name

Anything else gets 400 with a message naming the flag, on HTTP and on the /stream WebSocket alike.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse

log = logging.getLogger(__name__)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")
POLICY_VIOLATION = 1008


def host_name(header: str) -> str:
    """The name in a Host header, lower-case, without the port: '[::1]:5000' → '::1', 'LocalHost' → 'localhost'."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal: [addr] or [addr]:port
        return header[1:].split("]", 1)[0]
    name, colon, port = header.rpartition(":")
    return name if colon and port.isdigit() else header


def resolve_allowed_hosts(bind_host: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    """The names answered when bound to `bind_host` with `--allowed-hosts` `allowed`; None: any name."""
    if "*" in allowed:
        return None
    names = set(LOOPBACK_NAMES) | {host_name(a) for a in allowed}
    if bind_host not in WILDCARD_BINDS:
        names.add(host_name(bind_host))
    return frozenset(names)


def refusal(header: str | None, allowed: frozenset[str]) -> str:
    shown = ", ".join(f"[{n}]" if ":" in n else n for n in sorted(allowed, key=_loopback_first))
    what = "no Host header" if header is None else f"Host {header!r} is not served here"
    name = host_name(header) if header else "NAME"
    return (f"{what}: this server answers only {shown} (a guard against DNS rebinding); to reach it by "
            f"another name, start it with --allowed-hosts {name} (or ACTCAP_ALLOWED_HOSTS={name})")


def _loopback_first(name: str) -> tuple[int, str]:
    return (LOOPBACK_NAMES.index(name) if name in LOOPBACK_NAMES else len(LOOPBACK_NAMES), name)


class HostCheck:
    """ASGI middleware: requests and WebSocket handshakes whose Host is not allowed get 400 and a reason."""

    def __init__(self, app, allowed: frozenset[str] | None):
        self.app, self.allowed = app, allowed

    async def __call__(self, scope, receive, send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = dict(scope["headers"]).get(b"host")
        header = raw.decode("latin-1") if raw is not None else None
        if header is not None and host_name(header) in self.allowed:
            return await self.app(scope, receive, send)
        detail = refusal(header, self.allowed)
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), detail)
        response = JSONResponse({"detail": detail}, status_code=400)
        if scope["type"] == "http":
            return await response(scope, receive, send)
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await response(scope, receive, send)  # the handshake answered with 400 and the reason
        else:  # a server without denial responses answers the handshake with 403
            await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "Host not allowed"})

"""WS /stream: live video, JPEG frames in and predictions out; the session is `actcap.serve.live`."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from actcap.serve import live
from actcap.serve.service import ServiceDep

router = APIRouter()


@router.websocket("/stream")
async def stream(websocket: WebSocket, service: ServiceDep) -> None:
    """Live video: binary JPEG frames in, JSON predictions out (see docs/api.md)."""
    await live.serve(websocket, service)

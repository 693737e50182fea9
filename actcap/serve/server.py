"""The HTTP server `actcap serve` runs: uvicorn's, telling live streams why they end before it stops.

uvicorn, stopping, closes each WebSocket with code 1012 and drops the TCP connection at once; a browser still
sending frames then often sees a lost connection (1006) instead. `Server` first closes the live streams
itself (`Service.close_live_streams`: code 1012, a reason, the closing handshake), then shuts down as uvicorn
does.

    server = make_server(create_app(settings), settings)
    server.run()                       # until Ctrl+C / SIGTERM, or `server.should_exit = True`
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from actcap.serve.settings import ServeSettings


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        service = getattr(self.app.state, "service", None)  # None when the model never loaded
        if service is not None:
            await service.close_live_streams()
        await super().shutdown(sockets)


def make_server(app: FastAPI, settings: ServeSettings, host: str | None = None, port: int | None = None,
                log_level: str = "info") -> Server:
    """The server for `app` on `host`:`port` (the settings' unless given); a live frame may be up to
    `max_live_frame_mb` MiB (the WebSocket message limit)."""
    config = uvicorn.Config(app, host=host or settings.host, port=port or settings.port, log_level=log_level,
                            ws_max_size=int(settings.max_live_frame_mb * 2**20))
    return Server(config, app)

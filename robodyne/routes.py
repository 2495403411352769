"""Every URL the application answers, in one place."""

from __future__ import annotations

from aiohttp import web

from . import keys
from .ws import websocket_handler


async def healthz(request: web.Request) -> web.Response:
    """Ready once the database, hub and robot TCP server are up; degraded while the DB fails."""
    if keys.ROBOT_SERVER not in request.app:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": request.app[keys.STATUS].health})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/ws/{topic}", websocket_handler)

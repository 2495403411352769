"""Every URL the application answers, in one place."""

from __future__ import annotations

from aiohttp import web

from . import api, keys
from .metrics import metrics
from .pages import setup_pages
from .ws import websocket_handler


async def healthz(request: web.Request) -> web.Response:
    """Ready once the database, hub and robot TCP server are up; degraded while the DB fails."""
    if keys.ROBOT_SERVER not in request.app:
        return web.json_response({"status": "starting"}, status=503)
    health = request.app[keys.STATUS].health
    return web.json_response({"status": health}, status=200 if health == "ok" else 503)


def setup_routes(app: web.Application) -> None:
    app.middlewares.append(api.api_errors)
    router = app.router
    router.add_get("/healthz", healthz)
    router.add_get("/metrics", metrics)
    router.add_get("/ws/{topic}", websocket_handler)
    router.add_get("/api/me", api.whoami)
    router.add_get("/api/{topic}", api.read_topic)
    router.add_post("/api/orders", api.create_order)
    router.add_patch("/api/orders/{id}", api.update_order)
    router.add_post("/api/tables", api.create_table)
    router.add_patch("/api/tables/{id}", api.update_table)
    router.add_post("/api/customers", api.create_customer)
    router.add_patch("/api/customers/{id}", api.update_customer)
    router.add_delete("/api/customers/{id}", api.delete_customer)
    router.add_post("/api/inventory", api.create_inventory)
    router.add_patch("/api/inventory/{id}", api.update_inventory)
    router.add_post("/api/video_streams", api.create_video_stream)
    router.add_patch("/api/video_streams/{id}", api.update_video_stream)
    router.add_delete("/api/video_streams/{id}", api.delete_video_stream)
    router.add_post("/api/events/{id}/ack", api.acknowledge_event)
    router.add_post("/api/robots/{id}/commands", api.robot_command)
    setup_pages(app)

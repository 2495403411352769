"""Every URL the application answers, in one place, and /healthz."""

from __future__ import annotations

from aiohttp import web

from ..domain.status import StatusReporter
from .api import Api, api_errors
from .auth import Auth
from .guard import browser_writes, hide_server_name, security_headers
from .idempotency import Idempotency
from .login import Login
from .metrics import Metrics
from .pages import Pages
from .reports import Reports
from .ws import WebSockets


class Health:
    """GET /healthz: ready once the database, hub and robot TCP server are up; 503 while the
    database refuses writes."""

    def __init__(self, status: StatusReporter) -> None:
        self._status = status
        self.ready = False

    async def handler(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.json_response({"status": "starting"}, status=503)
        health = self._status.health
        return web.json_response({"status": health}, status=200 if health == "ok" else 503)


def setup_routes(app: web.Application, *, auth: Auth, idempotency: Idempotency,
                 health: Health, metrics: Metrics,
                 websockets: WebSockets, api: Api, reports: Reports, pages: Pages,
                 login: Login) -> None:
    app.middlewares.extend([browser_writes(auth), idempotency.middleware(), api_errors])
    app.on_response_prepare.append(security_headers)
    hide_server_name()
    app.router.add_get("/healthz", health.handler)
    app.router.add_get("/metrics", metrics.handler)
    app.router.add_get("/ws/{topic}", websockets.handler)
    app.router.add_routes(reports.routes())
    app.router.add_routes(api.routes())
    app.router.add_routes(login.routes())
    app.router.add_routes(pages.routes())

"""Every piece of shared application state, as typed AppKeys."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from .fleet import Fleet
    from .hub import Hub
    from .journal import Journal
    from .metrics import Stats
    from .restaurant import Restaurant
    from .settings import Settings
    from .status import StatusReporter
    from .storage import Store
    from .tcp import RobotServer
    from .ws import Connection

# The annotations carry the types for mypy; the runtime argument is only for repr().
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[Store] = web.AppKey("store")
HUB: web.AppKey[Hub] = web.AppKey("hub")
JOURNAL: web.AppKey[Journal] = web.AppKey("journal")
STATUS: web.AppKey[StatusReporter] = web.AppKey("status")
FLEET: web.AppKey[Fleet] = web.AppKey("fleet")
RESTAURANT: web.AppKey[Restaurant] = web.AppKey("restaurant")
ROBOT_SERVER: web.AppKey[RobotServer] = web.AppKey("robot_server")
CONNECTIONS: web.AppKey[set[Connection]] = web.AppKey("connections")
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)
STATS: web.AppKey[Stats] = web.AppKey("stats")
METRICS = web.AppKey("metrics", CollectorRegistry)
PAGES: web.AppKey[dict[str, str]] = web.AppKey("pages")

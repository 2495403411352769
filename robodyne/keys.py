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
    from .tcp import RobotServer
    from .settings import Settings
    from .status import StatusReporter
    from .storage import Store
    from .ws import Connection

SETTINGS = web.AppKey("settings", "Settings")
STORE = web.AppKey("store", "Store")
HUB = web.AppKey("hub", "Hub")
CONNECTIONS = web.AppKey("connections", "set[Connection]")
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)
STATUS = web.AppKey("status", "StatusReporter")
JOURNAL = web.AppKey("journal", "Journal")
FLEET = web.AppKey("fleet", "Fleet")
ROBOT_SERVER = web.AppKey("robot_server", "RobotServer")
RESTAURANT = web.AppKey("restaurant", "Restaurant")
STATS = web.AppKey("stats", "Stats")
METRICS = web.AppKey("metrics", CollectorRegistry)
PAGES = web.AppKey("pages", dict[str, str])

"""create_app(settings) builds the application; main() configures logging and runs it."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

from . import demo, keys
from .auth import load_or_create_tokens
from .const import LOG_TOPICS, STATE_TOPICS
from .fleet import Fleet
from .hub import Hub
from .journal import Journal
from .notify import Notifier
from .polling import poll_forever
from .routes import setup_routes
from .settings import Settings, SettingsError, load_settings
from .status import StatusReporter
from .storage import Store
from .tcp import RobotServer
from .ws import close_all, watchdog

log = logging.getLogger(__name__)

# systemd's TimeoutStopSec is 15 s; everything must be done well before it.
SHUTDOWN_TIMEOUT_S = 8.0


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = await Store.open(settings.database.path)
    if settings.demo:
        await demo.seed(store)
    app[keys.STORE] = store
    yield
    await store.close()


async def _hub(app: web.Application) -> AsyncIterator[None]:
    ws = app[keys.SETTINGS].websocket
    hub = Hub(history_size=ws.history_size, snapshot_limit=ws.snapshot_limit,
              queue_max=ws.send_queue_max)
    store = app[keys.STORE]
    for topic in STATE_TOPICS:
        hub.prime(topic, [item.model_dump(mode="json") for item in await store.state(topic)])
    hub.prime("events", [e.model_dump(mode="json") for e in await store.events(ws.snapshot_limit)])
    hub.prime("systemlogs",
              [s.model_dump(mode="json") for s in await store.systemlogs(ws.snapshot_limit)])
    app[keys.HUB] = hub
    app[keys.JOURNAL] = Journal(store, hub)
    app[keys.STATUS] = StatusReporter(hub)
    yield


async def _robots(app: web.Application) -> AsyncIterator[None]:
    """The fleet and the TCP server robots connect to, on this same loop."""
    store, hub, journal = app[keys.STORE], app[keys.HUB], app[keys.JOURNAL]
    fleet = Fleet(store, hub, journal)
    await fleet.load()
    app[keys.STATUS].publish_if_changed()
    server = RobotServer(app[keys.SETTINGS], fleet, journal, Notifier(store, hub, fleet))
    await server.start()
    app[keys.FLEET], app[keys.ROBOT_SERVER] = fleet, server
    tasks = [asyncio.create_task(fleet.persist_forever(), name="fleet-persist"),
             asyncio.create_task(server.watch(), name="robot-watch")]
    yield
    await server.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await fleet.close()


def _background(name: str, run: Callable[[web.Application], Coroutine[Any, Any, None]]
                ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx entry that runs one task for the app's life and cancels it after."""
    async def entry(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app), name=name)
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    entry.__name__ = name
    return entry


async def _run_status(app: web.Application) -> None:
    await app[keys.STATUS].run()


async def _run_polling(app: web.Application) -> None:
    await poll_forever(app[keys.STORE], app[keys.HUB], app[keys.STATUS], app[keys.FLEET],
                       app[keys.SETTINGS].polling.interval_s)


async def _on_shutdown(app: web.Application) -> None:
    await close_all(app)


def create_app(settings: Settings) -> web.Application:
    """The whole server as an aiohttp application; no side effects until it starts."""
    app = web.Application(client_max_size=64 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.CONNECTIONS] = set()
    app[keys.SHUTTING_DOWN] = asyncio.Event()
    app.cleanup_ctx.extend([
        _store,
        _hub,
        _robots,
        _background("status", _run_status),
        _background("watchdog", watchdog),
        _background("polling", _run_polling),
    ])
    app.on_shutdown.append(_on_shutdown)
    setup_routes(app)
    return app


def _with_tokens(settings: Settings) -> Settings:
    """First start with no [auth.tokens]: make and keep an admin and a kitchen token."""
    if settings.auth.tokens:
        return settings
    tokens, created = load_or_create_tokens(settings.database.path)
    tokens_file = settings.database.path.parent / "tokens.toml"
    if created:
        # Printed once, on the start that made them, so the owner can open the pages.
        for token, role in tokens.items():
            page = "dashboard" if role == "admin" else "kitchen"
            log.warning("first start: open http://<this-box>:%d/%s?token=%s (%s token, kept in %s)",
                        settings.server.port, page, token, role, tokens_file)
    else:
        log.info("tokens loaded from %s", tokens_file)
    auth = settings.auth.model_copy(update={"tokens": tokens})
    return settings.model_copy(update={"auth": auth})


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _with_tokens(load_settings(argv))
    except SettingsError as err:
        print(f"robodyne: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    web.run_app(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=None,
        print=lambda line: log.info("%s", line),
    )

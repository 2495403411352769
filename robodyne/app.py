"""create_app(settings) builds the application; main() configures logging and runs it."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Final

from aiohttp import web

from . import demo, keys
from .auth import TOKENS_FILE, load_or_create_tokens
from .const import STATE_TOPICS
from .errors import StorageUnavailable
from .fleet import Fleet
from .hub import Hub
from .journal import Journal
from .logbridge import SystemlogBridge
from .metrics import Stats, registry_for
from .notify import Notifier
from .polling import poll_once
from .restaurant import Restaurant
from .routes import setup_routes
from .settings import Settings, SettingsError, load_settings
from .status import StatusReporter
from .storage import Store
from .tcp import RobotServer
from .ws import close_all, watchdog

log = logging.getLogger(__name__)

# systemd's TimeoutStopSec is 15 s; everything must be done well before it.
SHUTDOWN_TIMEOUT_S: Final = 8.0
RETENTION_EVERY_S: Final = 60.0


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = await Store.open(settings.database.path)
    store.on_commit.append(app[keys.STATS].db_write.observe)
    if settings.demo:
        await demo.seed(store)
    app[keys.STORE] = store
    yield
    await store.close()


async def _hub(app: web.Application) -> AsyncIterator[None]:
    """The hub, primed from the database before anyone can subscribe."""
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
    app[keys.STATUS] = StatusReporter(hub, store)
    yield


async def _robots(app: web.Application) -> AsyncIterator[None]:
    """The fleet, the restaurant's rules and the TCP server robots connect to."""
    store, hub, journal = app[keys.STORE], app[keys.HUB], app[keys.JOURNAL]
    fleet = Fleet(store, hub, journal)
    await fleet.load()
    restaurant = Restaurant(store, hub, journal, fleet)
    server = RobotServer(app[keys.SETTINGS], fleet, journal, Notifier(store, hub, fleet),
                         restaurant, app[keys.STATS])
    await server.start()
    app[keys.FLEET], app[keys.RESTAURANT], app[keys.ROBOT_SERVER] = fleet, restaurant, server
    app[keys.STATUS].publish_if_changed()
    tasks = [asyncio.create_task(fleet.persist_forever(), name="fleet-persist"),
             asyncio.create_task(server.watch(), name="robot-watch")]
    yield
    await server.stop()
    await _cancel(tasks)
    await fleet.close()


async def _log_bridge(app: web.Application) -> AsyncIterator[None]:
    bridge = SystemlogBridge(app[keys.JOURNAL])
    logging.getLogger().addHandler(bridge)
    task = asyncio.create_task(bridge.run(), name="log-bridge")
    yield
    logging.getLogger().removeHandler(bridge)
    await _cancel([task])


async def _demo_robots(app: web.Application) -> AsyncIterator[None]:
    """In demo mode, four simulated robots drive around over the real TCP port."""
    if not app[keys.SETTINGS].demo:
        yield
        return
    from .simulator import run_fleet
    token = demo.robot_token(app[keys.SETTINGS])
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_fleet("127.0.0.1", app[keys.ROBOT_SERVER].port, token, demo.ROBOTS, demo.ROBOT_HZ,
                  stop=stop), name="demo-robots")
    yield
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=3)
    except TimeoutError:
        pass


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _background(name: str, run: Callable[[web.Application], Coroutine[Any, Any, None]]
                ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx entry that runs one task for the app's life and cancels it after."""
    async def entry(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app), name=name)
        yield
        await _cancel([task])
    entry.__name__ = name
    return entry


async def _every(seconds: float, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run `work` every `seconds`; a database failure skips a round, never ends the loop."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except (StorageUnavailable, sqlite3.Error) as err:
            log.warning("skipped a round of %s: %s", work.__name__, err)


async def _run_polling(app: web.Application) -> None:
    async def fallback_poll() -> None:
        await poll_once(app[keys.STORE], app[keys.HUB], app[keys.STATUS], app[keys.FLEET])
    await _every(app[keys.SETTINGS].polling.interval_s, fallback_poll)


async def _run_retention(app: web.Application) -> None:
    retention, store = app[keys.SETTINGS].retention, app[keys.STORE]

    async def prune_records() -> None:
        await store.prune("events", retention.events)
        await store.prune("systemlogs", retention.systemlogs)
    await _every(RETENTION_EVERY_S, prune_records)


async def _run_storage_watch(app: web.Application) -> None:
    await app[keys.JOURNAL].watch_storage()


async def _run_status(app: web.Application) -> None:
    await app[keys.STATUS].run()


async def _on_shutdown(app: web.Application) -> None:
    await close_all(app)


def create_app(settings: Settings) -> web.Application:
    """The whole server as an aiohttp application; no side effects until it starts."""
    app = web.Application(client_max_size=64 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.CONNECTIONS] = set()
    app[keys.SHUTTING_DOWN] = asyncio.Event()
    app[keys.STATS] = Stats()
    app[keys.METRICS] = registry_for(app)
    app.cleanup_ctx.extend([
        _store,
        _hub,
        _log_bridge,
        _background("storage-watch", _run_storage_watch),
        _robots,
        _background("status", _run_status),
        _background("watchdog", watchdog),
        _background("polling", _run_polling),
        _background("retention", _run_retention),
        _demo_robots,
    ])
    app.on_shutdown.append(_on_shutdown)
    setup_routes(app)
    return app


def _with_tokens(settings: Settings) -> Settings:
    """Add the tokens of tokens.toml; with none anywhere, make an admin and a kitchen token.

    tokens.toml is where the owner adds robot, floor and maintenance tokens too; tokens in
    [auth.tokens] are added to it and win where both name the same token.
    """
    tokens_file = settings.database.path.parent / TOKENS_FILE
    if settings.auth.tokens and not tokens_file.exists():
        return settings
    stored, created = load_or_create_tokens(settings.database.path)
    if created:
        # The one log line that carries tokens, on the start that made them, so the owner
        # can open the pages; every later start points at the file instead.
        for token, role in stored.items():
            page = "dashboard" if role == "admin" else "kitchen"
            log.warning("first start: open http://%s:%d/%s?token=%s (%s token, kept in %s)",
                        socket.gethostname(), settings.server.port, page, token, role,
                        tokens_file)
    else:
        log.info("tokens loaded from %s", tokens_file)
    auth = settings.auth.model_copy(update={"tokens": {**stored, **settings.auth.tokens}})
    return settings.model_copy(update={"auth": auth})


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _with_tokens(load_settings(argv))
    except SettingsError as err:
        print(f"robodyne: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        web.run_app(
            create_app(settings),
            host=settings.server.host,
            port=settings.server.port,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            access_log=None,
            print=lambda line: log.info("%s", line),
        )
    except OSError as err:  # a port in use, an address not on this box
        log.critical("cannot start: %s", err)
        raise SystemExit(1) from None

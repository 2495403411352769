"""The composition root: create_app(settings) builds every part and wires it to the others;
main() configures logging and runs it."""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from aiohttp import web

from .core.errors import StorageUnavailable
from .core.stats import Stats
from .core.topics import STATE_TOPICS, Topic
from .demo import seed
from .demo.client import SimFleet
from .demo.guest import GuestPhones, own_url
from .demo.life import DemoLife
from .demo.nav2 import Nav2Demo
from .domain.backups import Backups
from .domain.calls import Calls
from .domain.cameras import Cameras
from .domain.guest_views import GuestViews
from .domain.guests import GuestDesk, GuestSessions
from .domain.party import PartySessions
from .domain.party_views import PartyViews
from .domain.places import Places
from .domain.waitlist import Waitlist
from .domain.dispatch import Dispatcher
from .domain.fleet import Fleet
from .domain.journal import Journal
from .domain.links import TableLinks
from .domain.daybook import Daybook
from .domain.logbridge import SystemlogBridge
from .domain.menu import Menu
from .domain.photos import MenuPhotos
from .domain.notify import Notifier
from .domain.polling import poll_once
from .domain.robot_reports import RobotReports
from .domain.restaurant import Restaurant
from .domain.retention import LogRetention
from .domain.stock import Stock
from .domain.status import StatusReporter
from .domain.views import topic_views
from .domain.visits import Visits
from .live.hub import Hub
from .robots.server import RobotServer
from .settings import Settings, SettingsError, load_settings
from .store.media import MediaFiles
from .store.store import Store
from .tls import box_names, certificate_warnings, server_context, unverified_client_context
from .tokenfile import TokenFile, first_tokens, read_tokens, tokens_path
from .core.tokens import Refusals, TokenBook
from .web.api import Api
from .web.auth import Auth
from .web.guests import GuestApi, GuestPage
from .web.waitlist import PartyApi, PartyPage, WaitlistApi
from .web.idempotency import Idempotency
from .web.links import LinkApi, LinkUrls
from .web.devices import Devices
from .web.login import Login
from .web.metrics import Collector, Metrics
from .web.noise import LOGGER as AIOHTTP_SERVER, ClientProtocolErrors
from .web.media import Media
from .web.pages import Pages
from .web.photos import PhotoApi
from .web.print_sheet import PrintSheet
from .web.receipt import Receipts
from .web.reports import Reports
from .web.routes import Health, setup_routes
from .web.ws import WebSockets

log = logging.getLogger(__name__)

# systemd's TimeoutStopSec is 15 s; everything must be done well before it.
SHUTDOWN_TIMEOUT_S: Final = 8.0
RETENTION_EVERY_S: Final = 60.0


@dataclass(frozen=True)
class Demo:
    """The demo's simulated robots, and the guests and cooks that keep its restaurant busy."""

    robots: SimFleet
    life: DemoLife
    # With --ros2: one more robot, a simulated Nav2 one through the ROS 2 bridge.
    nav2: Nav2Demo | None = None


@dataclass(frozen=True)
class Parts:
    """Everything build() made, held by the app for its lifecycle (and for tests)."""

    settings: Settings
    tokens: TokenFile
    auth: Auth
    stats: Stats
    store: Store
    hub: Hub
    journal: Journal
    status: StatusReporter
    fleet: Fleet
    restaurant: Restaurant
    stock: Stock
    menu: Menu
    visits: Visits
    links: TableLinks
    dispatcher: Dispatcher
    calls: Calls
    guest_views: GuestViews
    guest_sessions: GuestSessions
    party_views: PartyViews
    backups: Backups
    robot_server: RobotServer
    websockets: WebSockets
    login: Login
    devices: Devices
    health: Health
    idempotency: Idempotency
    metrics: Metrics
    api: Api
    link_api: LinkApi
    guest_api: GuestApi
    guest_page: GuestPage
    waitlist: Waitlist
    waitlist_api: WaitlistApi
    party_api: PartyApi
    party_page: PartyPage
    photo_api: PhotoApi
    media: Media
    reports: Reports
    pages: Pages
    print_sheet: PrintSheet
    receipt: Receipts
    # The server's warnings onto systemlogs, and aiohttp's complaints about clients' malformed
    # requests turned into DEBUG lines: installed on the loggers only while the app runs.
    log_bridge: SystemlogBridge
    client_errors: ClientProtocolErrors
    # The server's TLS context (auth.tls_cert/tls_key), or None: plain HTTP and TCP.
    tls: ssl.SSLContext | None = None
    # In demo mode only.
    demo: Demo | None = None


PARTS = web.AppKey("parts", Parts)


def build(settings: Settings, tls: ssl.SSLContext | None = None) -> Parts:
    """Every part, each given what it needs in its constructor; nothing runs yet.

    In demo mode the parts get the demo's settings, a new value: `settings` stays as it is.
    """
    demo_token = None
    if settings.demo:
        settings, demo_token = seed.demo_settings(settings)
    ws = settings.websocket
    tokens = TokenFile(tokens_path(settings.database.path), settings.auth.grants(), TokenBook({}))
    refusals = Refusals(logging.getLogger("robodyne.auth"), time.monotonic)
    stats = Stats()
    store = Store(settings.database.path)
    hub = Hub(topic_views(ws.snapshot_limit, settings.restaurant.categories),
              history_size=ws.history_size, queue_max=ws.send_queue_max)
    journal = Journal(store, hub)
    status = StatusReporter(hub, store)
    fleet = Fleet(store, hub, journal)
    media = MediaFiles(settings.media_dir())
    menu = Menu(store, hub, journal, media, settings.kitchen, settings.restaurant.categories)
    visits = Visits(store, hub, settings.restaurant, settings.guest)
    places = Places(store, hub)
    stock = Stock(store, hub, journal, menu)
    restaurant = Restaurant(store, hub, journal, fleet, menu, visits, stock, places)
    dispatcher = Dispatcher(store, hub, journal, fleet, restaurant, visits, places,
                            settings.dispatch, stats)
    cameras = Cameras(store, hub)
    robot_server = RobotServer(settings.tcp, tokens.book, refusals, fleet,
                               RobotReports(journal, restaurant, dispatcher),
                               Notifier(store, hub, fleet), cameras, stats, tls=tls)
    links = TableLinks(store, journal)
    calls = Calls(store, hub, journal, dispatcher, visits)
    guest_sessions = GuestSessions(store, links)
    guest_views = GuestViews(hub, store, settings.dispatch, restaurant.table_positions)
    party_sessions = PartySessions(store)
    party_views = PartyViews(hub)
    waitlist = Waitlist(store, restaurant, visits, settings.host)
    if settings.host.escort:
        waitlist.on_seated.append(dispatcher.escort)
    auth = Auth(tokens.book, settings.auth.allowed_origins, refusals, guest_sessions,
                party_sessions)
    daybook = Daybook(store, settings.server.zone(), settings.kitchen.stations)
    link_urls = LinkUrls(settings.server.public_url)
    pages = Pages(settings.kitchen, settings.restaurant, auth, cameras.image_origins)
    return Parts(
        settings=settings, tokens=tokens, auth=auth, stats=stats, store=store, hub=hub,
        journal=journal, status=status, fleet=fleet, restaurant=restaurant, menu=menu, stock=stock,
        visits=visits, links=links, calls=calls, guest_views=guest_views,
        guest_sessions=guest_sessions, party_views=party_views, dispatcher=dispatcher,
        backups=Backups(store, journal, stats, settings.backup),
        robot_server=robot_server,
        websockets=WebSockets(ws, auth, hub, stats, guest_views, links, party_views,
                              max_per_token=settings.auth.max_connections_per_token),
        login=Login(auth, tokens), devices=Devices(tokens), health=Health(status),
        idempotency=Idempotency(store, auth),
        metrics=Metrics(Collector(stats, hub, fleet)),
        api=Api(restaurant, menu, visits, calls, dispatcher, daybook, hub, places, cameras,
                stock),
        link_api=LinkApi(links, link_urls),
        guest_api=GuestApi(GuestDesk(restaurant, calls, settings.guest), guest_views),
        guest_page=GuestPage(guest_sessions, auth, settings.restaurant, settings.guest),
        waitlist=waitlist, waitlist_api=WaitlistApi(waitlist, link_urls),
        party_api=PartyApi(party_views),
        party_page=PartyPage(party_sessions, settings.restaurant),
        photo_api=PhotoApi(MenuPhotos(store, menu, media)), media=Media(media),
        reports=Reports(daybook), pages=pages,
        print_sheet=PrintSheet(links, link_urls, auth, pages),
        receipt=Receipts(visits, store, settings.restaurant, settings.server.zone(), auth, pages),
        log_bridge=SystemlogBridge(journal), client_errors=ClientProtocolErrors(), tls=tls,
        demo=None if demo_token is None else _demo(settings, demo_token, restaurant, visits,
                                                   waitlist, links, hub, tls))


def _demo(settings: Settings, robot_token: str, restaurant: Restaurant, visits: Visits,
          waitlist: Waitlist, links: TableLinks, hub: Hub, tls: ssl.SSLContext | None) -> Demo:
    """Simulated robots for the real TCP port, guests ordering on the real HTTP port, and the
    restaurant's simulated life."""
    simulation = settings.simulation
    # Under TLS the demo robots and guests speak it too, without checking the certificate: they
    # are this process on loopback, and the box's certificate names its LAN name, not 127.0.0.1.
    client_tls = unverified_client_context() if tls is not None else None
    robots = SimFleet(robot_token, simulation.robots, seed.ROBOT_HZ,
                      fail_rate=simulation.fail_rate, tls=client_tls)
    # The guests come to the address the HTTP site was told to listen on, which main's run_app
    # binds: aiohttp starts an app's sites only after its startup (where _demo_mode runs) and
    # tells an app nothing of them (aio-libs/aiohttp#3036), so the settings are the one place
    # the app knows it from. server.port 0 (a port the kernel picks) leaves it unknown: then
    # no guest comes in (_demo_mode says so) while the cooks and robots still work.
    server = settings.server
    phones = (GuestPhones(own_url(server.host, server.port, tls is not None), links, client_tls)
              if server.port else None)
    return Demo(robots=robots, life=DemoLife(restaurant, visits, waitlist, hub, simulation,
                                             phones, self_seat=settings.guest.self_seat),
                nav2=_nav2_demo(settings, robot_token, tls))


def _nav2_demo(settings: Settings, robot_token: str,
               tls: ssl.SSLContext | None) -> Nav2Demo | None:
    if not settings.demo_ros2:
        return None
    if tls is not None:
        # The bridge trusts a server through a CA file, and the demo has none to give it.
        log.warning("demo: no ROS 2 robot with TLS on the robot port")
        return None
    return Nav2Demo(robot_token)


def create_app(settings: Settings, tls: ssl.SSLContext | None = None) -> web.Application:
    """The whole server as an aiohttp application; no side effects until it starts.

    `tls` (tls.server_context) makes the robot port speak TLS; the HTTP side gets the same
    context from whoever runs the app (run_app's ssl_context).
    """
    parts = build(settings, tls)
    app = web.Application(client_max_size=64 * 1024)
    app[PARTS] = parts
    setup_routes(
        app, auth=parts.auth, idempotency=parts.idempotency, health=parts.health,
        metrics=parts.metrics, websockets=parts.websockets, api=parts.api,
        link_api=parts.link_api, reports=parts.reports, pages=parts.pages,
        print_sheet=parts.print_sheet, receipts=parts.receipt, login=parts.login,
        guest_api=parts.guest_api, guest_page=parts.guest_page,
        waitlist_api=parts.waitlist_api, party_api=parts.party_api,
        party_page=parts.party_page, devices=parts.devices, photo_api=parts.photo_api,
        media=parts.media)
    app.cleanup_ctx.extend([
        _tokens,
        _store,
        _hub,
        _visits,
        _log_bridge,
        _background("storage-watch", lambda p: p.journal.watch_storage()),
        _background("log-repeats", lambda p: p.journal.count_repeats()),
        _robots,
        _background("status", lambda p: p.status.run()),
        _background("watchdog", lambda p: p.websockets.watchdog()),
        _background("party-sweep", lambda p: p.party_views.sweep()),
        _background("polling", _run_polling),
        _background("retention", _run_retention),
        _background("idempotency-keys",
                    lambda p: _every(RETENTION_EVERY_S, p.idempotency.prune)),
        _background("backups", lambda p: p.backups.run()),
        _demo_mode,
    ])
    app.on_shutdown.append(_on_shutdown)
    return app


async def _tokens(app: web.Application) -> AsyncIterator[None]:
    """The tokens of the config and tokens.toml, known before anyone can connect, and kept
    equal to the file while the server runs."""
    tokens = app[PARTS].tokens
    tokens.load()
    task = asyncio.create_task(tokens.watch(), name="tokens-watch")
    yield
    await _cancel([task])


async def _store(app: web.Application) -> AsyncIterator[None]:
    """The database open, its writes timed into the stats; in demo mode, seeded; every table
    with its link code."""
    parts = app[PARTS]
    await parts.store.open()
    parts.store.on_commit.append(parts.stats.db_write.observe)
    try:
        if parts.settings.demo:
            await seed.seed(parts.store, parts.settings.restaurant.terms())
        await parts.links.load()
        yield
    finally:
        parts.store.on_commit.remove(parts.stats.db_write.observe)
        await parts.store.close()


async def _hub(app: web.Application) -> AsyncIterator[None]:
    """The hub's views, primed from the database before anyone can subscribe."""
    parts = app[PARTS]
    store, hub, limit = parts.store, parts.hub, parts.settings.websocket.snapshot_limit
    for topic in STATE_TOPICS:
        hub.prime(topic, [item.model_dump(mode="json") for item in await store.state(topic)])
    hub.prime(Topic.EVENTS, [e.model_dump(mode="json") for e in await store.events(limit)])
    hub.prime(Topic.SYSTEMLOGS,
              [s.model_dump(mode="json") for s in await store.systemlogs(limit)])
    yield


async def _visits(app: web.Application) -> AsyncIterator[None]:
    """Open visits' checks brought up to date, and kept so as their orders change; the guests'
    views built from the primed topics, and kept so as the topics change; the waiting
    parties' views too."""
    parts = app[PARTS]
    await parts.visits.load(parts.restaurant.order_watchers)
    await parts.guest_views.load()
    try:
        with parts.guest_views.tapped(), parts.party_views.tapped():
            yield
    finally:
        parts.party_views.close()
        parts.guest_views.close()
        parts.visits.close()


async def _robots(app: web.Application) -> AsyncIterator[None]:
    """The fleet, its unfinished tasks and the TCP server robots connect to."""
    parts = app[PARTS]
    fleet, server = parts.fleet, parts.robot_server
    await fleet.load()
    await parts.dispatcher.load()
    parts.calls.load()
    try:
        await server.start()
        parts.health.ready = True
        parts.status.publish_if_changed()
        tasks = [asyncio.create_task(fleet.persist_forever(), name="fleet-persist"),
                 asyncio.create_task(server.watch(), name="robot-watch"),
                 asyncio.create_task(parts.dispatcher.recover(parts.settings.tcp.heartbeat_s),
                                     name="task-recovery")]
        try:
            yield
        finally:
            await server.stop()
            await _cancel(tasks)
            await fleet.close()
    finally:
        parts.calls.close()
        parts.dispatcher.close()  # also when the final flush meets a full disk


async def _log_bridge(app: web.Application) -> AsyncIterator[None]:
    """The server's warnings onto systemlogs; aiohttp's complaints about clients' malformed
    requests are not the server's, and become one DEBUG line each before any handler."""
    parts = app[PARTS]
    bridge, client_errors = parts.log_bridge, parts.client_errors
    logging.getLogger(AIOHTTP_SERVER).addFilter(client_errors)
    logging.getLogger().addHandler(bridge)
    task = asyncio.create_task(bridge.run(), name="log-bridge")
    try:
        yield
    finally:
        logging.getLogger().removeHandler(bridge)
        logging.getLogger(AIOHTTP_SERVER).removeFilter(client_errors)
        await _cancel([task])


async def _demo_mode(app: web.Application) -> AsyncIterator[None]:
    """In demo mode, simulated robots drive over the real TCP port, and guests and cooks
    keep the restaurant busy."""
    parts = app[PARTS]
    demo = parts.demo
    if demo is None:
        yield
        return
    if parts.settings.server.port == 0:
        log.warning("demo: no guest comes in with server.port 0: they order over HTTP, and"
                    " need the port the server listens on")
    stop = asyncio.Event()
    robots = asyncio.create_task(demo.robots.run(parts.robot_server.port, stop),
                                 name="demo-robots")
    life = asyncio.create_task(demo.life.run(), name="demo-life")
    nav2 = (asyncio.create_task(demo.nav2.run(parts.robot_server.port, stop), name="demo-nav2")
            if demo.nav2 is not None else None)
    yield
    await _cancel([life])
    stop.set()
    with suppress(TimeoutError):
        async with asyncio.timeout(3):
            await robots
    if nav2 is not None:
        await nav2  # bounded: the child is killed if it has not said bye within 5 s


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _background(name: str, run: Callable[[Parts], Coroutine[Any, Any, None]]
                ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx entry that runs one task for the app's life and cancels it after."""
    async def entry(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app[PARTS]), name=name)
        yield
        await _cancel([task])
    entry.__name__ = name
    return entry


async def _every(seconds: float, work: Callable[[], Coroutine[Any, Any, Any]],
                 wait: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    """Run `work` after each `wait(seconds)`; a database failure skips a round, never ends it."""
    while True:
        await wait(seconds)
        try:
            await work()
        except StorageUnavailable as err:
            log.warning("skipped a round of %s: %s", work.__name__, err)


async def _run_polling(parts: Parts) -> None:
    async def fallback_poll() -> None:
        await poll_once(parts.store, parts.hub, parts.status, parts.fleet)
    await _every(parts.settings.polling.interval_s, fallback_poll)


async def _run_retention(parts: Parts) -> None:
    retention = LogRetention(parts.store.retention, parts.settings.retention)

    async def prune_records() -> None:
        await retention.prune()
        await parts.guest_sessions.prune()
    await retention.count()
    await _every(RETENTION_EVERY_S, prune_records, retention.wake)


async def _on_shutdown(app: web.Application) -> None:
    await app[PARTS].websockets.close_all()


def _first_start(settings: Settings) -> None:
    """Check tokens.toml; with no token anywhere, make an admin and a kitchen token in it.

    No token is ever logged: the line says where they are and how to pair the tablets.
    """
    path = tokens_path(settings.database.path)
    if read_tokens(path) or settings.auth.tokens:
        return
    first_tokens(path)
    log.warning("first start: made an admin and a kitchen token in %s (mode 0600). Open"
                " %s://%s:%d/login and paste the admin token from that file; then pair each"
                " tablet with a code from the dashboard (docs/operations.md)",
                path, "https" if settings.auth.tls_cert else "http", socket.gethostname(),
                settings.server.port)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(argv)
        tls = server_context(settings.auth)
        if tls is not None:
            for warning in certificate_warnings(settings.auth.tls_cert,
                                                box_names(settings.server.host),
                                                datetime.now(timezone.utc)):
                log.warning("%s", warning)
        _first_start(settings)
    except SettingsError as err:
        print(f"robodyne: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        web.run_app(
            create_app(settings, tls),
            host=settings.server.host,
            port=settings.server.port,
            ssl_context=tls,  # run_app then logs "Running on https://…"
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            access_log=None,
            print=lambda line: log.info("%s", line),
        )
    except OSError as err:  # a port in use, an address not on this box
        log.critical("cannot start: %s", err)
        raise SystemExit(1) from None

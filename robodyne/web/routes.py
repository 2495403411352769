"""Every URL the application answers, in one place: the REST table, then what is not REST.

`rest_routes` declares each REST route once: method, path, handler, the need its caller must
meet (web/needs.py: a role that may read a topic or write a scope, a set of roles, any token)
and, for a POST, the item it creates or changes (web/idempotency.py gives it to a retry after a
crash). One wrapper checks the need before the handler runs (web/routing.py). A guest
session's own routes need GUEST; no other route takes a guest (every other need asks for a
token), so a guest is refused (401) everywhere else. Not in the table: /healthz and /media/…
(no token),
/ws/{topic} (a WebSocket, whose handshake checks its token or guest session), POST /login (a
page's form, answered with a redirect) and the pages (the printed sheet of table links and a
visit's receipt too, whose refusals are pages; the sheet's QR images are in the table; and
/t/{code}, which makes a guest session, and /w/{code}, which opens a waiting party's).
"""

from __future__ import annotations

from aiohttp import web

from ..core.photos import MAX_UPLOAD_BYTES
from ..core.roles import Scope as S
from ..core.topics import PAYMENTS, Topic as T
from ..domain.status import StatusReporter
from .api import Api
from .auth import Auth
from .bodies import MenuItemPatch, OrderIn
from .devices import Devices
from .guard import browser_writes, hide_server_name, security_headers
from .guests import GuestApi, GuestPage
from .waitlist import PartyApi, PartyPage, WaitlistApi
from .idempotency import Idempotency
from .links import LinkApi
from .login import Login
from .media import Media
from .metrics import Metrics
from .needs import (
    ANY_TOKEN,
    GUEST,
    METRICS,
    PARTY,
    PRINTED_LINKS,
    READ_NAMED_TOPIC,
    REPORTS,
    TABLE_LINKS,
    TOKENS,
    Read,
    Write,
    WriteFields,
    WriteWithout,
)
from .pages import Pages
from .photos import PhotoApi
from .print_sheet import PrintSheet
from .receipt import Receipts
from .reports import Reports
from .responses import api_errors
from .routing import Route, RouteTable, changes, creates
from .ws import WebSockets

# The table as the app declared it, for whoever reads it whole (tests/unit/test_routes.py).
REST_ROUTES = web.AppKey("rest_routes", RouteTable)
# The kitchen may 86 a dish (or bring it back), and change nothing else of it.
MENU_CHANGE = WriteFields(S.MENU_AVAILABLE, MenuItemPatch, frozenset({"available"}), S.MENU)
# Anyone who may write orders may place one; a price for a line not on the menu is the floor's
# and the admin's to give, not the kitchen's.
ORDER_PLACING = WriteWithout(S.ORDERS, OrderIn, frozenset({"items.price"}), S.ORDER_PRICES)


def rest_routes(api: Api, reports: Reports, login: Login, metrics: Metrics, links: LinkApi,
                sheet: PrintSheet, guests: GuestApi, waitlist: WaitlistApi,
                party: PartyApi, devices: Devices, photos: PhotoApi) -> RouteTable:
    """The REST routes. An ack may simply run again and a command or a pairing code is not
    stored, so those POSTs write nothing a retry could be given; a new table link is no topic's
    item either (a retry with its key gets the first answer, the same new code, kept with the
    key; one cut short by a crash makes another code, which the lost answer never showed)."""
    return RouteTable([
        Route("GET", "/metrics", metrics.handler, METRICS),
        Route("GET", "/api/reports/daily", reports.daily, REPORTS),
        Route("GET", "/api/export/orders.csv", reports.export, REPORTS),
        Route("GET", "/api/export/payments.csv", reports.payments, REPORTS),
        Route("GET", "/api/me", api.whoami, ANY_TOKEN),
        Route("GET", "/api/kitchen/prep_times", api.prep_times, Read(T.ORDERS)),
        # Before /api/{topic}: the guest's stream is no topic of the hub's, and no token's.
        Route("GET", "/api/guest", guests.read, GUEST),
        Route("GET", "/api/party", party.read, PARTY),
        Route("GET", "/api/{topic}", api.read_topic, READ_NAMED_TOPIC),
        Route("POST", "/api/guest/orders", guests.order, GUEST, creates(T.ORDERS)),
        Route("POST", "/api/guest/orders/{id}/cancel", guests.cancel, GUEST,
              changes(T.ORDERS)),
        # Asking again answers the open call (200): a retry gets the call either way.
        Route("POST", "/api/guest/calls", guests.call, GUEST, creates(T.CALLS)),
        Route("POST", "/api/calls/{id}/answer", api.answer_call, Write(S.CALLS),
              changes(T.CALLS)),
        Route("POST", "/api/orders", api.create_order, ORDER_PLACING, creates(T.ORDERS)),
        Route("PATCH", "/api/orders/{id}", api.update_order, Write(S.ORDERS)),
        Route("POST", "/api/tables", api.create_table, Write(S.TABLES), creates(T.TABLES)),
        Route("PATCH", "/api/tables/{id}", api.update_table, Write(S.TABLES)),
        # Refused (409) while a visit is open at the table.
        Route("DELETE", "/api/tables/{id}", api.delete_table, Write(S.FLOOR_PLAN)),
        Route("GET", "/api/tables/{id}/link", links.read, TABLE_LINKS),
        Route("POST", "/api/tables/{id}/link", links.rotate, Write(S.TABLE_LINKS)),
        # An image of the printed sheet (/print/tables, a page: not in this table).
        Route("GET", "/print/tables/{id}/qr.svg", sheet.qr, PRINTED_LINKS),
        Route("POST", "/api/customers", waitlist.create, Write(S.CUSTOMERS),
              creates(T.CUSTOMERS)),
        Route("PATCH", "/api/customers/{id}", waitlist.update, Write(S.CUSTOMERS)),
        # The party's link as a QR code, for the host page (the link is a secret: the
        # roles that keep the line, who read it on the customers topic).
        Route("GET", "/api/customers/{id}/qr.svg", waitlist.qr, Read(T.CUSTOMERS)),
        # Calling again stamps the new call; seating twice is refused: a retry gets the party.
        Route("POST", "/api/customers/{id}/call", waitlist.call, Write(S.CUSTOMERS),
              changes(T.CUSTOMERS)),
        Route("POST", "/api/customers/{id}/seat", waitlist.seat, Write(S.CUSTOMERS),
              changes(T.CUSTOMERS)),
        Route("DELETE", "/api/customers/{id}", api.delete_customer, Write(S.CUSTOMERS)),
        Route("POST", "/api/visits", api.create_visit, Write(S.VISITS), creates(T.VISITS)),
        # A payment is no topic's item, but noted with its key all the same: a retry after a
        # crash, or after a 503 that came once it was committed, gets that payment again.
        Route("POST", "/api/visits/{id}/payments", api.pay, Write(S.VISITS), creates(PAYMENTS)),
        Route("GET", "/api/visits/{id}/split", api.split, Read(T.VISITS)),
        Route("POST", "/api/visits/{id}/close", api.close_visit, Write(S.VISITS),
              changes(T.VISITS)),
        Route("PUT", "/api/places/{name}", api.put_place, Write(S.PLACES)),
        Route("POST", "/api/inventory", api.create_inventory, Write(S.INVENTORY),
              creates(T.INVENTORY)),
        Route("PATCH", "/api/inventory/{id}", api.update_inventory, Write(S.INVENTORY)),
        Route("POST", "/api/inventory/{id}/adjust", api.adjust_inventory, Write(S.INVENTORY),
              changes(T.INVENTORY)),
        # A line's moves: read by those who read the line (admin, kitchen).
        Route("GET", "/api/inventory/{id}/moves", api.inventory_moves, Read(T.INVENTORY)),
        Route("POST", "/api/video_streams", api.create_video_stream, Write(S.VIDEO_STREAMS),
              creates(T.VIDEO_STREAMS)),
        Route("PATCH", "/api/video_streams/{id}", api.update_video_stream,
              Write(S.VIDEO_STREAMS)),
        Route("DELETE", "/api/video_streams/{id}", api.delete_video_stream,
              Write(S.VIDEO_STREAMS)),
        Route("POST", "/api/events/{id}/ack", api.acknowledge_event, Write(S.EVENT_ACK)),
        Route("POST", "/api/robots/{id}/commands", api.robot_command, Write(S.ROBOT_COMMANDS)),
        Route("DELETE", "/api/robots/{id}", api.forget_robot, Write(S.ROBOTS)),
        Route("POST", "/api/menu", api.create_menu_item, Write(S.MENU), creates(T.MENU)),
        Route("PATCH", "/api/menu/{id}", api.update_menu_item, MENU_CHANGE),
        Route("DELETE", "/api/menu/{id}", api.delete_menu_item, Write(S.MENU)),
        Route("PUT", "/api/menu/{id}/recipe", api.set_recipe, Write(S.MENU)),
        # The raw image as the body (up to 5 MiB, not a JSON body's 64 KiB).
        Route("POST", "/api/menu/{id}/image", photos.put, Write(S.MENU), changes(T.MENU),
              max_body=MAX_UPLOAD_BYTES),
        Route("DELETE", "/api/menu/{id}/image", photos.remove, Write(S.MENU)),
        Route("POST", "/api/tasks", api.create_task, Write(S.TASKS), creates(T.TASKS)),
        Route("PATCH", "/api/tasks/{id}", api.update_task, Write(S.TASKS)),
        # Cancelling again is refused (the task is finished): a retry gets the cancelled task.
        Route("POST", "/api/tasks/{id}/cancel", api.cancel_task, Write(S.TASKS),
              changes(T.TASKS)),
        # Its answer is a pairing code: no key's record may hold one (a retry makes another).
        Route("POST", "/api/pairing", login.make_code, Write(S.TOKENS), keyed=False),
        Route("GET", "/api/tokens", devices.tokens, TOKENS),
        Route("DELETE", "/api/tokens/{id}", devices.revoke, Write(S.TOKENS)),
    ])


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
                 websockets: WebSockets, api: Api, link_api: LinkApi, reports: Reports,
                 pages: Pages, print_sheet: PrintSheet, receipts: Receipts, login: Login,
                 guest_api: GuestApi, guest_page: GuestPage, waitlist_api: WaitlistApi,
                 party_api: PartyApi, party_page: PartyPage, devices: Devices,
                 photo_api: PhotoApi, media: Media) -> None:
    table = app[REST_ROUTES] = rest_routes(api, reports, login, metrics, link_api, print_sheet,
                                           guest_api, waitlist_api, party_api, devices,
                                           photo_api)
    app.middlewares.extend([browser_writes(auth), idempotency.middleware(table), api_errors])
    app.on_response_prepare.append(security_headers)
    hide_server_name()
    app.router.add_get("/healthz", health.handler)
    app.router.add_get("/ws/{topic}", websockets.handler)
    table.add_to(app.router, auth)
    app.router.add_post("/login", login.login)
    app.router.add_routes(pages.routes())
    app.router.add_routes(print_sheet.routes())
    app.router.add_routes(receipts.routes())
    app.router.add_routes(guest_page.routes())
    app.router.add_routes(party_page.routes())
    app.router.add_routes(media.routes())

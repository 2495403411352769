"""The REST API (docs/api.md): thin handlers that read a body and call the domain. Each is
declared once in web/routes.py with the need its caller must meet, checked before it runs."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from ..core import money
from ..core.errors import Invalid, NotFound
from ..core.models import OrderLine, PlaceName
from ..core.roles import READABLE, REPORT_ROLES, WRITABLE
from ..core.text import ascii_int
from ..domain.calls import Calls
from ..domain.cameras import Cameras
from ..domain.dispatch import Dispatcher
from ..domain.daybook import Daybook
from ..domain.menu import Menu
from ..domain.places import Places
from ..domain.restaurant import Restaurant
from ..domain.stock import Stock
from ..domain.visits import Visits
from ..live.hub import Hub
from ..wire.robot import SQLITE_MAX_INT
from .bodies import (
    AdjustIn,
    CommandIn,
    InventoryIn,
    InventoryPatch,
    MenuItemIn,
    MenuItemPatch,
    OrderIn,
    OrderPatch,
    PaymentIn,
    PlaceIn,
    RecipeIn,
    TableIn,
    TablePatch,
    TaskIn,
    TaskPatch,
    VideoStreamIn,
    VideoStreamPatch,
    VisitIn,
    read_body,
)
from .needs import Caller, grant_of
from .responses import json_response, stream_response

# How many ways a check may be split (SPEC §12.3).
MIN_SPLIT: Final = 2
MAX_SPLIT: Final = 20
# The names a place may have, for checking one from a URL.
PLACE_NAMES: Final = tuple(PlaceName)


def path_id(request: web.Request) -> int:
    """The path's {id}: an unknown one (not a row id at all) is 404."""
    raw = request.match_info["id"]
    row_id = ascii_int(raw)
    if row_id is None or row_id > SQLITE_MAX_INT:
        raise NotFound(f"no {raw!r} here")
    return row_id


class Api:
    """The REST handlers, given the restaurant, the dispatcher and the hub they use."""

    def __init__(self, restaurant: Restaurant, menu: Menu, visits: Visits, calls: Calls,
                 dispatcher: Dispatcher, daybook: Daybook, hub: Hub, places: Places,
                 cameras: Cameras, stock: Stock) -> None:
        self._restaurant = restaurant
        self._places = places
        self._cameras = cameras
        self._menu = menu
        self._visits = visits
        self._calls = calls
        self._daybook = daybook
        self._dispatcher = dispatcher
        self._hub = hub
        self._stock = stock

    async def whoami(self, request: web.Request, caller: Caller) -> web.Response:
        """The caller's role and what it may do, so a page shows only the controls that work."""
        role = grant_of(caller).role
        return json_response({"role": role, "may_read": sorted(READABLE[role]),
                              "may_write": sorted(WRITABLE[role]),
                              "may_report": role in REPORT_ROLES})

    async def read_topic(self, request: web.Request, caller: Caller) -> web.Response:
        return stream_response(self._hub.topics[request.match_info["topic"]])

    async def create_order(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, OrderIn)
        lines = [OrderLine(**item.model_dump()) for item in body.items]
        order = await self._restaurant.place_order(body.table_id, lines, body.note,
                                                   body.priority)
        return json_response(order, 201)

    async def update_order(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, OrderPatch)
        order = await self._restaurant.change_order(
            path_id(request), status=body.status,
            items_done=[(item.index, item.done) for item in body.items] if body.items else None,
            robot_id=body.robot_id, set_robot="robot_id" in body.model_fields_set,
            priority=body.priority)
        return json_response(order)

    async def create_table(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, TableIn)
        table = await self._restaurant.add_table(body.label, body.seats, body.status,
                                                 body.x, body.y)
        return json_response(table, 201)

    async def update_table(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, TablePatch)
        return json_response(await self._restaurant.change_table(path_id(request),
                                                                 body.changes()))

    async def delete_table(self, request: web.Request, caller: Caller) -> web.Response:
        await self._restaurant.remove_table(path_id(request))
        return web.Response(status=204)

    async def delete_customer(self, request: web.Request, caller: Caller) -> web.Response:
        await self._restaurant.remove_customer(path_id(request))
        return web.Response(status=204)

    async def create_visit(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, VisitIn)
        visit = await self._visits.open(body.table_id, body.party_size, body.customer_id)
        return json_response(visit, 201)

    async def pay(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, PaymentIn)
        payment = await self._visits.pay(path_id(request), body.amount, body.method,
                                         body.reference)
        return json_response(payment, 201)

    async def split(self, request: web.Request, caller: Caller) -> web.Response:
        """The due amount in N shares (?ways=2..20) that add up to it exactly."""
        ways = ascii_int(request.query.get("ways", ""))
        if ways is None or not MIN_SPLIT <= ways <= MAX_SPLIT:
            raise Invalid(f"ways: a whole number from {MIN_SPLIT} to {MAX_SPLIT}")
        visit = await self._visits.get(path_id(request))
        return json_response({"shares": money.split(visit.check.due, ways)})

    async def close_visit(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._restaurant.close_visit(path_id(request)))

    async def answer_call(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._calls.answer(path_id(request)))

    async def create_inventory(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, InventoryIn)
        item = await self._stock.add(
            body.sku, body.name, body.quantity, body.unit, body.low_threshold)
        return json_response(item, 201)

    async def update_inventory(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, InventoryPatch)
        changes = body.changes()
        delta = changes.pop("delta", None)
        item = await self._stock.change(path_id(request), changes, delta)
        return json_response(item)

    async def adjust_inventory(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, AdjustIn)
        item = await self._stock.adjust(path_id(request), body.reason, delta=body.delta or 0,
                                        counted=body.quantity, note=body.note)
        return json_response(item)

    async def inventory_moves(self, request: web.Request, caller: Caller) -> web.Response:
        moves = await self._stock.moves(path_id(request))
        return json_response({"items": [move.model_dump(mode="json") for move in moves]})

    async def set_recipe(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, RecipeIn)
        return json_response(await self._stock.set_recipe(path_id(request), body.ingredients))

    async def create_video_stream(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, VideoStreamIn)
        stream = await self._cameras.add(body.name, body.url, body.robot_id, body.status)
        return json_response(stream, 201)

    async def update_video_stream(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, VideoStreamPatch)
        return json_response(
            await self._cameras.change(path_id(request), body.changes()))

    async def delete_video_stream(self, request: web.Request, caller: Caller) -> web.Response:
        await self._cameras.remove(path_id(request))
        return web.Response(status=204)

    async def acknowledge_event(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._restaurant.acknowledge(path_id(request)))

    async def put_place(self, request: web.Request, caller: Caller) -> web.Response:
        """PUT /api/places/{name}: a place set where it stands now; other names are 404."""
        raw = request.match_info["name"]
        if raw not in PLACE_NAMES:
            raise NotFound(f"no place {raw!r}: the places are {', '.join(PLACE_NAMES)}")
        body = await read_body(request, PlaceIn)
        return json_response(await self._places.put(PlaceName(raw), body.x, body.y))

    async def robot_command(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, CommandIn)
        command_id = await self._restaurant.command(
            request.match_info["id"], body.command, body.table_id, body.order_id)
        return json_response({"id": command_id}, 202)

    async def forget_robot(self, request: web.Request, caller: Caller) -> web.Response:
        await self._restaurant.forget_robot(request.match_info["id"])
        return web.Response(status=204)

    async def create_task(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, TaskIn)
        task = await self._dispatcher.create(
            body.kind, table_id=body.table_id, order_ids=body.order_ids,
            robot_id=body.robot_id, priority=body.priority)
        return json_response(task, 201)

    async def update_task(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, TaskPatch)
        task = await self._dispatcher.change(
            path_id(request), priority=body.priority, robot_id=body.robot_id,
            set_robot="robot_id" in body.model_fields_set)
        return json_response(task)

    async def cancel_task(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._dispatcher.cancel(path_id(request)))

    async def create_menu_item(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, MenuItemIn)
        dish = await self._menu.add(body.name, body.dish())
        return json_response(dish, 201)

    async def update_menu_item(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, MenuItemPatch)
        return json_response(await self._menu.change(path_id(request), body.changes()))

    async def delete_menu_item(self, request: web.Request, caller: Caller) -> web.Response:
        await self._menu.remove(path_id(request))
        return web.Response(status=204)

    async def prep_times(self, request: web.Request, caller: Caller) -> web.Response:
        """Today's station times, for the expo (anyone who may read orders)."""
        return json_response(await self._daybook.station_prep())

"""The REST API (docs/api.md): thin handlers that read a body, check the role and call the
domain; domain errors become HTTP errors in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from aiohttp import web
from pydantic import BaseModel

from ..core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    StorageUnavailable,
    Unauthorized,
)
from ..core.models import OrderItem
from ..core.roles import READABLE, REPORT_ROLES, WRITABLE, Scope
from ..core.text import ascii_int
from ..core.topics import TOPIC_NAMES, Topic
from ..domain.dispatch import Dispatcher
from ..domain.daybook import Daybook
from ..domain.menu import Menu
from ..domain.restaurant import Restaurant
from ..live.hub import Hub
from ..wire.robot import SQLITE_MAX_INT
from .auth import Auth
from .bodies import (
    CommandIn,
    CustomerIn,
    CustomerPatch,
    InventoryIn,
    InventoryPatch,
    MenuItemIn,
    MenuItemPatch,
    OrderIn,
    OrderPatch,
    TableIn,
    TablePatch,
    TaskIn,
    TaskPatch,
    VideoStreamIn,
    VideoStreamPatch,
    read_body,
)

ERRORS: Final[dict[type[DomainError], tuple[int, str]]] = {
    Invalid: (400, "validation_error"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    StorageUnavailable: (503, "unavailable"),
}
HTTP_CODES: Final = {400: "validation_error", 404: "not_found", 405: "method_not_allowed",
                     413: "too_large", 415: "unsupported_media_type"}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             dumps=_dumps)


@web.middleware
async def api_errors(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
    """Every API error, domain or HTTP, leaves as {"error": {"code", "message"}}."""
    try:
        return await handler(request)
    except DomainError as err:
        status, code = next(v for k, v in ERRORS.items() if isinstance(err, k))
        return error_response(status, code, str(err))
    except web.HTTPException as err:
        if not request.path.startswith("/api/") or err.status not in HTTP_CODES:
            raise
        response = error_response(err.status, HTTP_CODES[err.status], err.reason)
        if "Allow" in err.headers:  # a 405 says which methods the URL takes (RFC 9110)
            response.headers["Allow"] = err.headers["Allow"]
        return response


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    row_id = ascii_int(raw)
    if row_id is None or row_id > SQLITE_MAX_INT:
        raise NotFound(f"no {raw!r} here")
    return row_id


def json_response(item: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    body = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
    return web.json_response(body, status=status, dumps=_dumps)


class Api:
    """The REST handlers, given the restaurant, the dispatcher, the hub and the auth they use."""

    def __init__(self, restaurant: Restaurant, menu: Menu, dispatcher: Dispatcher,
                 daybook: Daybook, hub: Hub, auth: Auth) -> None:
        self._restaurant = restaurant
        self._menu = menu
        self._daybook = daybook
        self._dispatcher = dispatcher
        self._hub = hub
        self._auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/me", self.whoami),
            web.get("/api/kitchen/prep_times", self.prep_times),
            web.get("/api/{topic}", self.read_topic),
            web.post("/api/orders", self.create_order),
            web.patch("/api/orders/{id}", self.update_order),
            web.post("/api/tables", self.create_table),
            web.patch("/api/tables/{id}", self.update_table),
            web.post("/api/customers", self.create_customer),
            web.patch("/api/customers/{id}", self.update_customer),
            web.delete("/api/customers/{id}", self.delete_customer),
            web.post("/api/inventory", self.create_inventory),
            web.patch("/api/inventory/{id}", self.update_inventory),
            web.post("/api/video_streams", self.create_video_stream),
            web.patch("/api/video_streams/{id}", self.update_video_stream),
            web.delete("/api/video_streams/{id}", self.delete_video_stream),
            web.post("/api/events/{id}/ack", self.acknowledge_event),
            web.post("/api/robots/{id}/commands", self.robot_command),
            web.post("/api/menu", self.create_menu_item),
            web.patch("/api/menu/{id}", self.update_menu_item),
            web.delete("/api/menu/{id}", self.delete_menu_item),
            web.post("/api/tasks", self.create_task),
            web.patch("/api/tasks/{id}", self.update_task),
            web.post("/api/tasks/{id}/cancel", self.cancel_task),
        ]

    async def whoami(self, request: web.Request) -> web.Response:
        """The caller's role and what it may do, so a page shows only the controls that work."""
        role = self._auth.require_role(request)
        return json_response({"role": role, "may_read": sorted(READABLE[role]),
                              "may_write": sorted(WRITABLE[role]),
                              "may_report": role in REPORT_ROLES})

    async def read_topic(self, request: web.Request) -> web.Response:
        topic = request.match_info["topic"]
        if topic not in TOPIC_NAMES:
            raise NotFound(f"unknown topic {topic!r}")
        self._auth.require_read(request, topic)
        items, seq = self._hub.snapshot(topic)
        return json_response({"items": items, "seq": seq, "epoch": self._hub.epoch})

    async def create_order(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.ORDERS)
        body = await read_body(request, OrderIn)
        items = [OrderItem(**item.model_dump()) for item in body.items]
        order = await self._restaurant.place_order(body.table_id, items, body.note,
                                                   body.priority)
        return json_response(order, 201)

    async def update_order(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.ORDERS)
        body = await read_body(request, OrderPatch)
        order = await self._restaurant.change_order(
            _id(request), status=body.status,
            items_done=[(item.index, item.done) for item in body.items] if body.items else None,
            robot_id=body.robot_id, set_robot="robot_id" in body.model_fields_set,
            priority=body.priority)
        return json_response(order)

    async def create_table(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.TABLES)
        body = await read_body(request, TableIn)
        table = await self._restaurant.add_table(body.label, body.seats, body.status,
                                                 body.x, body.y)
        return json_response(table, 201)

    async def update_table(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.TABLES)
        body = await read_body(request, TablePatch)
        return json_response(await self._restaurant.change_table(_id(request), body.changes()))

    async def create_customer(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.CUSTOMERS)
        body = await read_body(request, CustomerIn)
        customer = await self._restaurant.add_customer(body.name, body.party_size, body.phone,
                                                       body.status, body.table_id)
        return json_response(customer, 201)

    async def update_customer(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.CUSTOMERS)
        body = await read_body(request, CustomerPatch)
        return json_response(await self._restaurant.change_customer(_id(request), body.changes()))

    async def delete_customer(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.CUSTOMERS)
        await self._restaurant.remove_customer(_id(request))
        return web.Response(status=204)

    async def create_inventory(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.INVENTORY)
        body = await read_body(request, InventoryIn)
        item = await self._restaurant.add_inventory(
            body.sku, body.name, body.quantity, body.unit, body.low_threshold)
        return json_response(item, 201)

    async def update_inventory(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.INVENTORY)
        body = await read_body(request, InventoryPatch)
        changes = body.changes()
        delta = changes.pop("delta", None)
        return json_response(await self._restaurant.change_inventory(_id(request), changes, delta))

    async def create_video_stream(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.VIDEO_STREAMS)
        body = await read_body(request, VideoStreamIn)
        stream = await self._restaurant.add_video_stream(body.name, body.url, body.robot_id,
                                                         body.status)
        return json_response(stream, 201)

    async def update_video_stream(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.VIDEO_STREAMS)
        body = await read_body(request, VideoStreamPatch)
        return json_response(
            await self._restaurant.change_video_stream(_id(request), body.changes()))

    async def delete_video_stream(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.VIDEO_STREAMS)
        await self._restaurant.remove_video_stream(_id(request))
        return web.Response(status=204)

    async def acknowledge_event(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.EVENT_ACK)
        return json_response(await self._restaurant.acknowledge(_id(request)))

    async def robot_command(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.ROBOT_COMMANDS)
        body = await read_body(request, CommandIn)
        command_id = await self._restaurant.command(
            request.match_info["id"], body.command, body.table_id, body.order_id)
        return json_response({"id": command_id}, 202)

    async def create_task(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.TASKS)
        body = await read_body(request, TaskIn)
        task = await self._dispatcher.create(
            body.kind, table_id=body.table_id, order_ids=body.order_ids,
            robot_id=body.robot_id, priority=body.priority)
        return json_response(task, 201)

    async def update_task(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.TASKS)
        body = await read_body(request, TaskPatch)
        task = await self._dispatcher.change(
            _id(request), priority=body.priority, robot_id=body.robot_id,
            set_robot="robot_id" in body.model_fields_set)
        return json_response(task)

    async def cancel_task(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.TASKS)
        return json_response(await self._dispatcher.cancel(_id(request)))

    async def create_menu_item(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.MENU)
        body = await read_body(request, MenuItemIn)
        dish = await self._menu.add(body.name, body.category, body.station, body.prep_target_s,
                                    body.available)
        return json_response(dish, 201)

    async def update_menu_item(self, request: web.Request) -> web.Response:
        # The kitchen may 86 a dish (or bring it back), and change nothing else of it.
        self._auth.require_write(request, Scope.MENU_AVAILABLE)
        body = await read_body(request, MenuItemPatch)
        changes = body.changes()
        if set(changes) - {"available"}:
            self._auth.require_write(request, Scope.MENU)
        return json_response(await self._menu.change(_id(request), changes))

    async def delete_menu_item(self, request: web.Request) -> web.Response:
        self._auth.require_write(request, Scope.MENU)
        await self._menu.remove(_id(request))
        return web.Response(status=204)

    async def prep_times(self, request: web.Request) -> web.Response:
        """Today's station times, for the expo (anyone who may read orders)."""
        self._auth.require_read(request, Topic.ORDERS)
        return json_response(await self._daybook.station_prep())

"""The REST API of SPEC §5: a pydantic model per body, role checks, errors mapped in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import keys
from .auth import READABLE, WRITABLE, METRICS_ROLES, may_read, may_write, request_token
from .const import TOPICS
from .errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    StorageUnavailable,
    Unauthorized,
)
from .models import CustomerStatus, OrderItem, OrderStatus, Role, StreamStatus, TableStatus
from .robot_protocol import COMMANDS

MAX_BODY_BYTES: Final = 64 * 1024
# SQLite stores integers in 64 signed bits; a larger id names no row, and must not reach SQL
# (the driver raises OverflowError there, which would be a 500).
SQLITE_MAX_INT: Final = 2**63 - 1
RowId = Annotated[int, Field(ge=-SQLITE_MAX_INT - 1, le=SQLITE_MAX_INT)]

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
        return error_response(err.status, HTTP_CODES[err.status], err.reason)


# ---- who may do what ----

def role_of(request: web.Request) -> Role:
    role = request.app[keys.SETTINGS].auth.tokens.get(request_token(request) or "")
    if role is None:
        raise Unauthorized("missing or unknown token")
    return role


def require_read(request: web.Request, topic: str) -> None:
    role = role_of(request)
    if not may_read(role, topic):
        raise Forbidden(f"role {role} may not read {topic}")


def require_write(request: web.Request, scope: str) -> None:
    role = role_of(request)
    if not may_write(role, scope):
        raise Forbidden(f"role {role} may not write {scope}")


def require_metrics(request: web.Request) -> None:
    role = role_of(request)
    if role not in METRICS_ROLES:
        raise Forbidden(f"role {role} may not read metrics")


# ---- bodies ----

class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


B = TypeVar("B", bound=Body)


async def read_body(request: web.Request, model: type[B]) -> B:
    """The JSON body as `model`: 415 if not JSON, 413 over 64 KiB, 400 naming the bad field."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send the body as application/json")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES,
                                            actual_size=request.content_length or 0)
    raw = await request.read()
    try:
        decoded = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as err:
        raise Invalid(f"body: not valid JSON ({err})") from err
    try:
        return model.model_validate(decoded)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Invalid(f"{where}: {first['msg']}") from err


def changes(body: Body) -> dict[str, Any]:
    """The fields a PATCH actually sent, JSON-ready."""
    return body.model_dump(mode="json", exclude_unset=True)


class OrderItemIn(Body):
    name: str = Field(min_length=1, max_length=200)
    qty: int = Field(1, ge=1, le=999)
    note: str = Field("", max_length=500)
    modifiers: list[str] = Field([], max_length=20)


class OrderIn(Body):
    table_id: RowId
    items: list[OrderItemIn] = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=1000)


class ItemDone(Body):
    index: int
    done: bool


class OrderPatch(Body):
    status: OrderStatus = Field(None)  # type: ignore[assignment]
    items: list[ItemDone] | None = Field(None, max_length=100)
    robot_id: str | None = None


class TableIn(Body):
    label: str = Field(min_length=1, max_length=50)
    seats: int = Field(ge=1, le=100)
    status: TableStatus = TableStatus.AVAILABLE
    x: float | None = None
    y: float | None = None


class TablePatch(Body):
    label: str = Field(None, min_length=1, max_length=50)  # type: ignore[assignment]
    seats: int = Field(None, ge=1, le=100)  # type: ignore[assignment]
    status: TableStatus = Field(None)  # type: ignore[assignment]
    customer_id: RowId | None = None
    x: float | None = None
    y: float | None = None


class CustomerIn(Body):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field("", max_length=40)
    party_size: int = Field(1, ge=1, le=100)
    status: CustomerStatus = CustomerStatus.WAITING
    table_id: RowId | None = None


class CustomerPatch(Body):
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    phone: str = Field(None, max_length=40)  # type: ignore[assignment]
    party_size: int = Field(None, ge=1, le=100)  # type: ignore[assignment]
    status: CustomerStatus = Field(None)  # type: ignore[assignment]
    table_id: RowId | None = None


class InventoryIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    quantity: float = Field(ge=0)
    unit: str = Field("", max_length=20)
    low_threshold: float = Field(0, ge=0)


class InventoryPatch(Body):
    quantity: float = Field(None, ge=0)  # type: ignore[assignment]
    delta: float = Field(None)  # type: ignore[assignment]
    low_threshold: float = Field(None, ge=0)  # type: ignore[assignment]
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    unit: str = Field(None, max_length=20)  # type: ignore[assignment]


class VideoStreamIn(Body):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000)
    robot_id: str | None = None
    status: StreamStatus = StreamStatus.INACTIVE


class VideoStreamPatch(Body):
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    url: str = Field(None, min_length=1, max_length=2000)  # type: ignore[assignment]
    robot_id: str | None = None
    status: StreamStatus = Field(None)  # type: ignore[assignment]


class CommandIn(Body):
    command: Literal[COMMANDS]  # type: ignore[valid-type]
    table_id: RowId | None = None
    order_id: RowId | None = None


# ---- handlers ----

def _id(request: web.Request) -> int:
    try:
        row_id = int(request.match_info["id"])
    except ValueError:
        raise NotFound(f"no {request.match_info['id']!r} here") from None
    if not -SQLITE_MAX_INT - 1 <= row_id <= SQLITE_MAX_INT:
        raise NotFound(f"no {request.match_info['id']!r} here")
    return row_id


def _json(item: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    body = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
    return web.json_response(body, status=status, dumps=_dumps)


async def whoami(request: web.Request) -> web.Response:
    """The caller's role and what it may do, so a page shows only the controls that work."""
    role = role_of(request)
    return _json({"role": role, "may_read": sorted(READABLE[role]),
                  "may_write": sorted(WRITABLE[role])})


async def read_topic(request: web.Request) -> web.Response:
    topic = request.match_info["topic"]
    if topic not in TOPICS:
        raise NotFound(f"unknown topic {topic!r}")
    require_read(request, topic)
    hub = request.app[keys.HUB]
    items, seq = hub.snapshot(topic)
    return _json({"items": items, "seq": seq, "epoch": hub.epoch})


async def create_order(request: web.Request) -> web.Response:
    require_write(request, "orders")
    body = await read_body(request, OrderIn)
    items = [OrderItem(**item.model_dump()) for item in body.items]
    order = await request.app[keys.RESTAURANT].place_order(body.table_id, items, body.note)
    return _json(order, 201)


async def update_order(request: web.Request) -> web.Response:
    require_write(request, "orders")
    body = await read_body(request, OrderPatch)
    sent = body.model_fields_set
    order = await request.app[keys.RESTAURANT].change_order(
        _id(request), status=body.status,
        items_done=[(item.index, item.done) for item in body.items] if body.items else None,
        robot_id=body.robot_id, set_robot="robot_id" in sent)
    return _json(order)


async def create_table(request: web.Request) -> web.Response:
    require_write(request, "tables")
    body = await read_body(request, TableIn)
    table = await request.app[keys.RESTAURANT].add_table(body.label, body.seats, body.status,
                                                          body.x, body.y)
    return _json(table, 201)


async def update_table(request: web.Request) -> web.Response:
    require_write(request, "tables")
    body = await read_body(request, TablePatch)
    return _json(await request.app[keys.RESTAURANT].change_table(_id(request), changes(body)))


async def create_customer(request: web.Request) -> web.Response:
    require_write(request, "customers")
    body = await read_body(request, CustomerIn)
    return _json(await request.app[keys.RESTAURANT].add_customer(body.model_dump(mode="json")), 201)


async def update_customer(request: web.Request) -> web.Response:
    require_write(request, "customers")
    body = await read_body(request, CustomerPatch)
    return _json(await request.app[keys.RESTAURANT].change_customer(_id(request), changes(body)))


async def delete_customer(request: web.Request) -> web.Response:
    require_write(request, "customers")
    await request.app[keys.RESTAURANT].remove_customer(_id(request))
    return web.Response(status=204)


async def create_inventory(request: web.Request) -> web.Response:
    require_write(request, "inventory")
    body = await read_body(request, InventoryIn)
    item = await request.app[keys.RESTAURANT].add_inventory(
        body.sku, body.name, body.quantity, body.unit, body.low_threshold)
    return _json(item, 201)


async def update_inventory(request: web.Request) -> web.Response:
    require_write(request, "inventory")
    body = await read_body(request, InventoryPatch)
    sent = changes(body)
    item = await request.app[keys.RESTAURANT].change_inventory(
        _id(request), quantity=sent.pop("quantity", None), delta=sent.pop("delta", None),
        low_threshold=sent.pop("low_threshold", None), other=sent)
    return _json(item)


async def create_video_stream(request: web.Request) -> web.Response:
    require_write(request, "video_streams")
    body = await read_body(request, VideoStreamIn)
    stream = await request.app[keys.RESTAURANT].add_video_stream(body.model_dump(mode="json"))
    return _json(stream, 201)


async def update_video_stream(request: web.Request) -> web.Response:
    require_write(request, "video_streams")
    body = await read_body(request, VideoStreamPatch)
    return _json(await request.app[keys.RESTAURANT].change_video_stream(_id(request), changes(body)))


async def delete_video_stream(request: web.Request) -> web.Response:
    require_write(request, "video_streams")
    await request.app[keys.RESTAURANT].remove_video_stream(_id(request))
    return web.Response(status=204)


async def acknowledge_event(request: web.Request) -> web.Response:
    require_write(request, "event_ack")
    return _json(await request.app[keys.RESTAURANT].acknowledge(_id(request)))


async def robot_command(request: web.Request) -> web.Response:
    require_write(request, "robot_commands")
    body = await read_body(request, CommandIn)
    command_id = await request.app[keys.RESTAURANT].command(
        request.match_info["id"], body.command, body.table_id, body.order_id)
    return _json({"id": command_id}, 202)

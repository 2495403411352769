"""The store's tables as data: for each, how its rows are read and built, and what a change
may write. The reads and writes of rows.py are generic over these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import aiosqlite
import orjson
from pydantic import BaseModel

from ..core.calls import Call
from ..core.models import (
    Customer,
    CustomerStatus,
    Event,
    InventoryItem,
    Item,
    MenuItem,
    Order,
    OrderStatus,
    Robot,
    SystemLog,
    Task,
    TaskStatus,
    Table,
    VideoStream,
    Visit,
    stock_status,
)
from ..core.orders import CLOSED_ORDER_STATUSES
from ..core.stock import Ingredient, Stocked, cover
from ..core.tasks import FINISHED
from ..core.topics import Topic
from ..core.waitlist import IN_LINE
from .sqltext import sql_list

M = TypeVar("M", bound=Item)

JSON_COLUMNS = frozenset({"pose", "issues", "items", "data", "open_order_ids", "stops",
                          "rejected_by", "names", "descriptions", "allergens", "options",
                          "order_ids", "bill", "payments", "recipe", "stock"})

# The closed and finished statuses as SQL lists, from the one place that says which they are,
# and the others: a snapshot asks for "open, or closed lately" as two index ranges of
# (status, time); "NOT IN closed OR time >= ?" scanned every order of the year.
CLOSED_SQL: Final = sql_list(CLOSED_ORDER_STATUSES)
OPEN_SQL: Final = sql_list(set(OrderStatus) - CLOSED_ORDER_STATUSES)
FINISHED_SQL: Final = sql_list(FINISHED)
UNFINISHED_SQL: Final = sql_list(set(TaskStatus) - FINISHED)
IN_LINE_SQL: Final = sql_list(IN_LINE)
OUT_OF_LINE_SQL: Final = sql_list(set(CustomerStatus) - IN_LINE)


def decoded(row: aiosqlite.Row) -> dict[str, Any]:
    """A row as a record, its JSON columns parsed."""
    record = dict(row)
    for key in JSON_COLUMNS.intersection(record):
        if record[key] is not None:
            record[key] = orjson.loads(record[key])
    return record


def encoded(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as SQLite takes them: the JSON columns as text."""
    return {key: json(value) if key in JSON_COLUMNS else value for key, value in values.items()}


def json(value: Any) -> str | None:
    """The value as JSON text: a model as its JSON dump; a dict's keys may be enums (a
    dish's names by language)."""
    if value is None:
        return None
    return orjson.dumps(value, default=_dumped, option=orjson.OPT_NON_STR_KEYS).decode()


def _dumped(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _inventory(record: dict[str, Any]) -> InventoryItem:
    record["status"] = stock_status(record["quantity"], record["low_threshold"])
    return InventoryItem.model_validate(record)


def _menu(record: dict[str, Any]) -> MenuItem:
    """A dish, sold out or not by what the stock (read with it) covers of its recipe."""
    stock = {sku: Stocked(quantity, name)
             for sku, (quantity, name) in (record.pop("stock") or {}).items()}
    covered = cover([Ingredient.model_validate(line) for line in record["recipe"]], stock)
    record["sold_out"] = covered.sold_out
    record["sold_out_reason"] = covered.reason
    return MenuItem.model_validate(record)


def _customer(record: dict[str, Any]) -> Customer:
    """A party with its page's path for a link (the row keeps only the code)."""
    code = record.pop("code", None)
    record["link"] = f"/w/{code}" if code else None
    return Customer.model_validate(record)


def _visit(record: dict[str, Any]) -> Visit:
    record["check"] = record.pop("bill")
    return Visit.model_validate(record)


@dataclass(frozen=True)
class Entity(Generic[M]):
    """One table of items: its topic, how its rows are selected and built, what may change."""

    topic: Topic
    table: str
    build: Callable[[dict[str, Any]], M]
    # The columns a PATCH may change; anything else never reaches SQL.
    updatable: frozenset[str] = frozenset()
    # Whether a change stamps updated_at.
    stamped: bool = False
    # The SELECT of its records, when they are more than the table's columns.
    select: str = ""

    @property
    def selected(self) -> str:
        return self.select or f"SELECT * FROM {self.table}"


ROBOTS: Final = Entity(Topic.ROBOTS, "robots", Robot.model_validate)
TABLES: Final = Entity(
    Topic.TABLES, "dining_tables", Table.model_validate,
    frozenset({"label", "seats", "status", "customer_id", "x", "y"}), stamped=True,
    select=f"""
        SELECT t.*, (
            SELECT json_group_array(o.id) FROM orders o
            WHERE o.table_id = t.id AND o.status IN ({OPEN_SQL})
        ) AS open_order_ids
        FROM dining_tables t
    """)
ORDERS: Final = Entity(
    Topic.ORDERS, "orders", Order.model_validate,
    frozenset({"status", "priority", "items", "note", "robot_id", "task_id", "ready_at",
               "served_at"}), stamped=True)
MENU: Final = Entity(
    Topic.MENU, "menu", _menu,
    frozenset({"name", "category", "station", "prep_target_s", "available", "price", "names",
               "descriptions", "allergens", "options", "position", "recipe", "image"}),
    # With each dish, what the stock holds of its recipe's skus: {sku: [quantity, name]}.
    select="""
        SELECT m.*, (
            SELECT json_group_object(i.sku, json_array(i.quantity, i.name)) FROM inventory i
            WHERE i.sku IN (SELECT json_extract(r.value, '$.sku') FROM json_each(m.recipe) r)
        ) AS stock
        FROM menu m
    """)
TASKS: Final = Entity(
    Topic.TASKS, "tasks", Task.model_validate,
    frozenset({"status", "priority", "robot_id", "pinned", "stops", "detail", "command_id",
               "rejected_by", "assigned_at", "started_at", "finished_at"}))
CUSTOMERS: Final = Entity(
    Topic.CUSTOMERS, "customers", _customer,
    frozenset({"name", "phone", "party_size", "status", "table_id", "note", "called_at",
               "seated_at", "visit_id"}), stamped=True)
INVENTORY: Final = Entity(
    Topic.INVENTORY, "inventory", _inventory,
    frozenset({"name", "quantity", "unit", "low_threshold"}))
VIDEO_STREAMS: Final = Entity(
    Topic.VIDEO_STREAMS, "video_streams", VideoStream.model_validate,
    frozenset({"name", "robot_id", "url", "status"}), stamped=True)
VISITS: Final = Entity(
    Topic.VISITS, "visits", _visit, frozenset({"status", "closed_at", "bill"}),
    select="""
        SELECT v.*, (
            SELECT json_group_array(o.id) FROM (
                SELECT id FROM orders WHERE visit_id = v.id ORDER BY id) o
        ) AS order_ids, (
            SELECT json_group_array(json_object(
                'id', p.id, 'amount', p.amount, 'method', p.method,
                'reference', p.reference, 'created_at', p.created_at)) FROM (
                SELECT * FROM payments WHERE visit_id = v.id ORDER BY id) p
        ) AS payments
        FROM visits v
    """)
CALLS: Final = Entity(
    Topic.CALLS, "calls", Call.model_validate,
    frozenset({"status", "visit_id", "task_id", "answered_at"}))
EVENTS: Final = Entity(Topic.EVENTS, "events", Event.model_validate)
SYSTEMLOGS: Final = Entity(Topic.SYSTEMLOGS, "systemlogs", SystemLog.model_validate)

# The state topics whose items have integer ids (robots have names).
NUMBERED: Final[Mapping[Topic, Entity[Any]]] = {
    entity.topic: entity
    for entity in (TABLES, ORDERS, MENU, TASKS, CUSTOMERS, INVENTORY, VIDEO_STREAMS, VISITS,
                   CALLS)}

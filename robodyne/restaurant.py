"""The restaurant's rules behind every staff write: commit, then broadcast, then raise events."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
from typing import Any, Final

from .errors import Conflict, Invalid, NotFound
from .fleet import Fleet
from .hub import Hub
from .journal import Journal
from .models import (
    CLOSED_ORDER_STATUSES,
    Customer,
    CustomerStatus,
    Event,
    InventoryItem,
    Item,
    Order,
    OrderItem,
    OrderStatus,
    StockStatus,
    Table,
    TableStatus,
    VideoStream,
    stock_status,
    utcnow,
)
from .storage import Store

log = logging.getLogger(__name__)

S = OrderStatus
# SPEC §2: the only moves an order may make.
TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    S.PLACED: frozenset({S.PREPARING, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY, S.PLACED, S.CANCELLED}),
    S.READY: frozenset({S.DELIVERING, S.SERVED, S.PREPARING, S.CANCELLED}),
    S.DELIVERING: frozenset({S.SERVED, S.READY, S.CANCELLED}),
    S.SERVED: frozenset(),
    S.CANCELLED: frozenset(),
}
ORDER_EVENTS: Final = {S.READY: "order_ready", S.SERVED: "order_served"}


class Restaurant:
    """Orders, tables, customers, inventory, video streams, event acks and robot commands."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, fleet: Fleet) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._fleet = fleet
        # Each rule below reads a row, decides, then writes it, with awaits in between. Without
        # these, two tablets bumping one order (or two deltas on one stock line) at the same
        # moment would both decide on the same old row: a served order cancelled, a count lost.
        self._orders_lock = asyncio.Lock()
        self._inventory_lock = asyncio.Lock()
        self._seating_lock = asyncio.Lock()

    def _publish(self, topic: str, item: Item) -> None:
        self._hub.publish(topic, "upsert", [item.model_dump(mode="json")])

    async def _publish_table(self, table_id: int | None) -> None:
        table = await self._store.table(table_id) if table_id is not None else None
        if table is not None:
            self._publish("tables", table)

    async def _table(self, table_id: int, field: str = "table_id") -> Table:
        table = await self._store.table(table_id)
        if table is None:
            raise Invalid(f"{field}: there is no table {table_id}")
        return table

    # ---- orders ----

    async def place_order(self, table_id: int, items: list[OrderItem], note: str) -> Order:
        table = await self._table(table_id)
        order = await self._store.add_order(table_id, items, note)
        self._publish("orders", order)
        await self._publish_table(table_id)
        await self._journal.event(
            "order_placed", message=f"order {order.id} for table {table.label}",
            data={"order_id": order.id, "table_id": table_id})
        return order

    async def change_order(self, order_id: int, *, status: OrderStatus | None = None,
                           items_done: list[tuple[int, bool]] | None = None,
                           robot_id: str | None = None, set_robot: bool = False) -> Order:
        async with self._orders_lock:
            return await self._change_order(order_id, status=status, items_done=items_done,
                                            robot_id=robot_id, set_robot=set_robot)

    async def _change_order(self, order_id: int, *, status: OrderStatus | None,
                            items_done: list[tuple[int, bool]] | None,
                            robot_id: str | None, set_robot: bool) -> Order:
        order = await self._store.order(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        if order.status in CLOSED_ORDER_STATUSES:
            raise Conflict(f"order {order_id} is {order.status}: it can no longer change")
        changes: dict[str, Any] = {}
        moved = status is not None and status != order.status
        if status is not None and moved:
            if status not in TRANSITIONS[order.status]:
                raise Conflict(f"order {order_id} cannot move from {order.status} to {status}")
            changes["status"] = status.value
            if status is S.READY:
                changes["ready_at"] = utcnow()
            elif status is S.PREPARING:
                changes["ready_at"] = None  # recalled: no longer ready
            elif status is S.SERVED:
                changes["served_at"] = utcnow()
        if items_done:
            items = [item.model_dump() for item in order.items]
            for index, done in items_done:
                if not 0 <= index < len(items):
                    raise Invalid(f"items.index: order {order_id} has no item {index}")
                items[index]["done"] = done
            changes["items"] = items
        if set_robot:
            if robot_id is not None and robot_id not in self._fleet.robots:
                raise Invalid(f"robot_id: there is no robot {robot_id}")
            changes["robot_id"] = robot_id
        if changes:
            await self._store.update("orders", order_id, changes)
        updated = await self._store.order(order_id)
        assert updated is not None
        if changes:
            self._publish("orders", updated)
        if moved and updated.status in CLOSED_ORDER_STATUSES:
            await self._publish_table(updated.table_id)
        if moved and updated.status in ORDER_EVENTS:
            await self._journal.event(
                ORDER_EVENTS[updated.status], message=f"order {order_id} is {updated.status}",
                data={"order_id": order_id, "table_id": updated.table_id,
                      "robot_id": updated.robot_id})
        return updated

    async def delivered(self, order_id: int, robot_id: str | None) -> None:
        """A robot's delivered event closes its order, if the order was on its way."""
        async with self._orders_lock:
            order = await self._store.order(order_id)
            if order is None or order.status not in (S.READY, S.DELIVERING):
                log.warning("robot %s delivered order %s, which is %s: left as it is", robot_id,
                            order_id, order.status if order else "unknown")
                return
            await self._change_order(order_id, status=S.SERVED, items_done=None,
                                     robot_id=robot_id, set_robot=robot_id is not None)

    # ---- tables and customers ----

    async def add_table(self, label: str, seats: int, status: TableStatus,
                        x: float | None, y: float | None) -> Table:
        table = await self._store.add_table(label, seats, status.value, x, y)
        self._publish("tables", table)
        return table

    async def change_table(self, table_id: int, changes: dict[str, Any]) -> Table:
        if changes.get("customer_id") is not None and not await self._store.customer(
                changes["customer_id"]):
            raise Invalid(f"customer_id: there is no customer {changes['customer_id']}")
        if changes and not await self._store.update("dining_tables", table_id, changes):
            raise NotFound(f"table {table_id} not found")
        table = await self._store.table(table_id)
        if table is None:
            raise NotFound(f"table {table_id} not found")
        self._publish("tables", table)
        return table

    async def add_customer(self, fields: dict[str, Any]) -> Customer:
        async with self._seating_lock:
            if fields.get("table_id") is not None:
                await self._table(fields["table_id"])
            customer = await self._store.add_customer(**fields)
            self._publish("customers", customer)
            await self._seat(customer)
            return customer

    async def change_customer(self, customer_id: int, changes: dict[str, Any]) -> Customer:
        async with self._seating_lock:
            before = await self._store.customer(customer_id)
            if before is None:
                raise NotFound(f"customer {customer_id} not found")
            if changes.get("table_id") is not None:
                await self._table(changes["table_id"])
            if changes and not await self._store.update("customers", customer_id, changes):
                raise NotFound(f"customer {customer_id} not found")
            customer = await self._store.customer(customer_id)
            if customer is None:
                raise NotFound(f"customer {customer_id} not found")
            self._publish("customers", customer)
            if before.status is CustomerStatus.SEATED and (
                    customer.status is not CustomerStatus.SEATED
                    or customer.table_id != before.table_id):
                # Moved to another table, or no longer seated: the old table is free.
                await self._seat(before.model_copy(update={"status": CustomerStatus.LEFT}))
            await self._seat(customer)
            return customer

    async def remove_customer(self, customer_id: int) -> None:
        async with self._seating_lock:
            customer = await self._store.customer(customer_id)
            if customer is None or not await self._store.delete("customers", customer_id):
                raise NotFound(f"customer {customer_id} not found")
            self._hub.publish("customers", "delete", [], ids=[customer_id])
            await self._seat(customer.model_copy(update={"status": CustomerStatus.LEFT}))

    async def _seat(self, customer: Customer) -> None:
        """Keep the table in step: seated makes it occupied; leaving makes it need cleaning."""
        if customer.table_id is None:
            return
        table = await self._store.table(customer.table_id)
        if table is None:
            return
        if customer.status is CustomerStatus.SEATED and table.customer_id != customer.id:
            await self.change_table(table.id, {"status": TableStatus.OCCUPIED.value,
                                               "customer_id": customer.id})
        elif customer.status is CustomerStatus.LEFT and table.customer_id == customer.id:
            await self.change_table(table.id, {"status": TableStatus.NEEDS_CLEANING.value,
                                               "customer_id": None})

    # ---- inventory ----

    async def add_inventory(self, sku: str, name: str, quantity: float, unit: str,
                            low_threshold: float) -> InventoryItem:
        try:
            item = await self._store.add_inventory(sku, name, quantity, unit, low_threshold)
        except sqlite3.IntegrityError as err:
            raise Conflict(f"sku {sku!r} already exists") from err
        self._publish("inventory", item)
        await self._stock_events(StockStatus.IN_STOCK, item)
        return item

    async def change_inventory(self, item_id: int, *, quantity: float | None = None,
                               delta: float | None = None, low_threshold: float | None = None,
                               other: dict[str, Any] | None = None) -> InventoryItem:
        async with self._inventory_lock:
            return await self._change_inventory(item_id, quantity, delta, low_threshold, other)

    async def _change_inventory(self, item_id: int, quantity: float | None, delta: float | None,
                                low_threshold: float | None,
                                other: dict[str, Any] | None) -> InventoryItem:
        item = await self._store.inventory_item(item_id)
        if item is None:
            raise NotFound(f"inventory item {item_id} not found")
        changes = dict(other or {})
        if quantity is not None and delta is not None:
            raise Invalid("delta: give quantity or delta, not both")
        if delta is not None:
            quantity = item.quantity + delta
            if not math.isfinite(quantity):
                raise Invalid(f"delta: {item.quantity:g} + {delta:g} is too large")
            if quantity < 0:
                raise Conflict(f"only {item.quantity:g}{' ' + item.unit if item.unit else ''}"
                               f" of {item.sku} left")
        if quantity is not None:
            changes["quantity"] = quantity
        if low_threshold is not None:
            changes["low_threshold"] = low_threshold
        if changes:
            await self._store.update("inventory", item_id, changes)
        updated = await self._store.inventory_item(item_id)
        assert updated is not None
        if changes:
            self._publish("inventory", updated)
        await self._stock_events(item.status, updated)
        return updated

    async def _stock_events(self, before: StockStatus, item: InventoryItem) -> None:
        """Raise inventory_low / inventory_out when the line is crossed, once per crossing."""
        after = stock_status(item.quantity, item.low_threshold)
        if after == before or after is StockStatus.IN_STOCK:
            return
        if after is StockStatus.OUT_OF_STOCK:
            await self._journal.event(
                "inventory_out", severity="error", message=f"{item.name} is out of stock",
                data={"inventory_id": item.id, "sku": item.sku})
        elif before is StockStatus.IN_STOCK:
            await self._journal.event(
                "inventory_low", severity="warning",
                message=f"{item.name} is low: {item.quantity:g} {item.unit} left",
                data={"inventory_id": item.id, "sku": item.sku, "quantity": item.quantity})

    # ---- video streams ----

    async def add_video_stream(self, fields: dict[str, Any]) -> VideoStream:
        stream = await self._store.add_video_stream(**fields)
        self._publish("video_streams", stream)
        return stream

    async def change_video_stream(self, stream_id: int, changes: dict[str, Any]) -> VideoStream:
        if changes and not await self._store.update("video_streams", stream_id, changes):
            raise NotFound(f"video stream {stream_id} not found")
        stream = await self._store.video_stream(stream_id)
        if stream is None:
            raise NotFound(f"video stream {stream_id} not found")
        self._publish("video_streams", stream)
        return stream

    async def remove_video_stream(self, stream_id: int) -> None:
        if not await self._store.delete("video_streams", stream_id):
            raise NotFound(f"video stream {stream_id} not found")
        self._hub.publish("video_streams", "delete", [], ids=[stream_id])

    # ---- events and robots ----

    async def acknowledge(self, event_id: int) -> Event:
        event = await self._store.acknowledge_event(event_id)
        if event is None:
            raise NotFound(f"event {event_id} not found")
        self._publish("events", event)
        return event

    async def command(self, robot_id: str, name: str, table_id: int | None,
                      order_id: int | None) -> str:
        if robot_id not in self._fleet.robots:
            raise NotFound(f"robot {robot_id} not found")
        if table_id is not None:
            await self._table(table_id)
        if order_id is not None and await self._store.order(order_id) is None:
            raise Invalid(f"order_id: there is no order {order_id}")
        return self._fleet.send_command(robot_id, name, table_id, order_id)

"""The restaurant's rules behind every staff write: commit, then broadcast, then raise events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.models import (
    Command,
    Customer,
    CustomerChanges,
    CustomerStatus,
    Event,
    Item,
    Order,
    OrderChanges,
    OrderLine,
    OrderPriority,
    OrderSource,
    OrderStatus,
    Table,
    TableChanges,
    TableStatus,
    Visit,
    utcnow,
)
from ..core.floor import Point
from ..core.orders import CLOSED_ORDER_STATUSES, TRANSITIONS, OrderWatcher, gives_back
from ..core.stock import skus
from ..core.tasks import CARRIABLE_ORDER_STATUSES, place_fields, stop_fields
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store
from ..store.tables import Removal
from .fleet import Fleet
from .journal import Journal
from .menu import Menu
from .places import Places
from .stock import Stock
from .visits import Visits

log = logging.getLogger(__name__)

S = OrderStatus
ORDER_EVENTS: Final = {S.READY: "order_ready", S.SERVED: "order_served"}
# A table staff set to one of these has no party at it any more.
FREED: Final = frozenset({TableStatus.AVAILABLE, TableStatus.NEEDS_CLEANING})


class Restaurant:
    """Orders, tables, customers, event acks and robot commands."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, fleet: Fleet,
                 menu: Menu, visits: Visits, stock: Stock, places: Places) -> None:
        self._store = store
        self._places = places
        self._hub = hub
        self._journal = journal
        self._fleet = fleet
        self._menu = menu
        self._visits = visits
        self._stock = stock
        # Each rule below reads a row, decides, then writes it, with awaits in between. Without
        # these, two tablets bumping one order at the same moment would both decide on the same
        # old row: a served order cancelled.
        self._orders_lock = asyncio.Lock()
        self._seating_lock = asyncio.Lock()
        self.order_watchers: list[OrderWatcher] = []
        # The tables topic's seq, and the positions read from it then.
        self._positions: tuple[int, dict[int, Point]] = (-1, {})

    def _publish(self, topic: Topic, item: Item) -> None:
        self._hub.publish(topic, "upsert", [item.model_dump(mode="json")])

    async def _publish_table(self, table_id: int | None) -> None:
        table = await self._store.table(table_id) if table_id is not None else None
        if table is not None:
            self._publish(Topic.TABLES, table)

    async def _table(self, table_id: int, field: str = "table_id") -> Table:
        table = await self._store.table(table_id)
        if table is None:
            raise Invalid(f"{field}: there is no table {table_id}")
        return table

    # ---- orders ----

    async def place_order(self, table_id: int, lines: list[OrderLine], note: str,
                          priority: OrderPriority = OrderPriority.NORMAL, *,
                          guest_from: int | None = None) -> Order:
        """A new order, each line routed to its station and priced (domain/menu.py), of the
        table's open visit (opened by this order when there is none, domain/visits.py); a dish
        that is 86 refuses it (409), so does a table out of service (409 table_closed), and
        one the stock cannot make (409 sold_out: its portions' ingredients are taken with it,
        in its own transaction, domain/stock.py).
        `guest_from`: a guest's order, of their session's visit (from that visit id on)."""
        table = await self._table(table_id)
        items = await self._menu.route(lines)
        portions = await self._menu.portions(items)
        await self._stock.check(portions)
        source = OrderSource.STAFF if guest_from is None else OrderSource.GUEST

        async def add(visit_id: int) -> Order:
            return await self._store.add_order(table_id, items, note, priority, source,
                                               visit_id, portions)
        if guest_from is not None:
            order = await self._visits.add_guest_order(table_id, guest_from, add)
        else:
            order = await self._visits.add_order(table_id, add)
        self._publish(Topic.ORDERS, order)
        await self._stock.settle(skus(portions))
        await self._visits.order_placed(order)
        await self._publish_table(table_id)
        await self._journal.event(
            "order_placed", message=f"order {order.id} for table {table.label}",
            data={"order_id": order.id, "table_id": table_id})
        return order

    async def change_order(self, order_id: int, *, status: OrderStatus | None = None,
                           items_done: list[tuple[int, bool]] | None = None,
                           robot_id: str | None = None, set_robot: bool = False,
                           task_id: int | None = None, set_task: bool = False,
                           priority: OrderPriority | None = None,
                           by_dispatch: bool = False,
                           only_if: Callable[[Order], None] | None = None) -> Order:
        """Move or change an order; its watchers hear of a move once the lock is let go (the
        dispatcher, told, may move orders itself). `only_if` sees the order as it is under
        the lock, and raises to refuse the change."""
        async with self._orders_lock:
            before, updated = await self._change_order(
                order_id, status=status, items_done=items_done, robot_id=robot_id,
                set_robot=set_robot, task_id=task_id, set_task=set_task, priority=priority,
                only_if=only_if)
        if updated.status != before and self.order_watchers:
            for watcher in self.order_watchers:
                await watcher(before, updated, by_dispatch)
            # A watcher may have put it on a task: answer with the order as it now is.
            updated = await self._store.order(order_id) or updated
        return updated

    async def _change_order(self, order_id: int, *, status: OrderStatus | None,
                            items_done: list[tuple[int, bool]] | None,
                            robot_id: str | None, set_robot: bool, task_id: int | None = None,
                            set_task: bool = False, priority: OrderPriority | None = None,
                            only_if: Callable[[Order], None] | None = None
                            ) -> tuple[OrderStatus, Order]:
        order = await self._store.order(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        if only_if is not None:
            only_if(order)
        if order.status in CLOSED_ORDER_STATUSES:
            raise Conflict(f"order {order_id} is {order.status}: it can no longer change")
        changes: OrderChanges = {}
        if status is None and order.status is S.PLACED and any(done for _, done in
                                                               items_done or ()):
            status = S.PREPARING  # the first item crossed off starts the ticket
        moved = status is not None and status != order.status
        if status is not None and moved:
            if status not in TRANSITIONS[order.status]:
                raise Conflict(f"order {order_id} cannot move from {order.status} to {status}")
            changes["status"] = status
            if status is S.READY and order.status is not S.DELIVERING:
                # Back from a robot that did not deliver it, it has been ready all along.
                changes["ready_at"] = utcnow()
            elif status is S.PREPARING:
                changes["ready_at"] = None  # recalled: no longer ready
            elif status is S.SERVED:
                changes["served_at"] = utcnow()
        if items_done:
            items = [item.model_copy() for item in order.items]
            now = utcnow()
            for index, done in items_done:
                if not 0 <= index < len(items):
                    raise Invalid(f"items.index: order {order_id} has no item {index}")
                if items[index].done != done:
                    items[index].done = done
                    items[index].done_at = now if done else None
            changes["items"] = items
        if set_robot:
            self._fleet.check_robot_id(robot_id)
            changes["robot_id"] = robot_id
        if set_task:
            changes["task_id"] = task_id
        if priority is not None and priority is not order.priority:
            changes["priority"] = priority
        # Cancelled before anything of it was cooked: what it took goes back, in the same
        # transaction as the cancel.
        give_back = gives_back(order, changes.get("status"))
        updated = await self._store.update_order(order_id, changes, give_back=give_back)
        assert updated is not None  # orders are never deleted
        if changes:
            self._publish(Topic.ORDERS, updated)
        if give_back:
            await self._stock.settle(await self._store.stock.order_skus(order_id))
        if moved and updated.status in CLOSED_ORDER_STATUSES:
            await self._publish_table(updated.table_id)
        if moved and updated.status in ORDER_EVENTS:
            await self._journal.event(
                ORDER_EVENTS[updated.status], message=f"order {order_id} is {updated.status}",
                data={"order_id": order_id, "table_id": updated.table_id,
                      "robot_id": updated.robot_id})
        return order.status, updated

    async def carrier(self, order_id: int) -> str | None:
        """The robot the order is on, by its robot_id (None for no such order)."""
        order = await self._store.order(order_id)
        return order.robot_id if order is not None else None

    async def delivered(self, order_id: int, robot_id: str | None) -> None:
        """A robot's delivered event closes its order, if the order was on its way."""
        async with self._orders_lock:
            order = await self._store.order(order_id)
            if order is None or order.status not in CARRIABLE_ORDER_STATUSES:
                log.warning("robot %s delivered order %s, which is %s: left as it is", robot_id,
                            order_id, order.status if order else "unknown")
                return
            if robot_id is not None and order.robot_id != robot_id:
                # A robot serves only what it carries; an integration peer may say it of any.
                raise Forbidden(f"order {order_id} is not on {robot_id}")
            before, updated = await self._change_order(
                order_id, status=S.SERVED, items_done=None, robot_id=robot_id,
                set_robot=robot_id is not None)
        for watcher in self.order_watchers:
            await watcher(before, updated, False)

    # ---- tables and customers ----

    def table_positions(self) -> dict[int, Point]:
        """Where each table stands (those without a position left out), as the tables topic
        has it: a table another program moved (notify, polling) too. Read again only after
        the topic changed, since the dispatcher asks on every decision. (Its first decision
        comes after the hub was primed at start, which leaves seq as it is.)"""
        if self._hub.seq(Topic.TABLES) != self._positions[0]:
            tables, seq = self._hub.snapshot(Topic.TABLES)
            self._positions = (seq, {table["id"]: (float(table["x"]), float(table["y"]))
                                     for table in tables
                                     if table["x"] is not None and table["y"] is not None})
        return self._positions[1]

    async def add_table(self, label: str, seats: int, status: TableStatus,
                        x: float | None, y: float | None) -> Table:
        table = await self._store.add_table(label, seats, status, x, y)
        self._publish(Topic.TABLES, table)
        return table

    async def change_table(self, table_id: int, changes: TableChanges) -> Table:
        customer_id = changes.get("customer_id")
        if customer_id is not None and not await self._store.customer(customer_id):
            raise Invalid(f"customer_id: there is no customer {customer_id}")
        status = changes.get("status")
        if status in FREED and await self._store.table(table_id) is not None:
            # The party has gone: its visit ends, refused while it owes (SPEC §12.3); a table
            # left needing cleaning is bussed.
            await self._visits.close_for_table(
                table_id, bus=status is TableStatus.NEEDS_CLEANING)
            # As close_visit leaves it: no party at a table that has gone free.
            changes = {"customer_id": None, **changes}
        table = await self._store.update_table(table_id, changes)
        if table is None:
            raise NotFound(f"table {table_id} not found")
        self._publish(Topic.TABLES, table)
        return table

    async def remove_table(self, table_id: int) -> None:
        """The table gone from the floor (its link and guest sessions with it); refused while a
        visit is open at it."""
        removal = await self._store.floor.remove(table_id)
        if removal is Removal.MISSING:
            raise NotFound(f"table {table_id} not found")
        if removal is Removal.OPEN_VISIT:
            raise Conflict(f"table {table_id} has an open visit: close it first")
        self._hub.publish(Topic.TABLES, "delete", [], ids=[table_id])

    async def close_visit(self, visit_id: int) -> Visit:
        """The party paid and left (SPEC §12.3): the visit closed (409 check_open while it
        owes), its table left needing cleaning (and bussed, domain/dispatch.py) with no party
        at it."""
        visit = await self._visits.end(visit_id)
        table = await self._store.update_table(visit.table_id,
                                               {"status": TableStatus.NEEDS_CLEANING,
                                                "customer_id": None})
        if table is not None:
            self._publish(Topic.TABLES, table)
        return visit

    async def add_customer(self, name: str, party_size: int, phone: str,
                           status: CustomerStatus, table_id: int | None,
                           **waitlist: Any) -> Customer:
        """`waitlist`: a party's note, quote and page code (domain/waitlist.py)."""
        async with self._seating_lock:
            if table_id is not None:
                await self._table(table_id)
            customer = await self._store.add_customer(name, party_size, phone, status, table_id,
                                                      **waitlist)
            self._publish(Topic.CUSTOMERS, customer)
            await self._seat(customer)
            return customer

    async def change_customer(self, customer_id: int, changes: CustomerChanges) -> Customer:
        async with self._seating_lock:
            before = await self._store.customer(customer_id)
            if before is None:
                raise NotFound(f"customer {customer_id} not found")
            table_id = changes.get("table_id")
            if table_id is not None:
                await self._table(table_id)
            customer = await self._store.update_customer(customer_id, changes)
            if customer is None:
                raise NotFound(f"customer {customer_id} not found")
            self._publish(Topic.CUSTOMERS, customer)
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
            if customer is None or not await self._store.delete_customer(customer_id):
                raise NotFound(f"customer {customer_id} not found")
            self._hub.publish(Topic.CUSTOMERS, "delete", [], ids=[customer_id])
            await self._seat(customer.model_copy(update={"status": CustomerStatus.LEFT}))

    async def _seat(self, customer: Customer) -> None:
        """Keep the table in step: seated makes it occupied; leaving makes it need cleaning."""
        if customer.table_id is None:
            return
        table = await self._store.table(customer.table_id)
        if table is None:
            return
        if customer.status is CustomerStatus.SEATED and table.customer_id != customer.id:
            await self.change_table(table.id, {"status": TableStatus.OCCUPIED,
                                               "customer_id": customer.id})
        elif customer.status is CustomerStatus.LEFT and table.customer_id == customer.id:
            await self.change_table(table.id, {"status": TableStatus.NEEDS_CLEANING,
                                               "customer_id": None})

    # ---- events and robots ----

    async def acknowledge(self, event_id: int) -> Event:
        event = await self._store.acknowledge_event(event_id)
        if event is None:
            raise NotFound(f"event {event_id} not found")
        self._publish(Topic.EVENTS, event)
        return event

    async def forget_robot(self, robot_id: str) -> None:
        """Remove a robot that is not connected (Fleet.forget)."""
        await self._fleet.forget(robot_id)

    async def command(self, robot_id: str, name: Command, table_id: int | None,
                      order_id: int | None) -> str:
        if not self._fleet.knows(robot_id):
            raise NotFound(f"robot {robot_id} not found")
        if table_id is not None:
            await self._table(table_id)
        order = await self._store.order(order_id) if order_id is not None else None
        if order_id is not None and order is None:
            raise Invalid(f"order_id: there is no order {order_id}")
        # Positions as a task's command has them, so a robot needs no map of its own.
        fields = place_fields(name, self._places.positions())
        if table_id is not None:
            orders = [] if order_id is None else [order_id]
            fields["stops"] = [stop_fields(table_id, orders, self.table_positions())]
        command_id = self._fleet.send_command(robot_id, name, table_id=table_id,
                                              order_id=order_id, **fields)
        carries = order is not None and order.status in CARRIABLE_ORDER_STATUSES
        if name is Command.DELIVER and order is not None and carries:
            # Staff chose this robot to carry it: from now on it is on this robot, which
            # may then say it delivered it.
            await self.change_order(order.id, robot_id=robot_id, set_robot=True)
        return command_id

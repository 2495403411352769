"""Visits (SPEC §12.1): a party's stay at one table, opened by staff seating it or by the
table's first order, holding every order placed there while it is open, and its check
(core/money.py) recomputed and republished whenever those orders change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Final

from ..core import money
from ..core.errors import (
    CheckOpen,
    ConstraintFailed,
    Conflict,
    Invalid,
    NotFound,
    Overpaid,
    RateLimited,
    TableClosed,
    VisitClosed,
)
from ..core.models import (
    Item,
    Order,
    OrderSource,
    OrderStatus,
    Payment,
    PaymentMethod,
    Table,
    TableStatus,
    Visit,
    VisitStatus,
    iso,
    utcnow,
)
from ..core.orders import OrderWatcher
from ..core.topics import Topic
from ..core.visits import opens_for
from ..live.hub import Hub
from ..settings import GuestSettings, RestaurantSettings
from ..store.store import Store

log = logging.getLogger(__name__)

# The window of guest.max_orders_per_10min.
GUEST_RATE_WINDOW: Final = timedelta(minutes=10)
# Told of each visit closed, after it is committed and published (its calls are cancelled),
# and whether its table needs clearing (a bus task).
VisitClosedWatcher = Callable[[Visit, bool], Awaitable[None]]


class Visits:
    """Visits opened, closed and kept in step with their orders: committed, then published."""

    def __init__(self, store: Store, hub: Hub, restaurant: RestaurantSettings,
                 guest: GuestSettings) -> None:
        self._store = store
        self._hub = hub
        self._terms = restaurant.terms()
        self._guest = guest
        self.on_close: list[VisitClosedWatcher] = []
        # Opening reads "has this table an open visit?" then writes one, with awaits between:
        # two tablets seating one table at once would both see none. The unique index would
        # refuse the second, but as a 409 decided here rather than by chance.
        self._lock = asyncio.Lock()
        self._watched: list[OrderWatcher] | None = None

    def _publish(self, topic: Topic, item: Item) -> None:
        self._hub.publish(topic, "upsert", [item.model_dump(mode="json")])

    async def load(self, order_watchers: list[OrderWatcher]) -> None:
        """Every open visit's check computed again (the restaurant's terms may have changed
        since it was saved); from now on it hears of every order that moves (until close)."""
        for visit in await self._store.open_visits():
            await self._recompute(visit.id, placed=False)
        order_watchers.append(self.order_moved)
        self._watched = order_watchers

    def close(self) -> None:
        """Stop hearing of orders: undoes load's registration."""
        if self._watched is not None:
            self._watched.remove(self.order_moved)
            self._watched = None

    async def open(self, table_id: int, party_size: int | None = None,
                   customer_id: int | None = None) -> Visit:
        """Seat a party: a new open visit, its table occupied. 409 when the table already has
        an open visit; 409 table_closed when it is out of service."""
        async with self._lock:
            table = await self._table(table_id)
            if customer_id is not None and await self._store.customer(customer_id) is None:
                raise Invalid(f"customer_id: there is no customer {customer_id}")
            if await self._store.open_visit(table_id) is not None:
                raise Conflict(f"table {table.label} already has an open visit")
            if not opens_for(OrderSource.STAFF, table.status):
                raise TableClosed(f"table {table.label} is {table.status}")
            visit, occupied = await self._open(table, party_size, customer_id)
            if occupied is not None:
                self._publish(Topic.TABLES, occupied)
            return visit

    async def add_order(self, table_id: int, add: Callable[[int], Awaitable[Order]]) -> Order:
        """`add` a staff order to the table's visit: its open one, else one opened now — on
        any table but one out of service (409 table_closed). Under the visits' lock, with the
        table read inside it: no close (and no change of the table) falls between the choice
        and the order. The table, occupied now, is the caller's to publish: with the order in
        its open_order_ids, one tables update rather than two."""
        async with self._lock:
            table = await self._table(table_id)
            visit = await self._store.open_visit(table.id)
            if visit is None:
                if not opens_for(OrderSource.STAFF, table.status):
                    raise TableClosed(f"table {table.label} is {table.status}")
                visit, _ = await self._open(table, None, None)
            return await add(visit.id)

    async def add_guest_order(self, table_id: int, first_visit_id: int,
                              add: Callable[[int], Awaitable[Order]]) -> Order:
        """`add` a guest's order to the visit of their session (SPEC §11.3): the table's
        first visit from `first_visit_id` on. Closed: 403 visit_closed. None yet: opened
        now on a free table when guests may seat themselves, else 409 table_closed. Past
        guest.max_orders_per_10min guest orders of the visit: 429, whichever phone or
        session sent them (counted in the database, under the lock)."""
        async with self._lock:
            table = await self._table(table_id)
            visit = await self._store.visit_from(table_id, first_visit_id)
            if visit is not None and visit.status is VisitStatus.CLOSED:
                raise VisitClosed("this visit has ended: scan the table's code again")
            if visit is None:
                if not (self._guest.self_seat and opens_for(OrderSource.GUEST, table.status)):
                    raise TableClosed(f"table {table.label} is {table.status}: please wait"
                                      " for the staff to seat you")
                visit, _ = await self._open(table, None, None)
            since = iso(datetime.now(timezone.utc) - GUEST_RATE_WINDOW)
            limit = self._guest.max_orders_per_10min
            if await self._store.guest_orders_since(visit.id, since) >= limit:
                raise RateLimited(f"at most {limit} orders from the table in 10 minutes:"
                                  " please ask the staff")
            return await add(visit.id)

    async def _table(self, table_id: int) -> Table:
        table = await self._store.table(table_id)
        if table is None:
            raise Invalid(f"table_id: there is no table {table_id}")
        return table

    async def _open(self, table: Table, party_size: int | None, customer_id: int | None
                    ) -> tuple[Visit, Table | None]:
        """A new visit, committed and published; the table made occupied (None if it was)."""
        try:
            visit = await self._store.add_visit(table.id, money.check([], self._terms),
                                                party_size, customer_id)
        except ConstraintFailed as err:  # another program opened one meanwhile
            raise Conflict(f"table {table.label} already has an open visit") from err
        self._publish(Topic.VISITS, visit)
        occupied = None
        if table.status is not TableStatus.OCCUPIED:
            occupied = await self._store.update_table(table.id, {"status": TableStatus.OCCUPIED})
        log.debug("visit %d opened at table %s", visit.id, table.label)
        return visit, occupied

    async def pay(self, visit_id: int, amount: int, method: PaymentMethod,
                  reference: str) -> Payment:
        """A payment of an open visit, from 1 up to what it owes (409 overpaid beyond); its
        check's paid and due follow, published with the visit."""
        async with self._lock:
            visit = await self._visit(visit_id)
            if visit.status is not VisitStatus.OPEN:
                raise Conflict(f"visit {visit_id} is closed")
            # From the payments as stored, not the saved check's due: a payment whose check
            # was not saved after it (the database refused that second write) still counts.
            due = visit.check.total - visit.paid()
            if amount > due:
                raise Overpaid(f"visit {visit_id} owes {due}: {amount} is more")
            payment = await self._store.add_payment(visit_id, amount, method, reference)
        await self._recompute(visit_id, placed=True)
        return payment

    async def end(self, visit_id: int) -> Visit:
        """Close the visit: the party has paid and gone (SPEC §12.3). 409 check_open while
        it owes anything, 409 once it is closed. The table's new status is the caller's."""
        async with self._lock:
            visit = await self._visit(visit_id)
            if visit.status is not VisitStatus.OPEN:
                raise Conflict(f"visit {visit_id} is closed already")
            closed = await self._closed(visit)
        await self._tell_closed(closed, bus=True)
        return closed

    async def close_for_table(self, table_id: int, *, bus: bool) -> Visit | None:
        """Close the table's open visit, if it has one (staff freed the table): 409
        check_open while it owes anything. The table's status is the caller's; `bus`: it
        needs clearing (a bus task, with dispatch.bus_on_close)."""
        async with self._lock:
            visit = await self._store.open_visit(table_id)
            if visit is None:
                return None
            closed = await self._closed(visit)
        await self._tell_closed(closed, bus=bus)
        return closed

    async def get(self, visit_id: int) -> Visit:
        """The visit as stored; 404 for none."""
        return await self._visit(visit_id)

    async def _visit(self, visit_id: int) -> Visit:
        visit = await self._store.visit(visit_id)
        if visit is None:
            raise NotFound(f"visit {visit_id} not found")
        return visit

    async def _closed(self, visit: Visit) -> Visit:
        """Under the lock: closed, committed and published, unless it owes (check_open)."""
        if visit.check.due > 0:
            raise CheckOpen(f"visit {visit.id} still owes {visit.check.due}"
                            f" {visit.check.currency}: record its payments first")
        closed = await self._store.update_visit(
            visit.id, {"status": VisitStatus.CLOSED, "closed_at": utcnow()})
        assert closed is not None  # visits are never deleted
        self._publish(Topic.VISITS, closed)
        return closed

    async def _tell_closed(self, closed: Visit, *, bus: bool) -> None:
        for watcher in list(self.on_close):
            await watcher(closed, bus)

    async def order_placed(self, order: Order) -> None:
        """A new order of a visit: it lists the order, and the check its lines."""
        if order.visit_id is not None:
            await self._recompute(order.visit_id, placed=True)

    async def order_moved(self, before: OrderStatus, order: Order, by_dispatch: bool) -> None:
        """An order of a visit cancelled: its lines leave the check. No other move changes
        a check (the kitchen's and the robots' moves cost it no read)."""
        if (order.visit_id is not None and order.status is OrderStatus.CANCELLED
                and before is not OrderStatus.CANCELLED):
            await self._recompute(order.visit_id, placed=False)

    async def _recompute(self, visit_id: int, *, placed: bool) -> None:
        """The visit's check from its orders now, saved when it changed; published then, or
        when an order was placed (the visit's order_ids changed even if its check did not)."""
        async with self._lock:
            visit = await self._store.visit(visit_id)
            if visit is None:
                log.warning("an order names visit %d, which is not there", visit_id)
                return
            lines = [line for order in await self._store.visit_orders(visit_id)
                     if order.status is not OrderStatus.CANCELLED
                     for line in money.check_lines(order.id, order.items)]
            check = money.check(lines, self._terms, visit.paid())
            if check != visit.check:
                visit = await self._store.update_visit(visit_id, {"check": check}) or visit
            elif not placed:
                return
            self._publish(Topic.VISITS, visit)

"""The waitlist (SPEC §12.4, docs/api.md, "Waitlist"): a party joins with a quote and its own
page's link, is called to the host stand, and is seated at a free table with a new visit — or
leaves, or never comes back (no_show). The table and visit rules stay the restaurant's and the
visits' (domain/restaurant.py, domain/visits.py); the quote's arithmetic is core/waitlist.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from ..core.errors import Conflict, Invalid, NotFound
from ..core.links import new_code
from ..core.models import (
    Customer,
    CustomerChanges,
    CustomerStatus,
    TableStatus,
    Visit,
    VisitStatus,
    iso,
    utcnow,
)
from ..core.waitlist import HISTORY, IN_LINE, FloorTable, InLine, Turn, quote_s
from ..settings import HostSettings
from ..store.store import Store
from .restaurant import Restaurant
from .visits import Visits

# Told of each party seated, with its new visit (with host.escort, the dispatcher: a robot
# leads the party to its table).
Seated = Callable[[Customer, Visit], Awaitable[None]]
# What a PATCH's status stamps, when it does not say the time itself.
STAMPS = {CustomerStatus.CALLED: "called_at", CustomerStatus.SEATED: "seated_at"}


class Waitlist:
    """Parties join, are called, seated, or leave: committed, then published (through the
    restaurant's customer writes)."""

    def __init__(self, store: Store, restaurant: Restaurant, visits: Visits,
                 host: HostSettings) -> None:
        self._store = store
        self._restaurant = restaurant
        self._visits = visits
        self._default_turn_s = host.default_turn_min * 60
        self.on_seated: list[Seated] = []
        # Call, seat and leave read a party's status, then write it: one at a time, or two
        # hosts seating one party at two tables would open two visits.
        self._lock = asyncio.Lock()

    async def join(self, name: str, party_size: int, phone: str, note: str) -> Customer:
        """A new party, waiting, with its quote and its page's secret code."""
        async with self._lock:
            quote = await self.quote(party_size)
            return await self._restaurant.add_customer(
                name, party_size, phone, CustomerStatus.WAITING, None, note=note,
                quoted_wait_s=quote, code=new_code())

    async def record(self, name: str, party_size: int, phone: str, status: CustomerStatus,
                     table_id: int | None, note: str) -> Customer:
        """A customer recorded as it is (not joining the line: no quote, no link), as before
        the waitlist; one recorded seated was seated now."""
        stamp = {"seated_at": utcnow()} if status is CustomerStatus.SEATED else {}
        async with self._lock:
            return await self._restaurant.add_customer(name, party_size, phone, status,
                                                       table_id, note=note, **stamp)

    async def quote(self, party_size: int) -> int | None:
        """The wait of a party of `party_size` joining now, behind every party in line."""
        now = datetime.now(timezone.utc)
        visits = {visit.table_id: visit for visit in await self._store.open_visits()}
        floor = [FloorTable(table.id, table.seats, table.status,
                            _age_s(visits.get(table.id), now))
                 for table in await self._store.tables()]
        ahead = [InLine(*row) for row in await self._store.waitlist.in_line()]
        history = [Turn(seats, length)
                   for seats, length in await self._store.waitlist.turns(iso(now - HISTORY))]
        return quote_s(party_size, floor, ahead, history, self._default_turn_s)

    async def party(self, customer_id: int) -> Customer:
        """A customer as it is now (404 for none)."""
        party = await self._store.customer(customer_id)
        if party is None:
            raise NotFound(f"customer {customer_id} not found")
        return party

    async def call(self, customer_id: int) -> Customer:
        """Called to the host stand (again, if it was: the call's time is the latest)."""
        async with self._lock:
            await self._in_line(customer_id, "called")
            return await self._restaurant.change_customer(
                customer_id, {"status": CustomerStatus.CALLED, "called_at": utcnow()})

    async def change(self, customer_id: int, changes: CustomerChanges) -> Customer:
        """A PATCH: the restaurant's change, with the time of a call or a seating stamped."""
        async with self._lock:
            status = changes.get("status")
            stamp = STAMPS.get(status) if status is not None else None
            if stamp is not None:
                changes = {**changes, stamp: utcnow()}  # type: ignore[misc]
            return await self._restaurant.change_customer(customer_id, changes)

    async def seat(self, customer_id: int, table_id: int) -> Customer:
        """Seated at an `available` table (409 otherwise) with a new visit of its size."""
        async with self._lock:
            party = await self._in_line(customer_id, "seated")
            table = await self._store.table(table_id)
            if table is None:
                raise Invalid(f"table_id: there is no table {table_id}")
            if table.status is not TableStatus.AVAILABLE:
                raise Conflict(f"table {table.label} is {table.status}")
            visit = await self._visits.open(table_id, party.party_size, customer_id)
            seated = await self._restaurant.change_customer(customer_id, {
                "status": CustomerStatus.SEATED, "table_id": table_id, "seated_at": utcnow(),
                "visit_id": visit.id})
        for listener in list(self.on_seated):
            await listener(seated, visit)
        return seated

    async def _in_line(self, customer_id: int, to: str) -> Customer:
        party = await self.party(customer_id)
        if party.status not in IN_LINE:
            raise Conflict(f"customer {customer_id} is {party.status}: it cannot be {to}")
        return party


def _age_s(visit: Visit | None, now: datetime) -> float | None:
    if visit is None or visit.status is not VisitStatus.OPEN:
        return None
    return (now - datetime.fromisoformat(visit.opened_at)).total_seconds()

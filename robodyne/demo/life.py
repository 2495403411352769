"""The demo restaurant's life: guests sit down and order, simulated cooks move tickets along,
robots (dispatched by the server) deliver, guests eat, leave, and tables are cleaned.

Guests order on their phones, over HTTP through the guest API (demo/guest.py); everything else
goes through the restaurant's rules, as a tablet's writes would. A person at the kitchen page
can bump a ticket before the simulated cook does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from datetime import datetime, timezone
from functools import partial
from typing import Any, Final

from ..core.calls import CallKind
from ..core.errors import Conflict, DomainError
from ..core.models import CustomerStatus, OrderStatus, PaymentMethod, TableStatus, VisitStatus
from ..core.topics import Topic
from ..domain.restaurant import Restaurant
from ..domain.visits import Visits
from ..live.hub import Hub
from ..settings import SimulationSettings
from .guest import CALL_KINDS, GuestLine, Phones, pick_lines

log = logging.getLogger(__name__)

TICK_S: Final = 1.0
# A ticket is started this share of cook_s after it was placed; it is ready at cook_s.
START_AT: Final = 0.25
# Guests eat this long once served, and a table is cleaned this long after they leave.
EAT_S: Final = (20.0, 40.0)
CLEAN_S: Final = (5.0, 10.0)
NAMES: Final = ("Kim", "Lee", "Park", "Choi", "Garcia", "Smith", "Jung", "Kang", "Yoon", "Lim")
# Of the parties that come in, this share is seated by staff (a customer, its visit opened) and
# the others seat themselves by their first order (guest.self_seat); this share also calls.
STAFF_SEATED: Final = 0.5
CALL_SHARE: Final = 0.2
# Parties still on their way to an order (a slow server) before no new one comes in.
MAX_ARRIVING: Final = 4
# How the demo's parties pay (the card at the terminal: Robodyne only records it).
PAID_WITH: Final = (PaymentMethod.CASH, PaymentMethod.CARD)


def _age_s(stamp: str, now: datetime) -> float:
    return (now - datetime.fromisoformat(stamp)).total_seconds()


class DemoLife:
    """Guests, cooks and cleaners, each acting once a tick on what the topics show."""

    def __init__(self, restaurant: Restaurant, visits: Visits, hub: Hub,
                 settings: SimulationSettings, phones: Phones | None, *, self_seat: bool = True,
                 rng: random.Random | None = None) -> None:
        self._restaurant = restaurant
        self._visits = visits
        self._hub = hub
        self._settings = settings
        # None: the server's HTTP port is unknown, so no guest can order and none comes in.
        self._phones = phones
        self._self_seat = self_seat
        self._rng = rng or random.Random()
        self._next_order_s = 0.0
        # When each table's guests leave (after their food came), and when it is clean.
        self._leave_at: dict[int, float] = {}
        self._clean_at: dict[int, float] = {}
        # Each party on its way to its order, by its table: a task of its own, so a slow
        # server holds up that party and no cook.
        self._arriving: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        clock = asyncio.get_running_loop().time
        try:
            while True:
                await asyncio.sleep(TICK_S)
                try:
                    await self.tick(clock())
                except DomainError as err:  # a person got there first, or storage is failing
                    log.info("demo: %s", err)
        finally:
            await self.close()

    async def close(self) -> None:
        """The parties still on their way go home (their requests cancelled)."""
        parties = list(self._arriving.values())
        for party in parties:
            party.cancel()
        await asyncio.gather(*parties, return_exceptions=True)

    async def tick(self, now: float) -> None:
        await self._cook(datetime.now(timezone.utc))
        await self._tables(now)
        if now >= self._next_order_s:
            self._next_order_s = now + self._settings.order_every_s * self._rng.uniform(0.5, 1.5)
            await self._guests_order()

    def _items(self, topic: Topic) -> list[dict[str, Any]]:
        return self._hub.snapshot(topic)[0]

    async def _cook(self, now: datetime) -> None:
        """Start tickets after a while and make them ready at cook_s, items crossed off."""
        cook_s = self._settings.cook_s
        for order in self._items(Topic.ORDERS):
            age = _age_s(order["created_at"], now)
            try:
                if order["status"] == OrderStatus.PLACED and age >= cook_s * START_AT:
                    await self._restaurant.change_order(order["id"], status=OrderStatus.PREPARING)
                elif order["status"] == OrderStatus.PREPARING and age >= cook_s:
                    await self._restaurant.change_order(
                        order["id"], status=OrderStatus.READY,
                        items_done=[(n, True) for n in range(len(order["items"]))])
            except Conflict:
                continue  # moved by a person meanwhile

    async def _tables(self, now: float) -> None:
        """Guests leave once they have eaten; a table they left is cleaned a little later."""
        orders = self._items(Topic.ORDERS)
        for table in self._items(Topic.TABLES):
            table_id = table["id"]
            if table_id in self._arriving:
                continue  # seated, and still ordering
            if table["status"] == TableStatus.OCCUPIED and not table["open_order_ids"]:
                served = any(o["table_id"] == table_id and o["status"] == OrderStatus.SERVED
                             for o in orders)
                if served and table_id not in self._leave_at:
                    self._leave_at[table_id] = now + self._rng.uniform(*EAT_S)
                if table_id in self._leave_at and now >= self._leave_at[table_id]:
                    del self._leave_at[table_id]
                    await self._leave(table_id, table["customer_id"])
            elif table["status"] == TableStatus.NEEDS_CLEANING:
                clean_at = self._clean_at.setdefault(table_id, now + self._rng.uniform(*CLEAN_S))
                if now >= clean_at:
                    del self._clean_at[table_id]
                    await self._restaurant.change_table(table_id,
                                                        {"status": TableStatus.AVAILABLE})

    async def _leave(self, table_id: int, customer_id: int | None) -> None:
        """The party pays what it owes, in cash or by card, and goes: its visit closes (the
        table needs cleaning, and a robot busses it), so the next party's is a new one."""
        visit = next((v for v in self._items(Topic.VISITS)
                      if v["table_id"] == table_id and v["status"] == VisitStatus.OPEN), None)
        if visit is not None:
            due = visit["check"]["due"]
            if due > 0:
                await self._visits.pay(visit["id"], due, self._rng.choice(PAID_WITH), "")
            await self._restaurant.close_visit(visit["id"])
        if customer_id is not None:
            await self._restaurant.change_customer(customer_id, {"status": CustomerStatus.LEFT})
        elif visit is None:
            await self._restaurant.change_table(table_id, {"status": TableStatus.NEEDS_CLEANING})

    async def _guests_order(self) -> None:
        """A new party comes to a free table and orders on its phones; with no table free,
        nothing available on the menu, or too many parties still ordering, nobody comes in."""
        free = [t for t in self._items(Topic.TABLES)
                if t["status"] == TableStatus.AVAILABLE and t["id"] not in self._arriving]
        phones = self._phones
        if phones is None or not free or len(self._arriving) >= MAX_ARRIVING:
            return
        lines = pick_lines(self._items(Topic.MENU), self._rng)
        if not lines:
            return
        table = self._rng.choice(free)
        customer_id = None
        if not self._self_seat or self._rng.random() < STAFF_SEATED:
            party = self._rng.randint(1, table["seats"])
            customer = await self._restaurant.add_customer(
                self._rng.choice(NAMES), party, "", CustomerStatus.SEATED, table["id"])
            await self._visits.open(table["id"], party, customer.id)
            customer_id = customer.id
        call = self._rng.choice(CALL_KINDS) if self._rng.random() < CALL_SHARE else None
        self._arrive(table["id"], self._party(phones, table["id"], customer_id, lines, call))

    @property
    def arriving(self) -> int:
        """How many parties are still on their way to order."""
        return len(self._arriving)

    def _arrive(self, table_id: int, party: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(party, name=f"demo-party-{table_id}")
        self._arriving[table_id] = task
        task.add_done_callback(partial(self._arrived, table_id))

    def _arrived(self, table_id: int, task: asyncio.Task[None]) -> None:
        """A party has ordered (or given up): its table is the cooks' and eaters' again."""
        del self._arriving[table_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("demo: the party at table %d failed", table_id, exc_info=task.exception())

    async def _party(self, phones: Phones, table_id: int, customer_id: int | None,
                     lines: list[GuestLine], call: CallKind | None) -> None:
        """The party orders over HTTP; a party staff seated that could not order leaves (a
        party that seats itself has opened nothing until its order is placed)."""
        try:
            if not await phones.order(table_id, lines, call) and customer_id is not None:
                await self._leave(table_id, customer_id)
        except DomainError as err:  # the table gone, a person got there first, storage failing
            log.info("demo: %s", err)

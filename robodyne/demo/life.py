"""The demo restaurant's life: guests sit down and order, simulated cooks move tickets along,
robots (dispatched by the server) deliver, guests eat, leave, and tables are cleaned.

Everything goes through the restaurant's rules, as a tablet's writes would; a person at the
kitchen page can bump a ticket before the simulated cook does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timezone
from typing import Any, Final

from ..core.errors import Conflict, DomainError
from ..core.models import CustomerStatus, OrderLine, OrderStatus, TableStatus
from ..core.topics import Topic
from ..domain.restaurant import Restaurant
from ..domain.visits import Visits
from ..live.hub import Hub
from ..settings import SimulationSettings
from .seed import MENU

log = logging.getLogger(__name__)

TICK_S: Final = 1.0
# A ticket is started this share of cook_s after it was placed; it is ready at cook_s.
START_AT: Final = 0.25
# Guests eat this long once served, and a table is cleaned this long after they leave.
EAT_S: Final = (20.0, 40.0)
CLEAN_S: Final = (5.0, 10.0)
NAMES: Final = ("Kim", "Lee", "Park", "Choi", "Garcia", "Smith", "Jung", "Kang", "Yoon", "Lim")


def _age_s(stamp: str, now: datetime) -> float:
    return (now - datetime.fromisoformat(stamp)).total_seconds()


class DemoLife:
    """Guests, cooks and cleaners, each acting once a tick on what the topics show."""

    def __init__(self, restaurant: Restaurant, visits: Visits, hub: Hub,
                 settings: SimulationSettings, rng: random.Random | None = None) -> None:
        self._restaurant = restaurant
        self._visits = visits
        self._hub = hub
        self._settings = settings
        self._rng = rng or random.Random()
        self._next_order_s = 0.0
        # When each table's guests leave (after their food came), and when it is clean.
        self._leave_at: dict[int, float] = {}
        self._clean_at: dict[int, float] = {}

    async def run(self) -> None:
        clock = asyncio.get_running_loop().time
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick(clock())
            except DomainError as err:  # a person got there first, or storage is failing
                log.info("demo: %s", err)

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
            if table["status"] == TableStatus.OCCUPIED and not table["open_order_ids"]:
                served = any(o["table_id"] == table_id and o["status"] == OrderStatus.SERVED
                             for o in orders)
                if served and table_id not in self._leave_at:
                    self._leave_at[table_id] = now + self._rng.uniform(*EAT_S)
                if table_id in self._leave_at and now >= self._leave_at[table_id]:
                    del self._leave_at[table_id]
                    await self._leave(table)
            elif table["status"] == TableStatus.NEEDS_CLEANING:
                clean_at = self._clean_at.setdefault(table_id, now + self._rng.uniform(*CLEAN_S))
                if now >= clean_at:
                    del self._clean_at[table_id]
                    await self._restaurant.change_table(table_id,
                                                        {"status": TableStatus.AVAILABLE})

    async def _leave(self, table: dict[str, Any]) -> None:
        """The party's visit ends as it goes (so the next party's is a new one)."""
        await self._visits.close_for_table(table["id"])
        if table["customer_id"] is not None:
            await self._restaurant.change_customer(table["customer_id"],
                                                   {"status": CustomerStatus.LEFT})
        else:
            await self._restaurant.change_table(table["id"],
                                                {"status": TableStatus.NEEDS_CLEANING})

    async def _guests_order(self) -> None:
        """A new party sits at a free table (its visit opened) and orders; with none free,
        nobody comes in."""
        free = [t for t in self._items(Topic.TABLES) if t["status"] == TableStatus.AVAILABLE]
        if not free:
            return
        table = self._rng.choice(free)
        party = self._rng.randint(1, table["seats"])
        customer = await self._restaurant.add_customer(self._rng.choice(NAMES), party, "",
                                                       CustomerStatus.SEATED, table["id"])
        await self._visits.open(table["id"], party, customer.id)
        dishes = self._rng.sample(MENU, k=min(len(MENU), self._rng.randint(1, 4)))
        lines = [OrderLine(name=dish.name, qty=self._rng.randint(1, 2),
                           options=[o.name for o in dish.options if self._rng.random() < 0.3],
                           modifiers=[m for m in dish.modifiers if self._rng.random() < 0.5])
                 for dish in dishes]
        await self._restaurant.place_order(table["id"], lines, "")

"""The demo restaurant's life: parties come to the host stand, wait in line when the floor is
full, are called and seated (a robot leads them when escorts are on), order on their phones,
simulated cooks move tickets along, robots (dispatched by the server) deliver, guests eat, pay
and leave, and tables are cleaned.

Guests order on their phones, over HTTP through the guest API (demo/guest.py); everything else
goes through the restaurant's rules, as a tablet's writes would. A person can take over any step:
bump a ticket at the kitchen page, call or seat a party at /host (that party then orders as if
the demo had seated it), close a check at the dashboard.
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
from ..domain.waitlist import Waitlist
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
# Of the parties that come in while nobody waits and a table is free, this share walks in and
# seats itself by its first order (guest.self_seat); the others go to the host stand. Of the
# parties seated, this share also calls.
WALK_IN: Final = 0.3
CALL_SHARE: Final = 0.2
# Party sizes, most often two.
PARTY_SIZES: Final = (1, 2, 2, 2, 3, 4, 4, 5, 6)
# At most this many parties wait in line; more turn away at the door.
MAX_LINE: Final = 6
# A party waiting longer than this leaves the line; one called and not at the stand after
# NO_SHOW_S is a no-show (NO_SHOW_SHARE of the called never come); a called party is seated
# after CALLED_TO_SEATED_S, the walk to the stand.
PATIENCE_S: Final = 300.0
NO_SHOW_SHARE: Final = 0.05
NO_SHOW_S: Final = 20.0
CALLED_TO_SEATED_S: Final = 3.0
# Parties still on their way to an order (a slow server) before no new one comes in.
MAX_ARRIVING: Final = 4
# How the demo's parties pay (the card at the terminal: Robodyne only records it).
PAID_WITH: Final = (PaymentMethod.CASH, PaymentMethod.CARD)


def _age_s(stamp: str, now: datetime) -> float:
    return (now - datetime.fromisoformat(stamp)).total_seconds()


class DemoLife:
    """Guests, cooks and cleaners, each acting once a tick on what the topics show."""

    def __init__(self, restaurant: Restaurant, visits: Visits, waitlist: Waitlist, hub: Hub,
                 settings: SimulationSettings, phones: Phones | None, *, self_seat: bool = True,
                 rng: random.Random | None = None) -> None:
        self._restaurant = restaurant
        self._visits = visits
        self._waitlist = waitlist
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
        # The seated parties that have begun ordering (whoever seated them), by customer id.
        self._ordering: set[int] = set()
        # The parties in line: when each gives up waiting, and the called ones that never come.
        self._gives_up_at: dict[int, float] = {}
        self._no_shows: set[int] = set()

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
        wall = datetime.now(timezone.utc)
        await self._cook(wall)
        await self._tables(now)
        await self._host(now, wall)
        await self._seated_order()
        if now >= self._next_order_s:
            self._next_order_s = now + self._settings.order_every_s * self._rng.uniform(0.5, 1.5)
            await self._come_in(now)

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
                    await self._leave(table_id)
            elif table["status"] == TableStatus.NEEDS_CLEANING:
                clean_at = self._clean_at.setdefault(table_id, now + self._rng.uniform(*CLEAN_S))
                if now >= clean_at:
                    del self._clean_at[table_id]
                    await self._restaurant.change_table(table_id,
                                                        {"status": TableStatus.AVAILABLE})

    async def _leave(self, table_id: int) -> None:
        """The party pays what it owes, in cash or by card, and goes: its visit closes (the
        table needs cleaning, and a robot busses it), so the next party's is a new one."""
        visit = next((v for v in self._items(Topic.VISITS)
                      if v["table_id"] == table_id and v["status"] == VisitStatus.OPEN), None)
        if visit is None:
            await self._restaurant.change_table(table_id, {"status": TableStatus.NEEDS_CLEANING})
            return
        due = visit["check"]["due"]
        if due > 0:
            await self._visits.pay(visit["id"], due, self._rng.choice(PAID_WITH), "")
        await self._restaurant.close_visit(visit["id"])

    async def _come_in(self, now: float) -> None:
        """A new party comes in: it walks in to a free table when nobody waits (some), else it
        joins the line at the host stand; with no phones, nothing on the menu, too many
        parties still ordering or a long line, nobody comes."""
        if self._phones is None or len(self._arriving) >= MAX_ARRIVING:
            return
        if not pick_lines(self._items(Topic.MENU), self._rng):
            return
        size = self._rng.choice(PARTY_SIZES)
        line = self._line()
        free = self._free_tables(size)
        if self._self_seat and not line and free and self._rng.random() < WALK_IN:
            table_id = self._rng.choice(free)["id"]
            self._order_at(table_id, None)
        elif len(line) < MAX_LINE:
            party = await self._waitlist.join(self._rng.choice(NAMES), size, "", "")
            self._gives_up_at[party.id] = now + PATIENCE_S
            if self._rng.random() < NO_SHOW_SHARE:
                self._no_shows.add(party.id)

    async def _host(self, now: float, wall: datetime) -> None:
        """The host stand, in line order: each called party keeps the smallest free table
        that fits it, and is seated there once at the stand; a waiting party is called only
        when a free table is left for it; one that waited too long leaves, one called that
        never comes is a no-show."""
        kept: set[int] = set()
        for party in self._line():
            party_id = party["id"]
            table = self._smallest_free(party["party_size"], kept)
            if table is not None:
                kept.add(table["id"])
            if party["status"] == CustomerStatus.CALLED:
                called_s = _age_s(party["called_at"], wall)
                if party_id in self._no_shows:
                    if called_s >= NO_SHOW_S:
                        await self._out_of_line(party_id, CustomerStatus.NO_SHOW)
                elif table is not None and called_s >= CALLED_TO_SEATED_S:
                    await self._waitlist.seat(party_id, table["id"])
                    self._gives_up_at.pop(party_id, None)
            elif now >= self._gives_up_at.get(party_id, now + 1):
                if table is not None:
                    kept.discard(table["id"])
                await self._out_of_line(party_id, CustomerStatus.LEFT)
            elif table is not None:
                await self._waitlist.call(party_id)
        # Parties a person seated or sent away at /host are no longer the demo's to time.
        in_line = {party["id"] for party in self._line()}
        self._gives_up_at = {k: v for k, v in self._gives_up_at.items() if k in in_line}
        self._no_shows &= in_line

    def _smallest_free(self, party_size: int, kept: set[int]) -> dict[str, Any] | None:
        """The smallest free table that fits the party, of those no party ahead keeps."""
        free = [t for t in self._free_tables(party_size) if t["id"] not in kept]
        return min(free, key=lambda t: (t["seats"], t["id"])) if free else None

    async def _out_of_line(self, party_id: int, status: CustomerStatus) -> None:
        await self._waitlist.change(party_id, {"status": status})
        self._gives_up_at.pop(party_id, None)
        self._no_shows.discard(party_id)

    async def _seated_order(self) -> None:
        """Every party seated with an open visit (by the demo or a person at /host) orders
        once, on its phones."""
        seated = {p["id"]: p for p in self._items(Topic.CUSTOMERS)
                  if p["status"] == CustomerStatus.SEATED and p["visit_id"] is not None}
        self._ordering &= set(seated)
        open_visits = {v["id"] for v in self._items(Topic.VISITS)
                       if v["status"] == VisitStatus.OPEN}
        for party_id, party in seated.items():
            if (party_id not in self._ordering and party["visit_id"] in open_visits
                    and party["table_id"] not in self._arriving):
                self._ordering.add(party_id)
                self._order_at(party["table_id"], party_id)

    def _order_at(self, table_id: int, party_id: int | None) -> None:
        """The party at the table orders what it picks on its phones (and maybe calls)."""
        if self._phones is None:
            return
        lines = pick_lines(self._items(Topic.MENU), self._rng)
        call = self._rng.choice(CALL_KINDS) if self._rng.random() < CALL_SHARE else None
        self._arrive(table_id, self._party(self._phones, table_id, party_id, lines, call))

    def _line(self) -> list[dict[str, Any]]:
        """The parties waiting or called, in the order they joined."""
        return sorted((p for p in self._items(Topic.CUSTOMERS)
                       if p["status"] in (CustomerStatus.WAITING, CustomerStatus.CALLED)),
                      key=lambda p: (p["created_at"], p["id"]))

    def _free_tables(self, party_size: int) -> list[dict[str, Any]]:
        """The available tables with seats enough, no party on its way to them."""
        return [t for t in self._items(Topic.TABLES)
                if t["status"] == TableStatus.AVAILABLE and t["seats"] >= party_size
                and t["id"] not in self._arriving]

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

    async def _party(self, phones: Phones, table_id: int, party_id: int | None,
                     lines: list[GuestLine], call: CallKind | None) -> None:
        """The party orders over HTTP; a party seated by the host that could not order leaves
        (a party that seats itself has opened nothing until its order is placed)."""
        try:
            if not await phones.order(table_id, lines, call) and party_id is not None:
                await self._leave(table_id)
        except DomainError as err:  # the table gone, a person got there first, storage failing
            log.info("demo: %s", err)

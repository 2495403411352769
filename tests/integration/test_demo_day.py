"""A day of the demo restaurant, compressed (issue 20, "What it must show"): 100 parties come to
the host stand or walk in, wait, are seated, order the demo's menu (options and all), pay in
cash or by card and leave, on the real domain and a real SQLite file; then the day's report's
gross equals the sum of the payments and of the closed checks, to the unit, with tax added and
a service charge so that every check rounds."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from robodyne.core.models import OrderStatus, TableStatus, VisitStatus
from robodyne.demo import life as life_module
from robodyne.demo.floor import TABLES
from robodyne.demo.life import DemoLife
from robodyne.demo.seed import MENU, STATIONS
from robodyne.domain.daybook import Daybook
from robodyne.settings import KitchenSettings, SimulationSettings

from ..support.desk_phones import DeskPhones
from ..support.domain import Domain, open_domain

PARTIES = 100
# USD with 8.75 % tax added and a 7.5 % service charge: most checks end on a half cent.
RESTAURANT = {"currency": "USD", "tax_rate": 0.0875, "prices_include_tax": False,
              "service_charge_pct": 7.5}


async def _run_ready_orders_out(domain: Domain) -> None:
    """A runner carries every ready order to its table (the robots' part, done by hand)."""
    for order in domain.hub.snapshot("orders")[0]:
        if order["status"] == OrderStatus.READY:
            await domain.restaurant.change_order(order["id"], status=OrderStatus.SERVED)


def _closed(domain: Domain) -> list[dict[str, Any]]:
    return [v for v in domain.hub.snapshot("visits")[0] if v["status"] == VisitStatus.CLOSED]


async def test_a_compressed_demo_day_adds_up_to_the_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time is the test's: a party a tick, eaten at once, tables cleaned at once; the host seats
    # a called party the next tick, some never come, some give up.
    for name, value in (("CALLED_TO_SEATED_S", 0.0), ("EAT_S", (0.0, 0.0)),
                        ("CLEAN_S", (0.0, 0.0)), ("MAX_ARRIVING", 50), ("PATIENCE_S", 60.0),
                        ("NO_SHOW_S", 0.0)):
        monkeypatch.setattr(life_module, name, value)
    kitchen = KitchenSettings(stations=STATIONS, default_station=STATIONS[0])
    async with open_domain(tmp_path, kitchen=kitchen, restaurant=RESTAURANT) as domain:
        for label, seats, x, y in TABLES:
            await domain.restaurant.add_table(label, seats, TableStatus.AVAILABLE, x, y)
        for n, dish in enumerate(MENU):
            await domain.menu.add(dish.name, {
                "category": dish.category, "station": dish.station, "price": dish.price,
                "names": dish.names, "allergens": dish.allergens, "options": dish.options,
                "position": n})
        life = DemoLife(domain.restaurant, domain.visits, domain.waitlist, domain.hub,
                        SimulationSettings(order_every_s=1, cook_s=0.001), DeskPhones(domain),
                        rng=random.Random(2026))
        now = 0.0
        while len(_closed(domain)) < PARTIES:
            now += 1.0
            assert now < 20_000, f"only {len(_closed(domain))} parties left in 20,000 ticks"
            await life.tick(now)
            while life.arriving:  # the parties' phones, each a task of its own
                await asyncio.sleep(0)
            await _run_ready_orders_out(domain)
        await life.close()
        closed = _closed(domain)
        parties = domain.hub.snapshot("customers")[0]
        report = await Daybook(domain.store, datetime.now().astimezone().tzinfo,
                               STATIONS).daily(datetime.now().astimezone().date())

    sales = report["sales"]
    paid = sum(p["amount"] for visit in closed for p in visit["payments"])
    checked = sum(visit["check"]["total"] for visit in closed)
    assert sales["checks"] == len(closed) >= PARTIES
    assert sales["gross"] == paid == checked > 0
    assert sum(sales["payments"].values()) == sales["gross"]
    assert sales["tax"] == sum(visit["check"]["tax"] for visit in closed)
    assert sales["service_charge"] == sum(visit["check"]["service_charge"] for visit in closed)
    # Every check settled exactly, and the dishes' revenue is what the checks' lines came to.
    assert all(visit["check"]["due"] == 0 for visit in closed)
    lines = sum(line["amount"] for visit in closed for line in visit["check"]["lines"])
    assert sum(item["revenue"] for item in report["items"]) == lines
    # The day went through the host stand: parties waited, were seated, some left the line.
    statuses = {p["status"] for p in parties}
    assert "seated" in statuses and report["wait"]["count"] > 0
    assert report["turn_time"]["count"] == len(closed)

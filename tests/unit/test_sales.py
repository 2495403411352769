"""The day's sales (SPEC §12.5, domain/sales.py) on a real SQLite file: a hand-made set of
visits seated, ordered, paid and closed through the domain, their times then set around the
midnights of a restaurant in New York (UTC-5 that day), and the numbers worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from robodyne.core.models import OrderLine, OrderStatus, PaymentMethod, TableStatus, iso
from robodyne.domain.daybook import Daybook
from robodyne.domain.sales import sales, with_revenue

from ..support.domain import Domain, open_domain

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2026, 11, 30)  # 05:00Z to 05:00Z the next day


def _at(day: date, hh_mm_ss: str) -> str:
    """A New York wall-clock time as a stored UTC stamp."""
    hours, minutes, seconds = (float(part) for part in hh_mm_ss.split(":"))
    local = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK) + timedelta(
        hours=hours, minutes=minutes, seconds=seconds)
    return iso(local.astimezone(timezone.utc))


@dataclass
class Party:
    label: str
    party_size: int | None
    lines: list[OrderLine]
    paid: list[tuple[int, PaymentMethod]]
    opened: str
    closed: str | None
    cancelled: list[OrderLine] = field(default_factory=list)


async def _seat(domain: Domain, party: Party) -> int:
    """The party seated, its order (and any order it cancelled) placed, paid and closed; then
    its visit, orders and payments given the party's times."""
    table = await domain.restaurant.add_table(party.label, 4, TableStatus.AVAILABLE, None, None)
    visit = await domain.visits.open(table.id, party_size=party.party_size)
    await domain.restaurant.place_order(table.id, party.lines, "")
    if party.cancelled:
        void = await domain.restaurant.place_order(table.id, party.cancelled, "")
        await domain.restaurant.change_order(void.id, status=OrderStatus.CANCELLED)
    for amount, method in party.paid:
        await domain.visits.pay(visit.id, amount, method, "")
    if party.closed is not None:
        await domain.visits.end(visit.id)
    async with domain.store.transaction() as db:
        await db.execute("UPDATE visits SET opened_at = ?, closed_at = ? WHERE id = ?",
                         (party.opened, party.closed, visit.id))
        await db.execute("UPDATE orders SET created_at = ? WHERE visit_id = ?",
                         (party.opened, visit.id))
        await db.execute("UPDATE payments SET created_at = ? WHERE visit_id = ?",
                         (party.closed or party.opened, visit.id))
    return visit.id


CARD, CASH, OTHER = PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.OTHER
# Prices include 10 % tax, and a 10 % service charge is added (core/money.check):
#   A: 2 x 11000 + 3000 = 25000, charge 2500, total 27500, tax 27500 / 11 = 2500
#   B: 4500 + 1 = 4501, charge 450.1 -> 450, total 4951, tax 450.09 -> 450
#   C: 3000, charge 300, total 3300 -- closed at the next day's first moment
#   D: 3000 -- closed at the day before's last moment
#   E: still open
PARTIES = [
    Party("A", 2, [OrderLine(name="Bibimbap", qty=2), OrderLine(name="kimchi")],
          [(10000, CASH), (17500, CARD)], _at(DAY, "22:30:00"), _at(DAY, "23:30:00"),
          cancelled=[OrderLine(name="Soju", qty=3)]),
    Party("B", None, [OrderLine(name="Soju"), OrderLine(name="Corkage", price=1)],
          [(4951, CARD)], _at(DAY, "07:15:00"), _at(DAY, "08:00:00")),
    Party("C", 3, [OrderLine(name="Kimchi")], [(3300, OTHER)],
          _at(DAY, "23:00:00"), _at(DAY + timedelta(days=1), "00:00:00")),
    Party("D", 4, [OrderLine(name="Kimchi")], [(3300, CASH)],
          _at(DAY - timedelta(days=1), "23:00:00"), _at(DAY - timedelta(days=1), "23:59:59.999")),
    Party("E", 2, [OrderLine(name="Bibimbap")], [(5000, CASH)], _at(DAY, "12:00:00"), None),
]


async def _menu(domain: Domain) -> None:
    for name, price in (("Bibimbap", 11000), ("Kimchi", 3000), ("Soju", 4500)):
        await domain.menu.add(name, {"price": price})


@pytest.fixture
async def report(tmp_path: Any) -> dict[str, Any]:
    async with open_domain(tmp_path, restaurant={"service_charge_pct": 10}) as domain:
        await _menu(domain)
        for party in PARTIES:
            await _seat(domain, party)
        return await Daybook(domain.store, NEW_YORK, []).daily(DAY)


async def test_the_sales_are_the_checks_of_the_visits_closed_that_day(
    report: dict[str, Any]
) -> None:
    assert report["from"] == "2026-11-30T05:00:00.000Z"
    # A and B: C closed at the next midnight, D a millisecond before this one, E is open.
    assert report["sales"] == {
        "checks": 2, "covers": 2,  # B's party size was never given: it counts 0
        "gross": 27500 + 4951, "tax": 2500 + 450, "service_charge": 2500 + 450,
        "average_check": 16226,  # 32451 / 2 = 16225.5, half up
        "payments": {"cash": 10000, "card": 17500 + 4951, "other": 0}}


async def test_each_dish_earns_its_lines_on_those_checks(report: dict[str, Any]) -> None:
    items = {item["name"]: item for item in report["items"]}
    # qty: the orders placed that day (A, B, C and E); revenue: the checks closed (A and B).
    assert {name: (item["qty"], item["cancelled_qty"], item["revenue"], item["revenue_qty"])
            for name, item in items.items()} == {
        "Bibimbap": (3, 0, 22000, 2), "Kimchi": (2, 0, 3000, 1), "Soju": (1, 3, 4500, 1),
        "Corkage": (1, 0, 1, 1)}
    assert [item["name"] for item in report["items"]] == [
        "Bibimbap", "Kimchi", "Soju", "Corkage"]
    # The dishes' revenue is the checks' subtotals.
    assert sum(item["revenue"] for item in report["items"]) == 25000 + 4501


async def test_the_turn_time_is_seated_to_closed(report: dict[str, Any]) -> None:
    assert report["turn_time"] == {"count": 2, "median_s": 3150.0, "p90_s": 3600.0}


async def test_a_day_without_closed_visits_sells_nothing(tmp_path: Any) -> None:
    async with open_domain(tmp_path) as domain:
        await _menu(domain)
        await _seat(domain, PARTIES[-1])  # open only
        report = await Daybook(domain.store, NEW_YORK, []).daily(DAY)
    assert report["sales"] == {"checks": 0, "covers": 0, "gross": 0, "tax": 0,
                               "service_charge": 0, "average_check": 0,
                               "payments": {"cash": 0, "card": 0, "other": 0}}
    assert report["turn_time"] == {"count": 0, "median_s": None, "p90_s": None}


@pytest.mark.parametrize(("gross", "checks", "average"), [
    (3, 2, 2), (5, 2, 3), (1, 3, 0), (2, 3, 1), (10, 4, 3), (0, 5, 0), (7, 0, 0),
    (2_000_000_000_000_001, 2, 1_000_000_000_000_001)])
def test_the_average_check_rounds_half_up_exactly(gross: int, checks: int,
                                                  average: int) -> None:
    totals = {"checks": checks, "covers": 0, "gross": gross, "tax": 0, "service_charge": 0,
              "payments": {"card": gross}}
    made = sales(totals)
    assert made["average_check"] == average and isinstance(made["average_check"], int)
    assert made["payments"] == {"cash": 0, "card": gross, "other": 0}


def test_revenue_joins_the_days_items_by_name() -> None:
    items = [{"name": "Galbi", "category": "mains", "qty": 2, "cancelled_qty": None,
              "orders": 1},
             {"name": "Soju", "category": "drinks", "qty": None, "cancelled_qty": 2,
              "orders": 0}]
    revenue = [{"name": "Galbi", "category": "mains", "revenue": 30000, "qty": 1},
               {"name": "Tea", "category": "", "revenue": 500, "qty": 1}]
    assert with_revenue(items, revenue) == [
        {"name": "Galbi", "category": "mains", "qty": 2, "cancelled_qty": 0, "orders": 1,
         "revenue": 30000, "revenue_qty": 1},
        {"name": "Tea", "category": "", "qty": 0, "cancelled_qty": 0, "orders": 0,
         "revenue": 500, "revenue_qty": 1},
        {"name": "Soju", "category": "drinks", "qty": 0, "cancelled_qty": 2, "orders": 0,
         "revenue": 0, "revenue_qty": 0}]

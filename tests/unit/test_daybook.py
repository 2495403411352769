"""The day's report and the export rows on a real SQLite file, against numbers worked out by
hand for the day of tests/support/seeded_day.py; and the small rules under them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from robodyne.core.days import WallClock, day_range, parse_day
from robodyne.core.durations import percentile, spread
from robodyne.core.errors import Invalid
from robodyne.core.models import iso
from robodyne.domain.daybook import EXPORT_COLUMNS, Daybook
from robodyne.store.store import Store

from ..support.seeded_day import DAY, FORMULA_NOTE, QUOTED_NOTE, ZONE, seed_day, seed_sales

SEOUL = ZoneInfo(ZONE)


@pytest.fixture
async def daybook(tmp_path: Path) -> AsyncIterator[Daybook]:
    store = Store(tmp_path / "day.db")
    await store.open()
    await seed_day(store)
    try:
        yield Daybook(store, SEOUL, ["grill", "fry", "cold", "bar"])
    finally:
        await store.close()


@pytest.fixture
async def report(daybook: Daybook) -> dict[str, Any]:
    return await daybook.daily(DAY)


async def test_the_day_is_midnight_to_midnight_in_the_restaurants_zone(
    report: dict[str, Any]
) -> None:
    assert (report["from"], report["to"]) == ("2026-11-29T15:00:00.000Z",
                                              "2026-11-30T15:00:00.000Z")
    assert report["orders"] == {"total": 5, "by_status": {
        "placed": 0, "preparing": 1, "ready": 0, "delivering": 0, "served": 3,
        "cancelled": 1}}


async def test_items_sold_leave_out_cancelled_orders_and_count_them_apart(
    report: dict[str, Any]
) -> None:
    # The seeded day has no visits: nothing was settled, so no dish has revenue yet.
    none = {"revenue": 0, "revenue_qty": 0}
    assert report["items"] == [
        {"name": "Bulgogi", "category": "mains", "qty": 3, "cancelled_qty": 0, "orders": 2,
         **none},
        {"name": "Fries", "category": "sides", "qty": 2, "cancelled_qty": 0, "orders": 1,
         **none},
        {"name": "Galbi", "category": "mains", "qty": 1, "cancelled_qty": 0, "orders": 1,
         **none},
        {"name": "Soju", "category": "drinks", "qty": 1, "cancelled_qty": 3, "orders": 1,
         **none},
        {"name": "김치찌개", "category": "mains", "qty": 1, "cancelled_qty": 0, "orders": 1,
         **none},
    ]
    assert report["sales"] == {"checks": 0, "covers": 0, "gross": 0, "tax": 0,
                               "service_charge": 0, "average_check": 0,
                               "payments": {"cash": 0, "card": 0, "other": 0}}
    assert report["turn_time"] == {"count": 0, "median_s": None, "p90_s": None}
    assert report["wait"] == {"count": 0, "median_s": None, "p90_s": None,
                              "over_quote_median_s": None}


async def test_the_seeded_sales_as_the_today_view_shows_them(tmp_path: Path) -> None:
    """tests/support/seeded_day.py's visits, for tests/integration/test_today_page.py."""
    store = Store(tmp_path / "sales.db")
    await store.open()
    try:
        await seed_day(store)
        await seed_sales(store)
        report = await Daybook(store, SEOUL, []).daily(DAY)
    finally:
        await store.close()
    assert report["sales"] == {"checks": 2, "covers": 5, "gross": 63000, "tax": 5727,
                               "service_charge": 0, "average_check": 31500,
                               "payments": {"cash": 20000, "card": 43000, "other": 0}}
    assert report["turn_time"] == {"count": 2, "median_s": 3450.0, "p90_s": 4200.0}
    # The two parties from the line (seeded_day.PARTIES), worked out by hand.
    assert report["wait"] == {"count": 2, "median_s": 1050.0, "p90_s": 1200.0,
                              "over_quote_median_s": -150.0}
    assert [(i["name"], i["qty"], i["revenue"], i["revenue_qty"]) for i in report["items"]] == [
        ("Bulgogi", 3, 30000, 2), ("Fries", 2, 0, 0), ("Galbi", 1, 28000, 1),
        ("Soju", 1, 5000, 1), ("김치찌개", 1, 0, 0)]


async def test_prep_delivery_and_station_times(report: dict[str, Any]) -> None:
    # Ready after 400, 600 and 100 s; served 60, 120 and 90 s after ready.
    assert report["prep_time"] == {"count": 3, "median_s": 400.0, "p90_s": 600.0}
    assert report["delivery_time"] == {"count": 3, "median_s": 90.0, "p90_s": 120.0}
    # The grill finished orders at 300, 600, 200 and 100 s; the fryer never finished its one;
    # the bar's cancelled order does not count.
    assert report["stations"] == {
        "grill": {"count": 4, "median_s": 250.0, "p90_s": 600.0},
        "fry": {"count": 0, "median_s": None, "p90_s": None},
        "cold": {"count": 0, "median_s": None, "p90_s": None},
        "bar": {"count": 1, "median_s": 60.0, "p90_s": 60.0},
    }


async def test_robots_and_tasks(report: dict[str, Any]) -> None:
    assert report["robots"] == [
        {"robot_id": "bot-1", "orders_served": 2,
         "delivery_time": {"count": 2, "median_s": 75.0, "p90_s": 90.0},
         "deliver_tasks": {"completed": 2, "failed": 1}},
        {"robot_id": "bot-2", "orders_served": 1,
         "delivery_time": {"count": 1, "median_s": 120.0, "p90_s": 120.0},
         "deliver_tasks": {"completed": 1}},
    ]
    assert report["tasks"] == {"deliver": {"completed": 3, "failed": 1}, "bus": {},
                               "summon": {}, "go_to": {}, "return": {"completed": 1},
                               "charge": {}, "escort": {}}
    # Completed tasks take 2 minutes each in the seeded day; a failed one has no time.
    assert report["task_time"]["deliver"] == {"count": 3, "median_s": 120.0, "p90_s": 120.0}
    assert report["task_time"]["return"]["count"] == 1
    assert report["task_time"]["bus"] == {"count": 0, "median_s": None, "p90_s": None}


async def test_stock_events(report: dict[str, Any]) -> None:
    stock = report["stock"]
    assert stock["counts"] == {"inventory_low": 2, "menu_item_unavailable": 1}
    assert [(e["type"], e["created_at"]) for e in stock["events"]] == [
        ("inventory_low", "2026-11-30T04:00:00.000Z"),
        ("inventory_low", "2026-11-30T09:00:00.000Z"),
        ("menu_item_unavailable", "2026-11-30T10:30:00.000Z")]
    assert stock["events"][0]["data"] == {"sku": "soju"}


async def test_the_hours_of_the_day_for_the_chart(report: dict[str, Any]) -> None:
    hours = report["hours"]
    assert len(hours) == 24
    assert hours[0]["start"] == "2026-11-30T00:00:00+09:00"
    busy = {n: (h["orders"], h["delivery_median_s"]) for n, h in enumerate(hours) if h["orders"]}
    assert busy == {11: (2, 90.0), 12: (2, None), 23: (1, 90.0)}


async def test_an_empty_day_has_zeros_not_errors(daybook: Daybook) -> None:
    report = await daybook.daily(date(2026, 1, 1))
    assert report["orders"]["total"] == 0 and report["items"] == []
    assert report["prep_time"] == {"count": 0, "median_s": None, "p90_s": None}
    assert sum(hour["orders"] for hour in report["hours"]) == 0


async def test_the_expo_prep_times_are_the_reports_station_times(
    daybook: Daybook, report: dict[str, Any]
) -> None:
    prep = await daybook.station_prep(DAY)
    assert prep == {"date": "2026-11-30", "stations": report["stations"]}


async def test_export_rows_one_per_item_in_local_time(daybook: Daybook) -> None:
    rows = [dict(zip(EXPORT_COLUMNS, row)) for row in await _exported(daybook, DAY, DAY)]
    assert [(r["order_id"], r["item"], r["qty"]) for r in rows] == [
        (1, "Bulgogi", 2), (1, "Soju", 1), (2, "Galbi", 1), (3, "Bulgogi", 1), (3, "Fries", 2),
        (4, "Soju", 3), (5, "김치찌개", 1)]
    first = rows[0]
    assert first["placed_at"] == "2026-11-30T11:00:00+09:00"
    assert first["ready_at"] == "2026-11-30T11:06:40+09:00"
    assert first["served_at"] == "2026-11-30T11:07:40+09:00"
    assert first["item_done_at"] == "2026-11-30T11:05:00+09:00"
    assert (first["table"], first["robot_id"], first["task_id"], first["task_status"]) == (
        "T7", "bot-1", 1, "completed")
    # The seeded orders are of an earlier release: unpriced, and of no visit.
    assert (first["unit_price"], first["amount"], first["visit_id"]) == (0, 0, None)
    assert first["modifiers"] == "no onion; extra rice" and first["order_note"] == QUOTED_NOTE
    assert rows[3]["item_note"] == FORMULA_NOTE  # raw here: escaping is the CSV writer's
    assert rows[4]["item_done_at"] == "" and rows[4]["ready_at"] == ""
    two_days = await _exported(daybook, DAY, date(2026, 12, 1))
    assert len(two_days) == 8  # the next day's first order, placed at midnight
    assert await _exported(daybook, date(2020, 1, 1), date(2020, 1, 1)) == []


async def _exported(daybook: Daybook, first: date, last: date) -> list[list[Any]]:
    async with daybook.export(first, last) as batches:
        return [row async for batch in batches for row in batch]


async def test_an_export_checks_its_range_and_reads_its_first_batch_on_entering(
    daybook: Daybook, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Invalid):
        async with daybook.export(date(2026, 12, 1), DAY):
            pass
    monkeypatch.setattr("robodyne.store.report_queries.EXPORT_BATCH", 3)
    async with daybook.export(DAY, DAY) as batches:
        sizes = [len(batch) async for batch in batches]
    assert sizes == [3, 3, 1]


def test_a_day_is_yyyy_mm_dd_or_today() -> None:
    assert parse_day("2026-11-30", SEOUL) == DAY
    assert parse_day(None, SEOUL) == parse_day("", SEOUL)
    for bad in ("20261130", "2026-11-31", "yesterday", "2026-11-30T00:00", "２０２６-11-30",
                "2026-W48-1", "2026-11-3 ", "+2026-11-30"[:10]):
        with pytest.raises(Invalid):
            parse_day(bad, SEOUL)
    for edge in (date(9999, 12, 31), date(1, 1, 1)):  # no next day; no start east of UTC
        with pytest.raises(Invalid):
            day_range(edge, edge, SEOUL)


def test_a_day_with_a_clock_change_is_23_or_25_hours() -> None:
    new_york = ZoneInfo("America/New_York")
    assert day_range(date(2026, 3, 8), date(2026, 3, 8), new_york) == (
        "2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z")
    assert day_range(date(2026, 11, 1), date(2026, 11, 1), new_york) == (
        "2026-11-01T04:00:00.000Z", "2026-11-02T05:00:00.000Z")
    with pytest.raises(Invalid):
        day_range(date(2026, 11, 2), date(2026, 11, 1), new_york)
    clock = WallClock(new_york)
    assert clock("2026-11-01T05:30:00.000Z") == "2026-11-01T01:30:00-04:00"
    assert clock("2026-11-01T06:30:00.000Z") == "2026-11-01T01:30:00-05:00"
    assert clock(None) == clock("") == ""


# Zones whose clocks change, by an hour or by 30 minutes (Lord Howe), or whose offset has
# minutes (Kathmandu +05:45, India +05:30), and two that never change.
STEADY_ZONES = {"Asia/Kathmandu", "Asia/Kolkata", "Asia/Seoul", "UTC"}
TRICKY_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
                "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Asia/Seoul", "UTC"]


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(TRICKY_ZONES),
       moments=st.lists(st.datetimes(min_value=datetime(2025, 1, 1),
                                     max_value=datetime(2027, 12, 31),
                                     timezones=st.just(timezone.utc)), min_size=1, max_size=40))
def test_the_wall_clock_says_what_a_full_conversion_says(zone: str,
                                                         moments: list[datetime]) -> None:
    clock = WallClock(ZoneInfo(zone))
    for moment in sorted(moments):  # an export's stamps come in time order, and repeat hours
        stamp = iso(moment)
        assert clock(stamp) == moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def test_the_90th_percentile_is_a_measured_value() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 101)], 0.9) == 90.0
    assert spread([1.0, 2.0, 10.0, 20.0]) == {"count": 4, "median_s": 6.0, "p90_s": 20.0}


@pytest.mark.parametrize("zone", TRICKY_ZONES)
def test_the_wall_clock_is_right_through_every_clock_change_of_a_year(zone: str) -> None:
    """Every 7 minutes through the hours around each of 2026's changes, in time order."""
    local_zone = ZoneInfo(zone)
    clock = WallClock(local_zone)
    hour = timedelta(hours=1)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    changes = [start + n * hour for n in range(365 * 24)
               if (start + n * hour).astimezone(local_zone).utcoffset()
               != (start + (n + 1) * hour).astimezone(local_zone).utcoffset()]
    assert len(changes) == (0 if zone in STEADY_ZONES else 2), changes
    for change in changes:
        for step in range(0, 4 * 60, 7):
            moment = change - hour + timedelta(minutes=step, seconds=13, milliseconds=999)
            assert clock(iso(moment)) == moment.astimezone(local_zone).isoformat(
                timespec="seconds"), iso(moment)

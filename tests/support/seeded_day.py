"""One hand-made day of a restaurant in Seoul, written straight into a real SQLite file, for
checking the day's report and the export against numbers worked out by hand
(tests/unit/test_daybook.py, tests/integration/test_reports.py).

The day is 2026-11-30 in Asia/Seoul (UTC+9, no daylight saving): 2026-11-29T15:00Z to
2026-11-30T15:00Z. Every time below is given as seconds after an order was placed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

import orjson

from robodyne.core.models import iso
from robodyne.core.money import CheckLine, Terms, check
from robodyne.store.store import Store

DAY: Final = date(2026, 11, 30)
ZONE: Final = "Asia/Seoul"
# A guest's note that a spreadsheet would run as a formula, and one that needs quoting.
FORMULA_NOTE: Final = '=HYPERLINK("http://evil.example","click")'
QUOTED_NOTE: Final = 'no onions, "extra" sauce,\nplease'


def _at(hh_mm: str, day: date = DAY) -> datetime:
    """A Seoul wall-clock time on `day`, as a UTC moment."""
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes,
                    tzinfo=timezone(timedelta(hours=9))).astimezone(timezone.utc)


def _item(name: str, qty: int, station: str, done_after: float | None, placed: datetime,
          note: str = "", modifiers: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "qty": qty, "note": note, "modifiers": modifiers or [],
            "station": station, "done": done_after is not None,
            "done_at": None if done_after is None else iso(placed + timedelta(
                seconds=done_after))}


def _after(placed: datetime, seconds: float | None) -> str | None:
    return None if seconds is None else iso(placed + timedelta(seconds=seconds))


# (placed, status, robot, task, ready after, served after, items as (name, qty, station, done
# after[, note[, modifiers]])), order note
ORDERS: Final = [
    (_at("11:00"), "served", "bot-1", 1, 400, 460,
     [("Bulgogi", 2, "grill", 300, "", ["no onion", "extra rice"]), ("Soju", 1, "bar", 60)],
     QUOTED_NOTE),
    (_at("11:30"), "served", "bot-2", 2, 600, 720, [("Galbi", 1, "grill", 600)], ""),
    (_at("12:10"), "preparing", None, None, None, None,
     [("Bulgogi", 1, "grill", 200, FORMULA_NOTE), ("Fries", 2, "fry", None)], ""),
    (_at("12:20"), "cancelled", None, None, None, None, [("Soju", 3, "bar", None)], ""),
    (_at("23:50"), "served", "bot-1", 4, 100, 190, [("김치찌개", 1, "grill", 100)], ""),
    # The moments either side of the day: neither is in its report.
    (_at("23:59", DAY - timedelta(days=1)) + timedelta(seconds=59.999), "served", "bot-1",
     None, 10, 20, [("Galbi", 5, "grill", 10)], ""),
    (_at("00:00", DAY + timedelta(days=1)), "placed", None, None, None, None,
     [("Galbi", 7, "grill", None)], ""),
]
MENU: Final = [("Bulgogi", "mains", "grill"), ("Galbi", "mains", "grill"),
               ("김치찌개", "mains", "grill"), ("Fries", "sides", "fry"),
               ("Soju", "drinks", "bar")]
# (created, kind, status, robot)
TASKS: Final = [
    (_at("11:07"), "deliver", "completed", "bot-1"),
    (_at("11:40"), "deliver", "completed", "bot-2"),
    (_at("21:00"), "deliver", "failed", "bot-1"),
    (_at("23:52"), "deliver", "completed", "bot-1"),
    (_at("12:00"), "return", "completed", "bot-2"),
    (_at("22:00", DAY - timedelta(days=1)), "deliver", "failed", "bot-2"),
]
# (created, type)
EVENTS: Final = [
    (_at("13:00"), "inventory_low"), (_at("18:00"), "inventory_low"),
    (_at("19:30"), "menu_item_unavailable"), (_at("14:00"), "robot_error"),
    (_at("20:00", DAY - timedelta(days=1)), "inventory_out"),
]


async def seed_day(store: Store) -> None:
    """The tables, menu, orders, tasks and events above, in one transaction."""
    async with store.transaction() as db:
        await db.execute("INSERT INTO dining_tables (id, label, seats, updated_at)"
                         " VALUES (7, 'T7', 4, ?)", (iso(_at("10:00")),))
        await db.executemany("INSERT INTO menu (name, category, station) VALUES (?, ?, ?)",
                             MENU)
        for task_id, (created, kind, status, robot) in enumerate(TASKS, start=1):
            await db.execute(
                "INSERT INTO tasks (id, kind, status, robot_id, stops, created_at, finished_at)"
                " VALUES (?, ?, ?, ?, '[]', ?, ?)",
                (task_id, kind, status, robot, iso(created),
                 iso(created + timedelta(minutes=2))))
        for placed, status, robot, task, ready, served, items, note in ORDERS:
            await db.execute(
                "INSERT INTO orders (table_id, status, items, note, robot_id, task_id,"
                " created_at, updated_at, ready_at, served_at) VALUES (7, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                (status, orjson.dumps([_item(*item[:4], placed, *item[4:])  # type: ignore[misc]
                                       for item in items]).decode(),
                 note, robot, task, iso(placed), iso(placed), _after(placed, ready),
                 _after(placed, served)))
        for created, type_ in EVENTS:
            await db.execute("INSERT INTO events (type, message, data, created_at)"
                             " VALUES (?, ?, '{\"sku\": \"soju\"}', ?)",
                             (type_, f"{type_} at {created}", iso(created)))


# The day's visits (SPEC §12.5), for the sales: (table, party size, opened, closed or None,
# lines as (name, qty, unit price), payments as (amount, method)). KRW, 10 % tax included, no
# service charge. Worked out by hand: two checks closed that day, 35000 (tax 3182) and 28000
# (tax 2545): gross 63000, average 31500, 5 covers, cash 20000, card 43000; turned in 70 and
# 45 minutes. The open visit and the one closed the evening before count for nothing.
VISITS: Final = [
    (7, 2, _at("11:00"), _at("12:10"), [("Bulgogi", 2, 15000), ("Soju", 1, 5000)],
     [(20000, "cash"), (15000, "card")]),
    (8, 3, _at("12:20"), _at("13:05"), [("Galbi", 1, 28000)], [(28000, "card")]),
    (8, 4, _at("21:00"), None, [("Galbi", 2, 28000)], [(10000, "cash")]),
    (7, 2, _at("22:00", DAY - timedelta(days=1)), _at("23:59", DAY - timedelta(days=1)),
     [("Fries", 1, 6000)], [(6000, "other")]),
]
TERMS: Final = Terms.of("KRW", 0.1, True, 0)
# The day's parties (SPEC §12.5's wait): (joined, seated, quoted seconds, page code or None).
# Two from the line: 20 minutes against 15 quoted (+300 s), 15 minutes against 25 (-600 s):
# median 1050 s, over the quote by a median of -150 s. The third was only recorded seated
# (no code: it never stood in line) and counts for nothing.
PARTIES: Final = [
    (_at("11:40"), _at("12:00"), 900, "code-one"),
    (_at("12:05"), _at("12:20"), 1500, "code-two"),
    (_at("13:00"), _at("13:00"), None, None),
]


async def seed_sales(store: Store) -> None:
    """Table T8, the visits above with their checks and payments, and the parties, in one
    transaction."""
    async with store.transaction() as db:
        await db.execute("INSERT INTO dining_tables (id, label, seats, updated_at)"
                         " VALUES (8, 'T8', 4, ?)", (iso(_at("10:00")),))
        for table, party, opened, closed, lines, payments in VISITS:
            paid = sum(amount for amount, _ in payments)
            bill = check([CheckLine(order_id=0, index=n, name=name, qty=qty, price=price,
                                    amount=qty * price)
                          for n, (name, qty, price) in enumerate(lines)], TERMS, paid)
            cursor = await db.execute(
                "INSERT INTO visits (table_id, party_size, status, opened_at, closed_at, bill)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (table, party, "open" if closed is None else "closed", iso(opened),
                 None if closed is None else iso(closed), bill.model_dump_json()))
            await db.executemany(
                "INSERT INTO payments (visit_id, amount, method, created_at) VALUES (?, ?, ?, ?)",
                [(cursor.lastrowid, amount, method, iso(closed or opened))
                 for amount, method in payments])
        await db.executemany(
            "INSERT INTO customers (name, party_size, status, created_at, updated_at, seated_at,"
            " quoted_wait_s, code) VALUES ('Party', 2, 'seated', ?, ?, ?, ?, ?)",
            [(iso(joined), iso(seated), iso(seated), quoted, code)
             for joined, seated, quoted, code in PARTIES])

"""A year of a busy restaurant as a SQLite file, for bench/reports.py.

The file is created by opening it once with the Store (so the migrations run), then filled with
the stdlib sqlite3 in one transaction, a day at a time, and cached in CACHE_DIR by its sizes.
Days are the restaurant's (ZONE); every stamp is UTC as core/models.iso writes it.
"""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson

from robodyne.demo.floor import grid_tables
from robodyne.core.money import CheckLine, Terms, check
from robodyne.demo.seed import INVENTORY, MENU
from robodyne.store.backup import lock_path
from robodyne.store.schema import MIGRATIONS
from robodyne.store.store import Store

ZONE: Final = "Asia/Seoul"
FIRST_DAY: Final = date(2025, 12, 1)
ROBOTS: Final = tuple(f"bot-{n}" for n in range(1, 9))
TABLES: Final = 60
CACHE_DIR: Final = Path(tempfile.gettempdir()) / "robodyne-bench"
# Bump when what is generated changes, so that a cached file of the old shape is not reused.
# 2: priced items, and a visit (its check, its payments) for each served order.
GENERATOR: Final = 2
SEED: Final = 20261130
# Orders a day brings against the week's mean, Monday first.
WEEKDAY_LOAD: Final = (0.8, 0.85, 0.9, 0.95, 1.2, 1.25, 1.05)
# Items per order and how often (mean 3.3).
ITEM_COUNTS: Final = (1, 2, 3, 4, 5, 6)
ITEM_WEIGHTS: Final = (15, 20, 20, 20, 15, 10)
CANCELLED: Final = 0.03
FAILED_FIRST_TRY: Final = 0.015
# Robot events a served order brings: its deliver task's accepted, arrived, delivered and done,
# then the trip home's accepted, arrived and done. Bus and summon trips (six each: there and
# home) make up the rest of the robot events asked for.
EVENTS_PER_DELIVERY: Final = 7
EVENTS_PER_TRIP: Final = 6
NOTES: Final = ("allergy: nuts", "no spice", "birthday", "kids' portion", "to share")
HOUR_MS: Final = 3_600_000
# A served order's party: seated this long before it ordered, gone this long after it was
# served (SPEC §12.1); its check in the demo's terms (KRW, tax included, no service charge).
SEATED_BEFORE_MS: Final = 5 * 60_000
LEFT_AFTER_MS: Final = 35 * 60_000
TERMS: Final = Terms.of("KRW", 0.10, True, 0)


_MINUTES: dict[int, str] = {}


def stamp(ms: int) -> str:
    """Epoch milliseconds as core/models.iso writes a moment: 2026-11-30T02:00:00.000Z."""
    minute, in_minute = divmod(ms, 60_000)
    prefix = _MINUTES.get(minute)
    if prefix is None:  # a year has 525,600 minutes: a few MB, and 3x faster than gmtime
        t = time.gmtime(minute * 60)
        prefix = _MINUTES[minute] = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
                                     f"{t.tm_hour:02d}:{t.tm_min:02d}:")
    return f"{prefix}{in_minute // 1000:02d}.{in_minute % 1000:03d}Z"


@dataclass
class Sizes:
    days: int
    orders_per_day: int
    robot_events: int

    @property
    def path(self) -> Path:
        return CACHE_DIR / (f"year-{self.days}d-{self.orders_per_day}o-{self.robot_events}e"
                            f"-s{len(MIGRATIONS)}-g{GENERATOR}.db")

    def day(self, n: int) -> date:
        return FIRST_DAY + timedelta(days=n)


@dataclass
class _Task:
    created: int
    kind: str
    robot: str
    table_id: int
    finished: int
    status: str = "completed"
    order_id: int | None = None
    priority: int = 0
    detail: str = "done"
    command_id: str = ""
    id: int = 0


@dataclass
class _Order:
    id: int
    table_id: int
    created: int
    items: list[dict[str, Any]]
    status: str
    updated: int
    priority: str = "normal"
    note: str = ""
    ready: int | None = None
    served: int | None = None
    robot: str | None = None
    tasks: list[_Task] = field(default_factory=list)


Event = tuple[int, str, str, str, str, dict[str, Any]]


class _Year:
    """Generates the rows a day at a time, with ids running on across days."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.rng = random.Random(SEED)
        self.zone = ZoneInfo(ZONE)
        self.labels = {n: label for n, (label, *_) in enumerate(grid_tables(TABLES), start=1)}
        self.menu_weights = [2 if category == "drinks" else 1 for _, category, *_ in MENU]
        self.next_order = 1
        self.next_task = 1
        self.robot_events_per_day = sizes.robot_events / sizes.days

    def midnight_ms(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp() * 1000)

    def opening_time(self, midnight: int) -> int:
        """When an order is placed: a lunch and a dinner peak inside 11:00-21:45."""
        rng = self.rng
        pick = rng.random()
        hour = (rng.gauss(12.75, 0.75) if pick < 0.4 else rng.gauss(19.0, 1.2) if pick < 0.9
                else rng.uniform(11, 21.75))
        return midnight + int(min(21.75, max(11.0, hour)) * HOUR_MS)

    def items(self, created: int, cooked: bool) -> list[dict[str, Any]]:
        rng = self.rng
        items = []
        for _ in range(rng.choices(ITEM_COUNTS, ITEM_WEIGHTS)[0]):
            dish = rng.choices(MENU, self.menu_weights)[0]
            name, station, target_s, modifiers = (dish.name, dish.station, dish.prep_target_s,
                                                  dish.modifiers)
            done_at = created + int(target_s * 1000 * rng.lognormvariate(0, 0.35))
            items.append({
                "name": name, "qty": rng.choices((1, 2, 3), (80, 15, 5))[0], "price": dish.price,
                "note": rng.choice(NOTES) if rng.random() < 0.03 else "",
                "modifiers": modifiers[:1] if modifiers and rng.random() < 0.25 else [],
                "done": cooked, "station": station, "done_at": done_at if cooked else None})
        return items

    def order(self, created: int) -> _Order:
        rng = self.rng
        table_id = rng.randint(1, TABLES)
        if rng.random() < CANCELLED:
            return _Order(0, table_id, created, self.items(created, False), "cancelled",
                          created + int(rng.uniform(60, 900) * 1000))
        items = self.items(created, True)
        ready = max(item["done_at"] for item in items) + int(rng.uniform(5, 45) * 1000)
        order = _Order(0, table_id, created, items, "served", 0, ready=ready,
                       priority="rush" if rng.random() < 0.02 else "normal",
                       note=rng.choice(NOTES) if rng.random() < 0.05 else "")
        leaves = ready
        if rng.random() < FAILED_FIRST_TRY:
            robot = rng.choice(ROBOTS)
            leaves = ready + int(rng.uniform(20, 90) * 1000)
            order.tasks.append(_Task(ready, "deliver", robot, table_id, leaves, "failed",
                                     detail=f"robot {robot} reports the task failed"))
        order.robot = rng.choice(ROBOTS)
        order.served = leaves + int(rng.lognormvariate(math.log(90), 0.4) * 1000)
        order.updated = order.served
        order.tasks.append(_Task(leaves, "deliver", order.robot, table_id, order.served + 500))
        for task in order.tasks:
            task.priority = 1 if order.priority == "rush" else 0
        return order

    def day(self, n: int) -> tuple[list[_Order], list[_Task], list[Event]]:
        rng = self.rng
        day = self.sizes.day(n)
        midnight = self.midnight_ms(day)
        count = round(self.sizes.orders_per_day * WEEKDAY_LOAD[day.weekday()]
                      * rng.uniform(0.9, 1.1))
        orders = [self.order(created) for created in
                  sorted(self.opening_time(midnight) for _ in range(count))]
        tasks = [task for order in orders for task in order.tasks]
        served = sum(order.status == "served" for order in orders)
        trips = max(0, round((self.robot_events_per_day - EVENTS_PER_DELIVERY * served)
                             / EVENTS_PER_TRIP))
        for _ in range(trips):
            created = self.opening_time(midnight)
            tasks.append(_Task(created, rng.choice(("bus", "summon")), rng.choice(ROBOTS),
                               rng.randint(1, TABLES), created + int(rng.uniform(30, 120) * 1000)))
        for order in orders:
            order.id = self.next_order
            self.next_order += 1
            for task in order.tasks:
                task.order_id = order.id
        for task in sorted(tasks, key=lambda task: task.created):
            task.id = self.next_task
            task.command_id = f"{rng.getrandbits(48):012x}"
            self.next_task += 1
        return orders, tasks, self.events(midnight, orders, tasks)

    def events(self, midnight: int, orders: list[_Order], tasks: list[_Task]) -> list[Event]:
        """The day's journal: robots' events, the orders' own, robots coming and going, stock."""
        rng = self.rng
        events: list[Event] = []

        def result(at: int, robot: str, command_id: str, status: str, detail: str = "") -> None:
            events.append((at, "command_result", "warning" if status == "failed" else "info",
                           f"robot:{robot}", f"command {command_id} {status}"
                           + (f": {detail}" if detail else ""),
                           {"robot_id": robot, "command_id": command_id, "status": status,
                            "detail": detail}))

        def arrived(at: int, robot: str, table_id: int | None, task_id: int | None) -> None:
            where = f"table {self.labels[table_id]}" if table_id else "the dock"
            data: dict[str, Any] = {"robot_id": robot}
            if table_id:
                data.update(table_id=table_id, task_id=task_id)
            events.append((at, "arrived", "info", f"robot:{robot}", f"Arrived at {where}", data))

        for task in tasks:
            result(task.created + 300, task.robot, task.command_id, "accepted")
            if task.status == "failed":
                result(task.finished, task.robot, task.command_id, "failed", task.detail)
                continue
            arrived(task.finished - 3500, task.robot, task.table_id, task.id)
            if task.kind == "deliver":
                events.append((task.finished - 500, "delivered", "info", f"robot:{task.robot}",
                               f"Delivered order {task.order_id} to table "
                               f"{self.labels[task.table_id]}",
                               {"robot_id": task.robot, "order_id": task.order_id,
                                "table_id": task.table_id, "task_id": task.id}))
            result(task.finished, task.robot, task.command_id, "done")
            home = f"{rng.getrandbits(48):012x}"
            result(task.finished + 5500, task.robot, home, "accepted")
            arrived(task.finished + 40_000, task.robot, None, None)
            result(task.finished + 40_500, task.robot, home, "done")
        for order in orders:
            moments = [("order_placed", order.created)]
            if order.ready is not None and order.served is not None:
                moments += [("order_ready", order.ready), ("order_served", order.served)]
            for kind, at in moments:
                events.append((at, kind, "info", "server", f"order {order.id} is {kind[6:]}",
                               {"order_id": order.id, "table_id": order.table_id,
                                "robot_id": order.robot}))
        for robot in ROBOTS:
            for kind, hour in (("robot_connected", 10.5), ("robot_disconnected", 22.5)):
                events.append((midnight + int(hour * HOUR_MS) + rng.randint(0, 600_000), kind,
                               "info", f"robot:{robot}", f"{robot} {kind[6:]}",
                               {"robot_id": robot}))
        events += self.stock(midnight)
        events.sort(key=lambda event: event[0])
        return events

    def stock(self, midnight: int) -> list[Event]:
        """A few stock events a day: running low, running out, a dish 86'd."""
        rng = self.rng
        events: list[Event] = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            n = rng.randrange(len(INVENTORY))
            sku, name, _, unit, low = INVENTORY[n]
            events.append((self.opening_time(midnight), "inventory_low", "warning", "server",
                           f"{name} is low: {low - 1:g} {unit} left",
                           {"inventory_id": n + 1, "sku": sku, "quantity": low - 1}))
        if rng.random() < 0.25:
            n = rng.randrange(len(INVENTORY))
            events.append((self.opening_time(midnight), "inventory_out", "error", "server",
                           f"{INVENTORY[n][1]} is out of stock",
                           {"inventory_id": n + 1, "sku": INVENTORY[n][0]}))
        if rng.random() < 0.3:
            n = rng.randrange(len(MENU))
            name, _, station, *_ = MENU[n]
            events.append((self.opening_time(midnight), "menu_item_unavailable", "warning",
                           "server", f"{name} is 86: no more orders for it",
                           {"menu_item_id": n + 1, "name": name, "station": station}))
        return events


def _order_row(order: _Order) -> tuple[Any, ...]:
    items = [{**item, "done_at": None if item["done_at"] is None else stamp(item["done_at"])}
             for item in order.items]
    return (order.id, order.table_id, order.status, orjson.dumps(items).decode(), order.note,
            order.robot, stamp(order.created), stamp(order.updated),
            None if order.ready is None else stamp(order.ready),
            None if order.served is None else stamp(order.served),
            order.tasks[-1].id if order.tasks else None, order.priority,
            order.id if order.served is not None else None)


def _visit_rows(order: _Order) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
    """A served order's visit (its id is the order's) and its payments, paid in full as it
    left: none for a cancelled order. No RNG: the year's other rows stay as they were."""
    if order.served is None:
        return None
    lines = [CheckLine(order_id=order.id, index=n, name=item["name"], qty=item["qty"],
                       price=item["price"], amount=item["qty"] * item["price"])
             for n, item in enumerate(order.items)]
    total = check(lines, TERMS).total
    closed = order.served + LEFT_AFTER_MS
    bill = check(lines, TERMS, total).model_dump_json()
    visit = (order.id, order.table_id, order.id % 4 + 1, stamp(order.created - SEATED_BEFORE_MS),
             stamp(closed), bill)
    # One in three parties splits the bill: half in cash, the rest by card.
    shares = [(total // 2, "cash"), (total - total // 2, "card")] if order.id % 3 == 0 else [
        (total, "card" if order.id % 4 else "cash")]
    return visit, [(order.id, amount, method, f"slip {order.id}", stamp(closed - 60_000))
                   for amount, method in shares if amount > 0]


def _task_row(task: _Task) -> tuple[Any, ...]:
    stops = [{"table_id": task.table_id,
              "order_ids": [] if task.order_id is None else [task.order_id],
              "status": "pending" if task.status == "failed" else "done"}]
    return (task.id, task.kind, task.status, task.priority, task.robot, 0,
            orjson.dumps(stops).decode(), "auto", task.detail, task.command_id, "[]",
            stamp(task.created), stamp(task.created + 50), stamp(task.created + 300),
            stamp(task.finished))


def _event_row(event: Event) -> tuple[str, ...]:
    at, kind, severity, source, message, data = event
    return kind, severity, source, message, orjson.dumps(data).decode(), stamp(at)


async def _migrate(path: Path) -> None:
    store = Store(path)
    await store.open()
    await store.close()


def _fill(path: Path, sizes: Sizes) -> None:
    year = _Year(sizes)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        db.execute("BEGIN")
        first = stamp(year.midnight_ms(sizes.day(0)) + 9 * HOUR_MS)
        db.executemany("INSERT INTO dining_tables (id, label, seats, status, x, y, updated_at)"
                       " VALUES (?, ?, ?, 'available', ?, ?, ?)",
                       [(n, label, seats, x, y, first) for n, (label, seats, x, y)
                        in enumerate(grid_tables(TABLES), start=1)])
        db.executemany("INSERT INTO menu (name, category, station, prep_target_s)"
                       " VALUES (?, ?, ?, ?)", [row[:4] for row in MENU])
        db.executemany("INSERT INTO inventory (sku, name, quantity, unit, low_threshold)"
                       " VALUES (?, ?, ?, ?, ?)", INVENTORY)
        db.executemany("INSERT INTO robots (id, name, model, status, battery) VALUES"
                       " (?, ?, 'Servi', 'offline', 80)",
                       [(robot, robot.replace("bot-", "Bot ")) for robot in ROBOTS])
        for n in range(sizes.days):
            orders, tasks, events = year.day(n)
            db.executemany("INSERT INTO orders (id, table_id, status, items, note, robot_id,"
                           " created_at, updated_at, ready_at, served_at, task_id, priority,"
                           " visit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           map(_order_row, orders))
            visits = [made for made in map(_visit_rows, orders) if made is not None]
            db.executemany("INSERT INTO visits (id, table_id, party_size, status, opened_at,"
                           " closed_at, bill) VALUES (?, ?, ?, 'closed', ?, ?, ?)",
                           [visit for visit, _ in visits])
            db.executemany("INSERT INTO payments (visit_id, amount, method, reference,"
                           " created_at) VALUES (?, ?, ?, ?, ?)",
                           [payment for _, payments in visits for payment in payments])
            db.executemany("INSERT INTO tasks (id, kind, status, priority, robot_id, pinned,"
                           " stops, source, detail, command_id, rejected_by, created_at,"
                           " assigned_at, started_at, finished_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           map(_task_row, tasks))
            db.executemany("INSERT INTO events (type, severity, source, message, data,"
                           " created_at) VALUES (?, ?, ?, ?, ?, ?)", map(_event_row, events))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def ensure(sizes: Sizes) -> tuple[Path, float | None]:
    """The cached file for these sizes, built first if there is none; the seconds the build
    took (None: it was cached)."""
    path = sizes.path
    if path.exists():
        return path, None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    asyncio.run(_migrate(partial))
    lock_path(partial).unlink(missing_ok=True)
    _fill(partial, sizes)
    partial.rename(path)
    return path, time.perf_counter() - started


def counts(path: Path) -> dict[str, int]:
    """What the file holds, as the benchmark reports it."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        def one(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        return {
            "orders": one("SELECT count(*) FROM orders"),
            "order_items": one("SELECT sum(json_array_length(items)) FROM orders"),
            "cancelled": one("SELECT count(*) FROM orders WHERE status = 'cancelled'"),
            "tasks": one("SELECT count(*) FROM tasks"),
            "events": one("SELECT count(*) FROM events"),
            "robot_events": one("SELECT count(*) FROM events"
                                " WHERE type IN ('arrived', 'delivered', 'command_result')"),
            "stock_events": one("SELECT count(*) FROM events WHERE type IN"
                                " ('inventory_low', 'inventory_out', 'menu_item_unavailable')"),
            "visits": one("SELECT count(*) FROM visits"),
            "payments": one("SELECT count(*) FROM payments"),
            "bytes": path.stat().st_size,
        }


def items_between(path: Path, start: str, end: str) -> int:
    """Order items of the orders placed in [start, end): the rows an export of it has."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        row = db.execute("SELECT coalesce(sum(json_array_length(items)), 0) FROM orders"
                         " WHERE created_at >= ? AND created_at < ?", (start, end)).fetchone()
        return int(row[0])

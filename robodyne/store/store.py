"""The store: the database, every entity's reads and writes (typed here, done by rows.py over
entities.py), and the rows of one concern each (keys.py, places.py, …) as its attributes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from ..core.calls import Call, CallChanges, CallKind, CallStatus
from ..core.models import (
    Customer,
    CustomerChanges,
    CustomerStatus,
    Event,
    InventoryItem,
    Item,
    LogLevel,
    MenuChanges,
    MenuItem,
    Order,
    OrderChanges,
    OrderItem,
    OrderPriority,
    OrderSource,
    Payment,
    PaymentMethod,
    Robot,
    Severity,
    StreamStatus,
    SystemLog,
    Table,
    TableChanges,
    TableStatus,
    Task,
    TaskChanges,
    TaskKind,
    TaskSource,
    TaskStop,
    VideoStream,
    VideoStreamChanges,
    Visit,
    VisitChanges,
    VisitStatus,
    utcnow,
)
from ..core.money import Check, order_total
from ..core.orders import closed_cutoff
from ..core.stock import Portions
from ..core.tasks import finished_cutoff
from ..core.topics import PAYMENTS, Topic
from .backup import Written, write_backup
from .cameras import CameraRows
from .database import Database
from .entities import (
    CALLS,
    CLOSED_SQL,
    CUSTOMERS,
    EVENTS,
    FINISHED_SQL,
    IN_LINE_SQL,
    INVENTORY,
    MENU,
    NUMBERED,
    OPEN_SQL,
    ORDERS,
    OUT_OF_LINE_SQL,
    ROBOTS,
    SYSTEMLOGS,
    TABLES,
    TASKS,
    UNFINISHED_SQL,
    VIDEO_STREAMS,
    VISITS,
    json,
)
from .guests import GuestRows
from .keys import Keys
from .links import LinkRows
from .places import PlaceRows
from .report_queries import ReportReader
from .retention import RetentionRows, text_size
from .rows import Rows
from .stock import StockRows
from .tables import TableRows
from .waitlist import WaitlistRows

__all__ = ["Store"]


class Store:
    """Every read and write of the SQLite file goes through here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.database = Database(path)
        self.keys = Keys(self.database)
        self._rows = Rows(self.database, self.keys)
        self._links = LinkRows(self.database)
        self.guests = GuestRows(self.database)
        self.waitlist = WaitlistRows(self.database)
        self.places = PlaceRows(self.database)
        self.cameras = CameraRows(self.database)
        self.floor = TableRows(self.database)
        self.retention = RetentionRows(self.database)
        self.stock = StockRows(self.database, self.keys, self._rows)
        # Seconds each commit took (for /metrics), and the health flips (for the journal).
        self.on_commit = self.database.on_commit
        self.on_health = self.database.on_health

    # ---- the database's life and health (database.py) ----

    async def open(self) -> None:
        """Connect, configure and migrate the database file, creating it if need be."""
        await self.database.open()

    async def close(self) -> None:
        await self.database.close()

    @property
    def healthy(self) -> bool:
        return self.database.healthy

    @property
    def failure(self) -> str | None:
        """Why the last write failed, while it is failing."""
        return self.database.failure

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self.database.transaction()

    def report_reader(self) -> AbstractAsyncContextManager[ReportReader]:
        return self.database.report_reader()

    async def backup(self, target: Path) -> Written:
        """A checked copy of the database at `target`, taken while the store goes on serving
        (store.backup.write_backup: a connection of its own, so no write waits for it)."""
        return await write_backup(self.path, target)

    # ---- reads: each returns what its topic's snapshot holds
    # (docs/protocol.md, "Snapshot on subscribe") ----

    async def robots(self) -> list[Robot]:
        return await self._rows.every(ROBOTS)

    async def robot(self, robot_id: str) -> Robot | None:
        return await self._rows.by_id(ROBOTS, robot_id)

    async def tables(self) -> list[Table]:
        return await self._rows.every(TABLES)

    async def table(self, table_id: int) -> Table | None:
        return await self._rows.by_id(TABLES, table_id)

    async def orders(self) -> list[Order]:
        """Open orders and those closed within the window (core.orders.closed_cutoff)."""
        return await self._rows.fetch(
            ORDERS, f"WHERE status IN ({OPEN_SQL})"
            f" OR (status IN ({CLOSED_SQL}) AND updated_at >= ?) ORDER BY id", closed_cutoff())

    async def order(self, order_id: int) -> Order | None:
        return await self._rows.by_id(ORDERS, order_id)

    async def customers(self) -> list[Customer]:
        """Parties in line and those out of it within the window (core.orders.closed_cutoff)."""
        return await self._rows.fetch(
            CUSTOMERS, f"WHERE status IN ({IN_LINE_SQL}) OR (status IN ({OUT_OF_LINE_SQL})"
            " AND updated_at >= ?) ORDER BY id", closed_cutoff())

    async def customer(self, customer_id: int) -> Customer | None:
        return await self._rows.by_id(CUSTOMERS, customer_id)

    async def inventory(self) -> list[InventoryItem]:
        return await self._rows.every(INVENTORY)

    async def inventory_item(self, item_id: int) -> InventoryItem | None:
        return await self._rows.by_id(INVENTORY, item_id)

    async def video_streams(self) -> list[VideoStream]:
        return await self._rows.every(VIDEO_STREAMS)

    async def video_stream(self, stream_id: int) -> VideoStream | None:
        return await self._rows.by_id(VIDEO_STREAMS, stream_id)

    async def menu(self) -> list[MenuItem]:
        return await self._rows.fetch(MENU, "ORDER BY category, name")

    async def menu_item(self, item_id: int) -> MenuItem | None:
        return await self._rows.by_id(MENU, item_id)

    async def tasks(self) -> list[Task]:
        """Unfinished tasks and those finished within the window (core.tasks.finished_cutoff)."""
        return await self._rows.fetch(
            TASKS, f"WHERE status IN ({UNFINISHED_SQL})"
            f" OR (status IN ({FINISHED_SQL}) AND finished_at >= ?) ORDER BY id",
            finished_cutoff())

    async def unfinished_tasks(self) -> list[Task]:
        return await self._rows.fetch(TASKS, f"WHERE status IN ({UNFINISHED_SQL}) ORDER BY id")

    async def task(self, task_id: int) -> Task | None:
        return await self._rows.by_id(TASKS, task_id)

    async def visits(self) -> list[Visit]:
        """Open visits and those closed within the closed orders' window."""
        return await self._rows.fetch(
            VISITS, "WHERE status = ? OR (status = ? AND closed_at >= ?) ORDER BY id",
            VisitStatus.OPEN, VisitStatus.CLOSED, closed_cutoff())

    async def visit(self, visit_id: int) -> Visit | None:
        return await self._rows.by_id(VISITS, visit_id)

    async def open_visits(self) -> list[Visit]:
        return await self._rows.fetch(VISITS, "WHERE status = ? ORDER BY id", VisitStatus.OPEN)

    async def open_visit(self, table_id: int) -> Visit | None:
        """The table's open visit, if it has one (never more: a unique index)."""
        return await self._rows.first(VISITS, "WHERE table_id = ? AND status = ?", table_id,
                                      VisitStatus.OPEN)

    async def visit_orders(self, visit_id: int) -> list[Order]:
        return await self._rows.fetch(ORDERS, "WHERE visit_id = ? ORDER BY id", visit_id)

    async def visit_from(self, table_id: int, first_id: int) -> Visit | None:
        """The table's first visit with an id at least `first_id` (a guest session's visit)."""
        return await self._rows.first(VISITS, "WHERE table_id = ? AND id >= ? ORDER BY id",
                                      table_id, first_id)

    async def guest_orders_since(self, visit_id: int, since: str) -> int:
        """How many guest orders the visit has had since `since` (the guests' rate)."""
        rows = await self.database.rows(
            "SELECT COUNT(*) FROM orders WHERE visit_id = ? AND source = ? AND created_at >= ?",
            (visit_id, OrderSource.GUEST, since))
        return int(rows[0][0])

    async def calls(self) -> list[Call]:
        """Open calls and those ended within the closed orders' window."""
        cutoff = closed_cutoff()
        return await self._rows.fetch(
            CALLS, "WHERE status = ? OR COALESCE(answered_at, created_at) >= ? ORDER BY id",
            CallStatus.OPEN, cutoff)

    async def call(self, call_id: int) -> Call | None:
        return await self._rows.by_id(CALLS, call_id)

    async def open_calls(self, table_id: int) -> list[Call]:
        return await self._rows.fetch(CALLS, "WHERE table_id = ? AND status = ? ORDER BY id",
                                      table_id, CallStatus.OPEN)

    async def call_of_task(self, task_id: int) -> Call | None:
        return await self._rows.first(CALLS, "WHERE task_id = ? AND status = ?", task_id,
                                      CallStatus.OPEN)

    async def event(self, event_id: int) -> Event | None:
        return await self._rows.by_id(EVENTS, event_id)

    async def events(self, limit: int) -> list[Event]:
        """The newest `limit` events, oldest first."""
        return await self._rows.newest(EVENTS, limit)

    async def systemlogs(self, limit: int) -> list[SystemLog]:
        """The newest `limit` log records, oldest first."""
        return await self._rows.newest(SYSTEMLOGS, limit)

    async def state(self, topic: Topic) -> list[Item]:
        """Everything a state topic's snapshot holds, as the database has it now."""
        readers: dict[Topic, Callable[[], Awaitable[list[Any]]]] = {
            Topic.ROBOTS: self.robots,
            Topic.TABLES: self.tables,
            Topic.ORDERS: self.orders,
            Topic.CUSTOMERS: self.customers,
            Topic.INVENTORY: self.inventory,
            Topic.VIDEO_STREAMS: self.video_streams,
            Topic.TASKS: self.tasks,
            Topic.MENU: self.menu,
            Topic.VISITS: self.visits,
            Topic.CALLS: self.calls,
            Topic.PLACES: self.places.all,
        }
        items: list[Item] = await readers[topic]()
        return items

    async def one(self, topic: Topic, row_id: int) -> Item | None:
        """One item of a state topic by its integer id (robots aside), as the database has it."""
        found: Item | None = await self._rows.by_id(NUMBERED[topic], row_id)
        return found

    async def written(self, item: str, row_id: int) -> Item | None:
        """The item an idempotency key's record names (its kind: a topic, or PAYMENTS)."""
        if item != PAYMENTS:
            return await self.one(Topic(item), row_id)
        rows = await self.database.rows(
            "SELECT id, amount, method, reference, created_at FROM payments WHERE id = ?",
            (row_id,))
        return Payment(**dict(rows[0])) if rows else None

    # ---- writes: each commits before it returns ----

    async def save_robots(self, robots: Iterable[dict[str, Any]]) -> None:
        """Upsert robots given as topic records, all in one transaction."""
        rows = [
            (r["id"], r["name"], r["model"], r["status"], r["battery"], json(r["pose"]),
             r["order_id"], r["table_id"], int(r["connected"]), r["last_seen"], json(r["issues"]))
            for r in robots
        ]
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO robots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    async def add_table(self, label: str, seats: int, status: TableStatus = TableStatus.AVAILABLE,
                        x: float | None = None, y: float | None = None) -> Table:
        """A new table, and its secret link code (a crash between the two leaves it to the
        next start's make_table_links)."""
        table = await self._rows.add(TABLES, label=label, seats=seats, status=status, x=x, y=y,
                                     updated_at=utcnow())
        await self._links.make_missing()
        return table

    async def add_order(self, table_id: int, items: list[OrderItem], note: str = "",
                        priority: OrderPriority = OrderPriority.NORMAL,
                        source: OrderSource = OrderSource.STAFF,
                        visit_id: int | None = None, portions: Sequence[Portions] = ()
                        ) -> Order:
        """A new order, its total the sum of its priced items (core/money.py), and what its
        `portions` use taken from the stock in the same transaction (SoldOut: neither)."""
        now = utcnow()
        return await self._rows.add(ORDERS, then=partial(self.stock.take, portions),
                                    table_id=table_id, priority=priority,
                                    items=[item.model_dump() for item in items], note=note,
                                    source=source, visit_id=visit_id, total=order_total(items),
                                    created_at=now, updated_at=now)

    async def add_visit(self, table_id: int, check: Check, party_size: int | None = None,
                        customer_id: int | None = None) -> Visit:
        """A new open visit; ConstraintFailed when the table already has one."""
        return await self._rows.add(VISITS, table_id=table_id, customer_id=customer_id,
                                    party_size=party_size, status=VisitStatus.OPEN,
                                    opened_at=utcnow(), bill=check)

    async def add_payment(self, visit_id: int, amount: int, method: PaymentMethod,
                          reference: str) -> Payment:
        """A payment of the visit, recorded."""
        created_at = utcnow()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO payments (visit_id, amount, method, reference, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (visit_id, amount, method, reference, created_at))
            payment_id = cur.lastrowid or 0
            await self.keys.note_written(db, PAYMENTS, payment_id)
        return Payment(id=payment_id, amount=amount, method=method, reference=reference,
                       created_at=created_at)

    async def add_call(self, table_id: int, visit_id: int | None, kind: CallKind) -> Call:
        """A new open call; ConstraintFailed when the table has an open one of that kind."""
        return await self._rows.add(CALLS, table_id=table_id, visit_id=visit_id, kind=kind,
                                    status=CallStatus.OPEN, created_at=utcnow())

    async def update_call(self, call_id: int, changes: CallChanges) -> Call | None:
        return await self._rows.update(CALLS, call_id, changes)

    async def add_menu_item(self, name: str, dish: MenuChanges | None = None) -> MenuItem:
        """A new dish: its name, and any other fields it is given (the rest take defaults)."""
        return await self._rows.add(MENU, name=name, **(dish or {}))

    async def add_task(self, kind: TaskKind, stops: list[TaskStop], *, priority: int = 0,
                       robot_id: str | None = None, source: TaskSource = TaskSource.STAFF,
                       detail: str = "") -> Task:
        """A new queued task; one given a robot is pinned to it."""
        return await self._rows.add(TASKS, kind=kind, priority=priority, robot_id=robot_id,
                                    pinned=robot_id is not None,
                                    stops=[stop.model_dump() for stop in stops], source=source,
                                    detail=detail, created_at=utcnow())

    async def add_customer(self, name: str, party_size: int, phone: str = "",
                           status: CustomerStatus = CustomerStatus.WAITING,
                           table_id: int | None = None, **waitlist: Any) -> Customer:
        """A new party; `waitlist`: its note, quoted_wait_s and page code (docs/api.md)."""
        now = utcnow()
        return await self._rows.add(CUSTOMERS, name=name, phone=phone, party_size=party_size,
                                    status=status, table_id=table_id, created_at=now,
                                    updated_at=now, **waitlist)

    async def add_video_stream(
        self, name: str, url: str, robot_id: str | None = None,
        status: StreamStatus = StreamStatus.INACTIVE,
    ) -> VideoStream:
        return await self._rows.add(VIDEO_STREAMS, name=name, robot_id=robot_id, url=url,
                                    status=status, updated_at=utcnow())

    async def add_event(
        self,
        type_: str,
        *,
        severity: Severity = Severity.INFO,
        source: str = "server",
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> Event:
        now = utcnow()
        event_id = await self._rows.insert(EVENTS, dict(
            type=type_, severity=severity, source=source, message=message, data=data or {},
            created_at=now), noted=False)
        self.retention.grew(Topic.EVENTS, text_size(type_, source, message, json(data or {}) or ""))
        return Event(id=event_id, type=type_, severity=severity, source=source,
                     message=message, data=data or {}, created_at=now)

    async def add_systemlog(self, level: LogLevel, source: str, message: str) -> SystemLog:
        now = utcnow()
        log_id = await self._rows.insert(SYSTEMLOGS, dict(ts=now, level=level, source=source,
                                                          message=message), noted=False)
        self.retention.grew(Topic.SYSTEMLOGS, text_size(source, message))
        return SystemLog(id=log_id, ts=now, level=level, source=source, message=message)

    async def count_repeats(self, counts: Iterable[tuple[int, int]]) -> None:
        """Write each (id, repeats) of stored system logs, in one transaction."""
        rows = [(repeats, log_id) for log_id, repeats in counts]
        if not rows:
            return
        async with self.transaction() as db:
            await db.executemany("UPDATE systemlogs SET repeats = ? WHERE id = ?", rows)

    # ---- changes: one method per entity; each returns the row as it now is, or None ----

    async def update_table(self, table_id: int, changes: TableChanges) -> Table | None:
        return await self._rows.update(TABLES, table_id, changes)

    async def update_order(self, order_id: int, changes: OrderChanges, *,
                           give_back: bool = False) -> Order | None:
        """`give_back`: what the order took goes back to the stock in the same transaction."""
        values: dict[str, Any] = dict(changes)
        if "items" in changes:
            values["items"] = [item.model_dump() for item in changes["items"]]
        return await self._rows.update(ORDERS, order_id, values,
                                       then=self.stock.give_back if give_back else None)

    async def update_visit(self, visit_id: int, changes: VisitChanges) -> Visit | None:
        values: dict[str, Any] = dict(changes)
        if "check" in values:
            values["bill"] = values.pop("check")
        return await self._rows.update(VISITS, visit_id, values)

    async def update_menu_item(self, item_id: int, changes: MenuChanges) -> MenuItem | None:
        return await self._rows.update(MENU, item_id, changes)

    async def update_customer(self, customer_id: int, changes: CustomerChanges
                              ) -> Customer | None:
        return await self._rows.update(CUSTOMERS, customer_id, changes)

    async def update_video_stream(self, stream_id: int, changes: VideoStreamChanges
                                  ) -> VideoStream | None:
        return await self._rows.update(VIDEO_STREAMS, stream_id, changes)

    async def update_task(self, task_id: int, changes: TaskChanges) -> Task | None:
        values: dict[str, Any] = dict(changes)
        if "stops" in changes:
            values["stops"] = [stop.model_dump() for stop in changes["stops"]]
        return await self._rows.update(TASKS, task_id, values)

    async def delete_robot(self, robot_id: str) -> bool:
        return await self._rows.delete(ROBOTS, robot_id)

    async def delete_menu_item(self, item_id: int) -> bool:
        return await self._rows.delete(MENU, item_id)

    async def delete_customer(self, customer_id: int) -> bool:
        return await self._rows.delete(CUSTOMERS, customer_id)

    async def delete_video_stream(self, stream_id: int) -> bool:
        return await self._rows.delete(VIDEO_STREAMS, stream_id)

    async def acknowledge_event(self, event_id: int) -> Event | None:
        """Stamp acknowledged_at once; acknowledging again keeps the first stamp."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE events SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                (utcnow(), event_id))
        return await self.event(event_id)

    # ---- table links (links.py): never part of a table's record ----

    async def table_link(self, table_id: int) -> str | None:
        """The table's link code; None for a table without one, or no such table."""
        return await self._links.code(table_id)

    async def table_of_link(self, code: str) -> int | None:
        """The id of the table the code opens, if any."""
        return await self._links.table_of(code)

    async def table_links(self) -> dict[int, str]:
        """Every table's link code, by table id."""
        return await self._links.every()

    async def make_table_links(self) -> int:
        """A code for every table without one; how many were made."""
        return await self._links.make_missing()

    async def replace_table_link(self, table_id: int) -> tuple[str | None, str]:
        """A new code for the table: (the code it replaced, if any; the new code)."""
        return await self._links.replace(table_id)

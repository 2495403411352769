"""The aiosqlite store: one connection, WAL, migrations, and one typed method per read and
write of each entity."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import aiosqlite
import orjson

from ..core.errors import StorageUnavailable
from ..core.models import (
    Customer,
    CustomerChanges,
    CustomerStatus,
    Event,
    InventoryChanges,
    InventoryItem,
    Item,
    MenuChanges,
    MenuItem,
    LogLevel,
    Order,
    OrderChanges,
    OrderItem,
    OrderPriority,
    OrderStatus,
    Robot,
    Severity,
    Task,
    TaskChanges,
    TaskKind,
    TaskSource,
    TaskStatus,
    TaskStop,
    StreamStatus,
    SystemLog,
    Table,
    TableChanges,
    TableStatus,
    VideoStream,
    VideoStreamChanges,
    stock_status,
    utcnow,
)
from ..core.orders import CLOSED_ORDER_STATUSES, closed_cutoff
from ..core.tasks import FINISHED, finished_cutoff
from ..core.topics import Topic
from .backup import Written, hold_lock, write_backup
from .report_queries import ReportReader
from .schema import MIGRATIONS
from .sqltext import sql_list

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Item)

JSON_COLUMNS = frozenset({"pose", "issues", "items", "data", "open_order_ids", "stops",
                          "rejected_by"})


# The closed and finished statuses as SQL lists, from the one place that says which they are,
# and the others: a snapshot asks for "open, or closed lately" as two index ranges of
# (status, time); "NOT IN closed OR time >= ?" scanned every order of the year.
CLOSED_SQL: Final = sql_list(CLOSED_ORDER_STATUSES)
OPEN_SQL: Final = sql_list(set(OrderStatus) - CLOSED_ORDER_STATUSES)
FINISHED_SQL: Final = sql_list(FINISHED)
UNFINISHED_SQL: Final = sql_list(set(TaskStatus) - FINISHED)
TABLES_SQL = f"""
    SELECT t.*, (
        SELECT json_group_array(o.id) FROM orders o
        WHERE o.table_id = t.id AND o.status IN ({OPEN_SQL})
    ) AS open_order_ids
    FROM dining_tables t
"""
INVENTORY_SQL = "SELECT * FROM inventory"

# The columns a PATCH may change, per table; anything else never reaches SQL.
UPDATABLE = {
    "dining_tables": frozenset({"label", "seats", "status", "customer_id", "x", "y"}),
    "orders": frozenset({"status", "priority", "items", "note", "robot_id", "task_id",
                         "ready_at", "served_at"}),
    "menu": frozenset({"name", "category", "station", "prep_target_s", "available"}),
    "tasks": frozenset({"status", "priority", "robot_id", "pinned", "stops", "detail",
                        "command_id", "rejected_by", "assigned_at", "started_at",
                        "finished_at"}),
    "customers": frozenset({"name", "phone", "party_size", "status", "table_id"}),
    "inventory": frozenset({"name", "quantity", "unit", "low_threshold"}),
    "video_streams": frozenset({"name", "robot_id", "url", "status"}),
}
STAMPED = frozenset({"dining_tables", "orders", "video_streams"})
# The tables whose topic has another name.
TOPIC_OF: Final = {"dining_tables": Topic.TABLES}
RETAINED = frozenset({Topic.EVENTS, Topic.SYSTEMLOGS})

# How long a write waits for another connection's lock before the database counts as failing.
BUSY_TIMEOUT_MS: Final = 5000
# Once it is failing, each write waits only this long: requests answer 503 at once instead of
# queueing behind one another for BUSY_TIMEOUT_MS each.
DEGRADED_BUSY_TIMEOUT_MS: Final = 100


def _decode(row: aiosqlite.Row) -> dict[str, Any]:
    record = dict(row)
    for key in JSON_COLUMNS.intersection(record):
        if record[key] is not None:
            record[key] = orjson.loads(record[key])
    return record


def _inventory(record: dict[str, Any]) -> InventoryItem:
    record["status"] = stock_status(record["quantity"], record["low_threshold"])
    return InventoryItem.model_validate(record)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True)
class KeyRecord:
    """An idempotency key's record: the request it first came with, and the answer it got."""

    method: str
    path: str
    body_sha256: str
    # None until the request had its answer: still running, or cut short by a crash.
    status: int | None
    content_type: str | None
    body: bytes | None
    # The item the request had created and committed by then (topic and id), if any.
    created_topic: str | None
    created_id: int | None


@dataclass(frozen=True)
class _Keyed:
    scope: str
    key: str
    writes: str | None
    creates: bool


class Store:
    """Every read and write of the SQLite file goes through here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db_connection: aiosqlite.Connection | None = None
        # The shared flock a restore checks for (store.backup.hold_lock), held while open.
        self._lock_fd: int | None = None
        # One connection means one transaction at a time: writers queue here so that one
        # coroutine's commit never carries another's half-done statements.
        self._write_lock = asyncio.Lock()
        self.healthy = True
        # Why the last write failed, while it is failing.
        self.failure: str | None = None
        # Seconds each committed transaction took, for /metrics; read and cleared by its collector.
        self.on_commit: list[Any] = []
        # Called with the new health each time it flips; the journal raises the events.
        self.on_health: list[Callable[[bool], None]] = []
        # The idempotency key each task is writing under (see `keyed`).
        self._keyed: dict[asyncio.Task[Any] | None, _Keyed] = {}

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._db_connection is None:
            raise RuntimeError("the store is not open")
        return self._db_connection

    async def open(self) -> None:
        """Connect, configure and migrate the database file, creating it if need be."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock_fd = hold_lock(self.path, exclusive=False)
        except BlockingIOError:
            raise OSError(f"{self.path} is being restored (robodyne restore holds its lock);"
                          " start again once it is done") from None
        self._db_connection = await aiosqlite.connect(self.path)
        self._db.row_factory = aiosqlite.Row
        await self._configure()

    async def close(self) -> None:
        async with self._write_lock:
            await self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @asynccontextmanager
    async def report_reader(self) -> AsyncIterator[ReportReader]:
        """The report's and the export's queries on a read-only connection of their own: they
        see one snapshot of the file, and the writers never queue behind them (WAL lets both
        run). The snapshot holds the WAL back from resetting until it closes."""
        db = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await db.execute("BEGIN")
            yield ReportReader(db)
        finally:
            await db.close()

    async def backup(self, target: Path) -> Written:
        """A checked copy of the database at `target`, taken while the store goes on serving
        (store.backup.write_backup: a connection of its own, so no write waits for it)."""
        return await write_backup(self.path, target)

    async def _configure(self) -> None:
        await self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL is durable across a process crash (kill -9); only an
        # OS crash or power loss can lose the last transactions.
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await self._migrate()

    async def _migrate(self) -> None:
        await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        async with self._db.execute("SELECT max(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        current = (row[0] if row else None) or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            await self._db.executescript(
                f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); COMMIT;"
            )
            log.info("database migrated to schema version %d", version)

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT max(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One committed-or-rolled-back unit of writes.

        A database that refuses writes (locked, read-only, disk full) raises StorageUnavailable
        and marks the store unhealthy until a later transaction commits.
        """
        async with self._write_lock:
            started = time.perf_counter()
            try:
                yield self._db
                await self._db.commit()
            except sqlite3.OperationalError as err:
                await self._rollback()
                await self._set_health(False, err)
                raise StorageUnavailable(
                    f"storage unavailable: the database refused the write ({err});"
                    " nothing was saved, try again shortly") from err
            except BaseException:
                await self._rollback()
                raise
            await self._set_health(True)
            for observe in self.on_commit:
                observe(time.perf_counter() - started)

    async def _rollback(self) -> None:
        try:
            await self._db.rollback()
        except sqlite3.Error:
            pass  # nothing to undo when the failed statement never began a transaction

    async def _set_health(self, healthy: bool, err: Exception | None = None) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        self.failure = None if healthy else str(err)
        timeout = BUSY_TIMEOUT_MS if healthy else DEGRADED_BUSY_TIMEOUT_MS
        await self._db.execute(f"PRAGMA busy_timeout={timeout}")
        # Logged by the journal's storage watch, in its own task: a failure first met by the
        # systemlog bridge's own write would otherwise log where the bridge ignores records.
        for callback in self.on_health:
            callback(healthy)

    async def _fetch(
        self, sql: str, params: Iterable[Any], build: Callable[[dict[str, Any]], M]
    ) -> list[M]:
        async with self._db.execute(sql, tuple(params)) as cur:
            rows = await cur.fetchall()
        return [build(_decode(row)) for row in rows]

    async def _fetch_one(
        self, sql: str, params: Iterable[Any], build: Callable[[dict[str, Any]], M]
    ) -> M | None:
        found = await self._fetch(sql, params, build)
        return found[0] if found else None

    # ---- reads: each returns what its topic's snapshot holds
    # (docs/protocol.md, "Snapshot on subscribe") ----

    async def robots(self) -> list[Robot]:
        return await self._fetch("SELECT * FROM robots ORDER BY id", (), Robot.model_validate)

    async def robot(self, robot_id: str) -> Robot | None:
        return await self._fetch_one(
            "SELECT * FROM robots WHERE id = ?", (robot_id,), Robot.model_validate
        )

    async def tables(self) -> list[Table]:
        return await self._fetch(TABLES_SQL + " ORDER BY t.id", (), Table.model_validate)

    async def table(self, table_id: int) -> Table | None:
        return await self._fetch_one(
            TABLES_SQL + " WHERE t.id = ?", (table_id,), Table.model_validate
        )

    async def orders(self) -> list[Order]:
        """Open orders and those closed within the window (core.orders.closed_cutoff)."""
        return await self._fetch(
            f"SELECT * FROM orders WHERE status IN ({OPEN_SQL})"
            f" OR (status IN ({CLOSED_SQL}) AND updated_at >= ?) ORDER BY id",
            (closed_cutoff(),),
            Order.model_validate,
        )

    async def order(self, order_id: int) -> Order | None:
        return await self._fetch_one(
            "SELECT * FROM orders WHERE id = ?", (order_id,), Order.model_validate
        )

    async def customers(self) -> list[Customer]:
        return await self._fetch("SELECT * FROM customers ORDER BY id", (), Customer.model_validate)

    async def customer(self, customer_id: int) -> Customer | None:
        return await self._fetch_one(
            "SELECT * FROM customers WHERE id = ?", (customer_id,), Customer.model_validate
        )

    async def inventory(self) -> list[InventoryItem]:
        return await self._fetch(INVENTORY_SQL + " ORDER BY id", (), _inventory)

    async def inventory_item(self, item_id: int) -> InventoryItem | None:
        return await self._fetch_one(INVENTORY_SQL + " WHERE id = ?", (item_id,), _inventory)

    async def video_streams(self) -> list[VideoStream]:
        return await self._fetch(
            "SELECT * FROM video_streams ORDER BY id", (), VideoStream.model_validate
        )

    async def video_stream(self, stream_id: int) -> VideoStream | None:
        return await self._fetch_one(
            "SELECT * FROM video_streams WHERE id = ?", (stream_id,), VideoStream.model_validate
        )

    async def menu(self) -> list[MenuItem]:
        return await self._fetch("SELECT * FROM menu ORDER BY category, name", (),
                                 MenuItem.model_validate)

    async def menu_item(self, item_id: int) -> MenuItem | None:
        return await self._fetch_one("SELECT * FROM menu WHERE id = ?", (item_id,),
                                     MenuItem.model_validate)

    async def menu_item_named(self, name: str) -> MenuItem | None:
        """The dish of that name, whatever its case (the column is COLLATE NOCASE)."""
        return await self._fetch_one("SELECT * FROM menu WHERE name = ?", (name,),
                                     MenuItem.model_validate)

    async def tasks(self) -> list[Task]:
        """Unfinished tasks and those finished within the window (core.tasks.finished_cutoff)."""
        return await self._fetch(
            f"SELECT * FROM tasks WHERE status IN ({UNFINISHED_SQL})"
            f" OR (status IN ({FINISHED_SQL}) AND finished_at >= ?) ORDER BY id",
            (finished_cutoff(),), Task.model_validate)

    async def unfinished_tasks(self) -> list[Task]:
        return await self._fetch(
            f"SELECT * FROM tasks WHERE status IN ({UNFINISHED_SQL}) ORDER BY id", (),
            Task.model_validate)

    async def task(self, task_id: int) -> Task | None:
        return await self._fetch_one("SELECT * FROM tasks WHERE id = ?", (task_id,),
                                     Task.model_validate)

    async def events(self, limit: int) -> list[Event]:
        """The newest `limit` events, oldest first."""
        return await self._fetch(
            "SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id",
            (limit,),
            Event.model_validate,
        )

    async def systemlogs(self, limit: int) -> list[SystemLog]:
        """The newest `limit` log records, oldest first."""
        return await self._fetch(
            "SELECT * FROM (SELECT * FROM systemlogs ORDER BY id DESC LIMIT ?) ORDER BY id",
            (limit,),
            SystemLog.model_validate,
        )

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
        }
        items: list[Item] = await readers[topic]()
        return items

    async def one(self, topic: Topic, row_id: int) -> Item | None:
        """One item of a state topic by its integer id (robots aside), as the database has it."""
        readers: dict[Topic, Callable[[int], Awaitable[Any]]] = {
            Topic.TABLES: self.table, Topic.ORDERS: self.order, Topic.CUSTOMERS: self.customer,
            Topic.INVENTORY: self.inventory_item, Topic.VIDEO_STREAMS: self.video_stream,
            Topic.TASKS: self.task,
            Topic.MENU: self.menu_item,
        }
        found: Item | None = await readers[topic](row_id)
        return found

    # ---- writes: each commits before it returns ----

    async def save_robots(self, robots: Iterable[dict[str, Any]]) -> None:
        """Upsert robots given as topic records, all in one transaction."""
        rows = [
            (r["id"], r["name"], r["model"], r["status"], r["battery"], _json(r["pose"]),
             r["order_id"], r["table_id"], int(r["connected"]), r["last_seen"], _json(r["issues"]))
            for r in robots
        ]
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO robots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    async def add_table(self, label: str, seats: int, status: TableStatus = TableStatus.AVAILABLE,
                        x: float | None = None, y: float | None = None) -> Table:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO dining_tables (label, seats, status, x, y, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (label, seats, status, x, y, utcnow()),
            )
            table_id = cur.lastrowid
            await self._note_written(db, Topic.TABLES, table_id)
        return await self._require(self.table(table_id or 0))

    async def add_order(self, table_id: int, items: list[OrderItem], note: str = "",
                        priority: OrderPriority = OrderPriority.NORMAL) -> Order:
        now = utcnow()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO orders (table_id, priority, items, note, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (table_id, priority, _json([item.model_dump() for item in items]), note, now,
                 now),
            )
            order_id = cur.lastrowid
            await self._note_written(db, Topic.ORDERS, order_id)
        return await self._require(self.order(order_id or 0))

    async def add_menu_item(self, name: str, category: str = "", station: str | None = None,
                            prep_target_s: float | None = None,
                            available: bool = True) -> MenuItem:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO menu (name, category, station, prep_target_s, available)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, category, station, prep_target_s, int(available)))
            item_id = cur.lastrowid
            await self._note_written(db, Topic.MENU, item_id)
        return await self._require(self.menu_item(item_id or 0))

    async def update_menu_item(self, item_id: int, changes: MenuChanges) -> MenuItem | None:
        values: dict[str, Any] = dict(changes)
        if "available" in changes:
            values["available"] = int(changes["available"])
        return await self._update_then("menu", item_id, values, self.menu_item)

    async def delete_menu_item(self, item_id: int) -> bool:
        return await self._delete("menu", item_id)

    async def add_task(self, kind: TaskKind, stops: list[TaskStop], *, priority: int = 0,
                       robot_id: str | None = None, source: TaskSource = TaskSource.STAFF,
                       detail: str = "") -> Task:
        """A new queued task; one given a robot is pinned to it."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO tasks (kind, priority, robot_id, pinned, stops, source, detail,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, priority, robot_id, int(robot_id is not None),
                 _json([stop.model_dump() for stop in stops]), source, detail, utcnow()))
            task_id = cur.lastrowid
            await self._note_written(db, Topic.TASKS, task_id)
        return await self._require(self.task(task_id or 0))

    async def add_customer(self, name: str, party_size: int, phone: str = "",
                           status: CustomerStatus = CustomerStatus.WAITING,
                           table_id: int | None = None) -> Customer:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO customers (name, phone, party_size, status, table_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, phone, party_size, status, table_id, utcnow()),
            )
            customer_id = cur.lastrowid
            await self._note_written(db, Topic.CUSTOMERS, customer_id)
        return await self._require(self.customer(customer_id or 0))

    async def add_inventory(
        self, sku: str, name: str, quantity: float, unit: str = "", low_threshold: float = 0
    ) -> InventoryItem:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO inventory (sku, name, quantity, unit, low_threshold)"
                " VALUES (?, ?, ?, ?, ?)",
                (sku, name, quantity, unit, low_threshold),
            )
            item_id = cur.lastrowid
            await self._note_written(db, Topic.INVENTORY, item_id)
        return await self._require(self.inventory_item(item_id or 0))

    async def add_video_stream(
        self, name: str, url: str, robot_id: str | None = None,
        status: StreamStatus = StreamStatus.INACTIVE,
    ) -> VideoStream:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO video_streams (name, robot_id, url, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, robot_id, url, status, utcnow()),
            )
            stream_id = cur.lastrowid
            await self._note_written(db, Topic.VIDEO_STREAMS, stream_id)
        return await self._require(self.video_stream(stream_id or 0))

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
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO events (type, severity, source, message, data, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (type_, severity, source, message, _json(data or {}), now),
            )
            event_id = cur.lastrowid or 0
        return Event(
            id=event_id, type=type_, severity=severity, source=source,
            message=message, data=data or {}, created_at=now,
        )

    async def add_systemlog(self, level: LogLevel, source: str, message: str) -> SystemLog:
        now = utcnow()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO systemlogs (ts, level, source, message) VALUES (?, ?, ?, ?)",
                (now, level, source, message),
            )
            log_id = cur.lastrowid or 0
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
        return await self._update_then("dining_tables", table_id, changes, self.table)

    async def update_order(self, order_id: int, changes: OrderChanges) -> Order | None:
        values: dict[str, Any] = dict(changes)
        if "items" in changes:
            values["items"] = [item.model_dump() for item in changes["items"]]
        return await self._update_then("orders", order_id, values, self.order)

    async def update_customer(self, customer_id: int, changes: CustomerChanges
                              ) -> Customer | None:
        return await self._update_then("customers", customer_id, changes, self.customer)

    async def update_inventory(self, item_id: int, changes: InventoryChanges
                               ) -> InventoryItem | None:
        return await self._update_then("inventory", item_id, changes, self.inventory_item)

    async def update_video_stream(self, stream_id: int, changes: VideoStreamChanges
                                  ) -> VideoStream | None:
        return await self._update_then("video_streams", stream_id, changes, self.video_stream)

    async def update_task(self, task_id: int, changes: TaskChanges) -> Task | None:
        values: dict[str, Any] = dict(changes)
        if "stops" in changes:
            values["stops"] = [stop.model_dump() for stop in changes["stops"]]
        if "pinned" in changes:
            values["pinned"] = int(changes["pinned"])
        return await self._update_then("tasks", task_id, values, self.task)

    async def delete_customer(self, customer_id: int) -> bool:
        return await self._delete("customers", customer_id)

    async def delete_video_stream(self, stream_id: int) -> bool:
        return await self._delete("video_streams", stream_id)

    async def _update_then(self, table: str, row_id: int, changes: Mapping[str, Any],
                           read: Callable[[int], Awaitable[M | None]]) -> M | None:
        """Change the given columns of one row, then read it back; None when it is not there."""
        if changes and not await self._update(table, row_id, changes):
            return None
        return await read(row_id)

    async def _update(self, table: str, row_id: int, changes: Mapping[str, Any]) -> bool:
        unknown = set(changes) - UPDATABLE[table]
        if unknown:
            raise ValueError(f"{table} has no updatable column {sorted(unknown)}")
        values = {key: _json(value) if key in JSON_COLUMNS else value
                  for key, value in changes.items()}
        if table in STAMPED:
            values["updated_at"] = utcnow()
        assignments = ", ".join(f"{column} = ?" for column in values)
        async with self.transaction() as db:
            cur = await db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                                   (*values.values(), row_id))
            if cur.rowcount:
                await self._note_written(db, TOPIC_OF.get(table) or Topic(table), row_id,
                                         created=False)
        return cur.rowcount > 0

    async def _delete(self, table: str, row_id: int) -> bool:
        async with self.transaction() as db:
            cur = await db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        return cur.rowcount > 0

    async def event(self, event_id: int) -> Event | None:
        return await self._fetch_one(
            "SELECT * FROM events WHERE id = ?", (event_id,), Event.model_validate
        )

    async def acknowledge_event(self, event_id: int) -> Event | None:
        """Stamp acknowledged_at once; acknowledging again keeps the first stamp."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE events SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                (utcnow(), event_id))
        return await self.event(event_id)

    async def prune(self, table: Topic, keep: int) -> int:
        """Delete all but the newest `keep` rows of events or systemlogs."""
        if table not in RETAINED:
            raise ValueError(f"{table} is not pruned")
        async with self.transaction() as db:
            cur = await db.execute(
                f"DELETE FROM {table} WHERE id <= (SELECT id FROM {table} ORDER BY id DESC"
                " LIMIT 1 OFFSET ?)", (keep,))
        return cur.rowcount

    # ---- idempotency keys (docs/api.md, "Idempotency"): what the key's first request got ----

    async def idempotency_record(self, scope: str, key: str, since: str) -> KeyRecord | None:
        """The key's record if it was made at or after `since` (an older one counts as gone)."""
        async with self._db.execute(
                "SELECT method, path, body_sha256, status, content_type, body, created_topic,"
                " created_id FROM idempotency_keys WHERE scope = ? AND key = ? AND"
                " created_at >= ?", (scope, key, since)) as cur:
            row = await cur.fetchone()
        return None if row is None else KeyRecord(*row)

    async def begin_idempotent(self, scope: str, key: str, method: str, path: str,
                               body_sha256: str) -> None:
        """A key's record before its request runs (replacing an expired one)."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO idempotency_keys (scope, key, method, path, body_sha256,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (scope, key, method, path, body_sha256, utcnow()))

    @contextmanager
    def keyed(self, scope: str, key: str, writes: str | None, *, creates: bool = True
              ) -> Iterator[None]:
        """While open, the calling task's first write that creates (or, with creates=False,
        changes) an item of topic `writes` also notes it on the key's record, in the same
        transaction: a crash can then never leave the item committed and the key not knowing
        it."""
        task = asyncio.current_task()
        self._keyed[task] = _Keyed(scope, key, writes, creates)
        try:
            yield
        finally:
            del self._keyed[task]

    async def _note_written(self, db: aiosqlite.Connection, topic: Topic, row_id: int | None,
                            *, created: bool = True) -> None:
        keyed = self._keyed.get(asyncio.current_task())
        if keyed is None or keyed.writes != topic or keyed.creates != created:
            return
        await db.execute(
            "UPDATE idempotency_keys SET created_topic = ?, created_id = ?"
            " WHERE scope = ? AND key = ? AND created_id IS NULL",
            (topic.value, row_id, keyed.scope, keyed.key))

    async def finish_idempotent(self, scope: str, key: str, status: int,
                                content_type: str | None, body: bytes) -> None:
        """The answer the key's request got, to be given again to its retries."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?"
                " WHERE scope = ? AND key = ?", (status, content_type, body, scope, key))

    async def prune_idempotency_keys(self, before: str) -> int:
        """Forget the keys made before `before` (an ISO UTC time)."""
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM idempotency_keys WHERE created_at < ?",
                                   (before,))
        return cur.rowcount

    @staticmethod
    async def _require(pending: Awaitable[M | None]) -> M:
        found = await pending
        if found is None:
            raise LookupError("row vanished right after it was written")
        return found

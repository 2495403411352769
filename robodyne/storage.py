"""The aiosqlite store: one connection, WAL, migrations and typed queries."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

import aiosqlite
import orjson

from .const import CLOSED_ORDER_WINDOW_S
from .errors import StorageUnavailable
from .models import (
    Customer,
    Event,
    InventoryItem,
    Item,
    Order,
    OrderItem,
    Robot,
    SystemLog,
    Table,
    VideoStream,
    stock_status,
    utcnow,
)
from .schema import MIGRATIONS

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Item)

JSON_COLUMNS = frozenset({"pose", "issues", "items", "data", "open_order_ids"})

TABLES_SQL = """
    SELECT t.*, (
        SELECT json_group_array(o.id) FROM orders o
        WHERE o.table_id = t.id AND o.status NOT IN ('served', 'cancelled')
    ) AS open_order_ids
    FROM dining_tables t
"""
INVENTORY_SQL = "SELECT * FROM inventory"

# The columns a PATCH may change, per table; anything else never reaches SQL.
UPDATABLE = {
    "dining_tables": frozenset({"label", "seats", "status", "customer_id", "x", "y"}),
    "orders": frozenset({"status", "items", "note", "robot_id", "ready_at", "served_at"}),
    "customers": frozenset({"name", "phone", "party_size", "status", "table_id"}),
    "inventory": frozenset({"name", "quantity", "unit", "low_threshold"}),
    "video_streams": frozenset({"name", "robot_id", "url", "status"}),
}
STAMPED = frozenset({"dining_tables", "orders", "video_streams"})
RETAINED = frozenset({"events", "systemlogs"})

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


class Store:
    """Every read and write of the SQLite file goes through here."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
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

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        store = cls(db)
        await store._configure()
        return store

    async def close(self) -> None:
        async with self._write_lock:
            await self._db.close()

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

    async def _fetch(self, sql: str, params: Iterable[Any], build: Callable[[dict[str, Any]], M]) -> list[M]:
        async with self._db.execute(sql, tuple(params)) as cur:
            rows = await cur.fetchall()
        return [build(_decode(row)) for row in rows]

    async def _fetch_one(self, sql: str, params: Iterable[Any], build: Callable[[dict[str, Any]], M]) -> M | None:
        found = await self._fetch(sql, params, build)
        return found[0] if found else None

    # ---- reads: each returns what its topic's snapshot holds (SPEC §3.3) ----

    async def robots(self) -> list[Robot]:
        return await self._fetch("SELECT * FROM robots ORDER BY id", (), Robot.model_validate)

    async def robot(self, robot_id: str) -> Robot | None:
        return await self._fetch_one("SELECT * FROM robots WHERE id = ?", (robot_id,), Robot.model_validate)

    async def tables(self) -> list[Table]:
        return await self._fetch(TABLES_SQL + " ORDER BY t.id", (), Table.model_validate)

    async def table(self, table_id: int) -> Table | None:
        return await self._fetch_one(TABLES_SQL + " WHERE t.id = ?", (table_id,), Table.model_validate)

    async def orders(self) -> list[Order]:
        """Open orders and those closed within the last hour."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=CLOSED_ORDER_WINDOW_S)
        since = cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return await self._fetch(
            "SELECT * FROM orders WHERE status NOT IN ('served', 'cancelled') OR updated_at >= ?"
            " ORDER BY id",
            (since,),
            Order.model_validate,
        )

    async def order(self, order_id: int) -> Order | None:
        return await self._fetch_one("SELECT * FROM orders WHERE id = ?", (order_id,), Order.model_validate)

    async def customers(self) -> list[Customer]:
        return await self._fetch("SELECT * FROM customers ORDER BY id", (), Customer.model_validate)

    async def customer(self, customer_id: int) -> Customer | None:
        return await self._fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,), Customer.model_validate)

    async def inventory(self) -> list[InventoryItem]:
        return await self._fetch(INVENTORY_SQL + " ORDER BY id", (), _inventory)

    async def inventory_item(self, item_id: int) -> InventoryItem | None:
        return await self._fetch_one(INVENTORY_SQL + " WHERE id = ?", (item_id,), _inventory)

    async def video_streams(self) -> list[VideoStream]:
        return await self._fetch("SELECT * FROM video_streams ORDER BY id", (), VideoStream.model_validate)

    async def video_stream(self, stream_id: int) -> VideoStream | None:
        return await self._fetch_one("SELECT * FROM video_streams WHERE id = ?", (stream_id,), VideoStream.model_validate)

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

    async def state(self, topic: str) -> list[Item]:
        """Everything a state topic's snapshot holds, as the database has it now."""
        readers: dict[str, Callable[[], Any]] = {
            "robots": self.robots,
            "tables": self.tables,
            "orders": self.orders,
            "customers": self.customers,
            "inventory": self.inventory,
            "video_streams": self.video_streams,
        }
        items: list[Item] = await readers[topic]()
        return items

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

    async def add_table(self, label: str, seats: int, status: str = "available",
                        x: float | None = None, y: float | None = None) -> Table:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO dining_tables (label, seats, status, x, y, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (label, seats, status, x, y, utcnow()),
            )
            table_id = cur.lastrowid
        return await self._require(self.table(table_id or 0))

    async def add_order(self, table_id: int, items: list[OrderItem], note: str = "") -> Order:
        now = utcnow()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO orders (table_id, items, note, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (table_id, _json([item.model_dump() for item in items]), note, now, now),
            )
            order_id = cur.lastrowid
        return await self._require(self.order(order_id or 0))

    async def add_customer(self, name: str, party_size: int, phone: str = "",
                           status: str = "waiting", table_id: int | None = None) -> Customer:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO customers (name, phone, party_size, status, table_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, phone, party_size, status, table_id, utcnow()),
            )
            customer_id = cur.lastrowid
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
        return await self._require(self.inventory_item(item_id or 0))

    async def set_inventory_quantity(self, item_id: int, quantity: float) -> InventoryItem | None:
        async with self.transaction() as db:
            await db.execute("UPDATE inventory SET quantity = ? WHERE id = ?", (quantity, item_id))
        return await self.inventory_item(item_id)

    async def add_video_stream(
        self, name: str, url: str, robot_id: str | None = None, status: str = "inactive"
    ) -> VideoStream:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO video_streams (name, robot_id, url, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, robot_id, url, status, utcnow()),
            )
            stream_id = cur.lastrowid
        return await self._require(self.video_stream(stream_id or 0))

    async def add_event(
        self,
        type_: str,
        *,
        severity: str = "info",
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

    async def add_systemlog(self, level: str, source: str, message: str) -> SystemLog:
        now = utcnow()
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO systemlogs (ts, level, source, message) VALUES (?, ?, ?, ?)",
                (now, level, source, message),
            )
            log_id = cur.lastrowid or 0
        return SystemLog(id=log_id, ts=now, level=level, source=source, message=message)

    async def update(self, table: str, row_id: int, changes: dict[str, Any]) -> bool:
        """Change the given columns of one row; False when there is no such row."""
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
        return cur.rowcount > 0

    async def delete(self, table: str, row_id: int) -> bool:
        if table not in UPDATABLE:
            raise ValueError(f"rows of {table} are not deleted")
        async with self.transaction() as db:
            cur = await db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        return cur.rowcount > 0

    async def event(self, event_id: int) -> Event | None:
        return await self._fetch_one("SELECT * FROM events WHERE id = ?", (event_id,), Event.model_validate)

    async def acknowledge_event(self, event_id: int) -> Event | None:
        """Stamp acknowledged_at once; acknowledging again keeps the first stamp."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE events SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                (utcnow(), event_id))
        return await self.event(event_id)

    async def prune(self, table: str, keep: int) -> int:
        """Delete all but the newest `keep` rows of events or systemlogs."""
        if table not in RETAINED:
            raise ValueError(f"{table} is not pruned")
        async with self.transaction() as db:
            cur = await db.execute(
                f"DELETE FROM {table} WHERE id <= (SELECT id FROM {table} ORDER BY id DESC"
                " LIMIT 1 OFFSET ?)", (keep,))
        return cur.rowcount

    @staticmethod
    async def _require(pending: Awaitable[M | None]) -> M:
        found = await pending
        if found is None:
            raise LookupError("row vanished right after it was written")
        return found

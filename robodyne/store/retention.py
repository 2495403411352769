"""Retention of events and system logs (docs/operations.md, "Retention"): the newest rows kept,
bounded both in number and in the bytes of their text.

Summing the text of 100,000 rows takes SQLite a third of a second on a small box, too long to
hold the one connection every minute; so the bytes are counted once, at the first prune, and
then kept up to date in memory: each insert adds its own, each prune takes off what it deleted
(reading only the rows it deletes). A table that grows past its budget by a tenth wakes the
pruner at once, so what a flood adds between two prunes is bounded by the budget, not by the
minute between them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import aiosqlite

from ..core.topics import Topic
from .database import Database

# A record's size as retention counts it: the bytes of the text a robot or the server wrote
# into it (SQLite's own overhead of a row and its pages comes on top, docs/operations.md).
_SIZE: Final = {
    Topic.EVENTS: "length(CAST(type AS BLOB)) + length(CAST(source AS BLOB))"
                  " + length(CAST(message AS BLOB)) + length(CAST(data AS BLOB))",
    Topic.SYSTEMLOGS: "length(CAST(source AS BLOB)) + length(CAST(message AS BLOB))",
}
# Past budget × WAKE_AT the pruner runs at once; it deletes down to budget × PRUNE_TO, so that
# a steady stream does not make it run on every insert.
WAKE_AT: Final = 1.1
PRUNE_TO: Final = 0.9
# Oldest rows read at a time while finding how many to delete for the budget.
BATCH: Final = 500


def text_size(*texts: str) -> int:
    """The bytes `_SIZE` counts, for a record being inserted (its data already as JSON)."""
    return sum(len(text.encode()) for text in texts)


class RetentionRows:
    """Deletes the oldest events or system logs past a number of rows and a number of bytes."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # Bytes of text in each table, once counted (None: not yet).
        self._bytes: dict[Topic, int | None] = dict.fromkeys(_SIZE)
        self._budgets: dict[Topic, int] = {}
        # Set when a table went past its budget by a tenth: the pruner should run now.
        self.due = asyncio.Event()

    def grew(self, table: Topic, size: int) -> None:
        """A record of `size` bytes of text was committed to `table`."""
        total = self._bytes[table]
        if total is None:
            return  # counted whole at the first prune
        total = self._bytes[table] = total + size
        budget = self._budgets.get(table)
        if budget is not None and total > budget * WAKE_AT:
            self.due.set()

    def held(self, table: Topic) -> int | None:
        """The bytes of text `table` holds, as counted (None before the first prune)."""
        return self._bytes[table]

    async def count(self, table: Topic, max_bytes: int) -> int:
        """The bytes of text `table` holds, summed by SQLite the first time; from then on a
        table past `max_bytes` by a tenth sets `due`."""
        self._budgets[table] = max_bytes
        total = self._bytes[table]
        if total is None:
            # Counted from 0 while the sum runs: an insert meanwhile is counted (twice at
            # worst, which errs on the side of the bound).
            self._bytes[table] = 0
            [row] = await self._database.rows(
                f"SELECT coalesce(sum({_SIZE[table]}), 0) FROM {table}")
            total = self._bytes[table] = (self._bytes[table] or 0) + int(row[0])
        if total > max_bytes * WAKE_AT:
            self.due.set()
        return total

    async def prune(self, table: Topic, keep: int, max_bytes: int) -> int:
        """Delete all but the newest `keep` rows of events or systemlogs, and the oldest of
        those while they hold more than `max_bytes` of text; how many rows were deleted."""
        size = _SIZE.get(table)
        if size is None:
            raise ValueError(f"{table} is not pruned")
        total = await self.count(table, max_bytes)
        by_rows = await self._database.rows(
            f"SELECT id FROM {table} ORDER BY id DESC LIMIT 1 OFFSET ?", (keep,))
        last = by_rows[0][0] if by_rows else None
        if total > max_bytes:
            last = max(last or 0, await self._oldest_holding(table, total - int(
                max_bytes * PRUNE_TO)))
        if last is None:
            return 0
        async with self._database.transaction() as db:
            freed = await _one(db, f"SELECT coalesce(sum({size}), 0) FROM {table}"
                                   " WHERE id <= ?", (last,))
            cur = await db.execute(f"DELETE FROM {table} WHERE id <= ?", (last,))
        self._bytes[table] = max(0, (self._bytes[table] or 0) - int(freed))
        return cur.rowcount

    async def _oldest_holding(self, table: Topic, excess: int) -> int:
        """The id up to which the oldest rows hold at least `excess` bytes (or the newest)."""
        after, seen, last = 0, 0, 0
        while True:
            rows = await self._database.rows(
                f"SELECT id, {_SIZE[table]} FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                (after, BATCH))
            for row_id, bytes_ in rows:
                seen += bytes_
                last = row_id
                if seen >= excess:
                    return int(last)
            if len(rows) < BATCH:
                return int(last)
            after = last


async def _one(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    async with db.execute(sql, params) as cur:
        row = await cur.fetchone()
    return row[0] if row is not None else None

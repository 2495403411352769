"""Retention of events and system logs (docs/operations.md, "Retention"): the newest rows kept,
bounded both in number and in the bytes of their text."""

from __future__ import annotations

from typing import Final

from ..core.topics import Topic
from .database import Database

# A record's size as retention counts it: the bytes of the text a robot or the server wrote
# into it (SQLite's own overhead of a row and its page comes on top, docs/operations.md).
_SIZE: Final = {
    Topic.EVENTS: "length(CAST(type AS BLOB)) + length(CAST(source AS BLOB))"
                  " + length(CAST(message AS BLOB)) + length(CAST(data AS BLOB))",
    Topic.SYSTEMLOGS: "length(CAST(source AS BLOB)) + length(CAST(message AS BLOB))",
}


class RetentionRows:
    """Deletes the oldest events or system logs past a number of rows and a number of bytes."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def prune(self, table: Topic, keep: int, max_bytes: int) -> int:
        """Delete all but the newest `keep` rows of events or systemlogs, and then the oldest
        of those until the rest hold at most `max_bytes` of text; how many were deleted."""
        size = _SIZE.get(table)
        if size is None:
            raise ValueError(f"{table} is not pruned")
        # Read first, outside the write lock: the scan of the sizes is the long part.
        by_bytes = await self._database.rows(
            f"SELECT id FROM (SELECT id, SUM({size}) OVER (ORDER BY id DESC) AS newer"
            f" FROM {table}) WHERE newer > ? ORDER BY id DESC LIMIT 1", (max_bytes,))
        by_rows = await self._database.rows(
            f"SELECT id FROM {table} ORDER BY id DESC LIMIT 1 OFFSET ?", (keep,))
        last = max([row[0] for row in (*by_bytes, *by_rows)], default=None)
        if last is None:
            return 0
        async with self._database.transaction() as db:
            cur = await db.execute(f"DELETE FROM {table} WHERE id <= ?", (last,))
        return cur.rowcount

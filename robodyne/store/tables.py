"""The dining tables' removal (SPEC §13 "Floor"): one transaction that refuses a table with a
party at it."""

from __future__ import annotations

from enum import Enum

from .database import Database


class Removal(Enum):
    """What asking to remove a table did."""

    REMOVED = "removed"
    MISSING = "missing"
    OPEN_VISIT = "open_visit"


class TableRows:
    """The dining tables' rows that no generic entity write covers."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def remove(self, table_id: int) -> Removal:
        """The table deleted unless a visit is open at it, checked in the same transaction
        (a party seated meanwhile keeps its table)."""
        async with self._database.transaction() as db:
            cur = await db.execute("SELECT 1 FROM visits WHERE table_id = ? AND status = 'open'",
                                   (table_id,))
            if await cur.fetchone() is not None:
                return Removal.OPEN_VISIT
            cur = await db.execute("DELETE FROM dining_tables WHERE id = ?", (table_id,))
            if not cur.rowcount:
                return Removal.MISSING
            # SQLite gives the id to the next table made: a phone's session of this table
            # must not open that one (its link goes by trigger, schema.py).
            await db.execute("DELETE FROM guest_sessions WHERE table_id = ?", (table_id,))
        return Removal.REMOVED

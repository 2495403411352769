"""The table_links rows: each table's secret code, read and written apart from dining_tables
so that no read of the tables topic (snapshot, polling, notify) can carry one."""

from __future__ import annotations

from ..core.links import new_code
from ..core.models import utcnow
from .database import Database

# A table's code, only while the table is there (a table another program deleted opens nothing).
_LINKED = "FROM table_links l JOIN dining_tables t ON t.id = l.table_id"
_MISSING = "SELECT id FROM dining_tables WHERE id NOT IN (SELECT table_id FROM table_links)"


class LinkRows:
    """Table links on the store's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def code(self, table_id: int) -> str | None:
        rows = await self._database.rows(f"SELECT l.code {_LINKED} WHERE l.table_id = ?",
                                         (table_id,))
        return str(rows[0]["code"]) if rows else None

    async def table_of(self, code: str) -> int | None:
        rows = await self._database.rows(f"SELECT l.table_id {_LINKED} WHERE l.code = ?",
                                         (code,))
        return int(rows[0]["table_id"]) if rows else None

    async def every(self) -> dict[int, str]:
        """Every table's code, by table id."""
        rows = await self._database.rows(f"SELECT l.table_id, l.code {_LINKED}")
        return {int(row["table_id"]): str(row["code"]) for row in rows}

    async def make_missing(self) -> int:
        """A new code for every table that has none (made before links were, or by another
        program); how many were made. Writes only when one is missing: the print sheet asks
        on every read, and a read-only database must still print."""
        if not await self._database.rows(_MISSING):
            return 0
        async with self._database.transaction() as db:
            async with db.execute(_MISSING) as cur:
                missing = [int(row[0]) for row in await cur.fetchall()]
            now = utcnow()
            await db.executemany(
                "INSERT INTO table_links (table_id, code, made_at) VALUES (?, ?, ?)",
                [(table_id, new_code(), now) for table_id in missing])
        return len(missing)

    async def replace(self, table_id: int) -> tuple[str | None, str]:
        """A new code for the table: (the one it replaced, if any; the new one)."""
        code = new_code()
        async with self._database.transaction() as db:
            async with db.execute("SELECT code FROM table_links WHERE table_id = ?",
                                  (table_id,)) as cur:
                row = await cur.fetchone()
            await db.execute(
                "INSERT OR REPLACE INTO table_links (table_id, code, made_at) VALUES (?, ?, ?)",
                (table_id, code, utcnow()))
        return (str(row[0]) if row is not None else None), code

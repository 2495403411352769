"""The guest_sessions rows (SPEC §11.3, docs/guests.md): a session as it was made, and the one
read that says what it belongs to now — its table, whether its code still opens that table,
and its visit."""

from __future__ import annotations

from typing import Any, Final

from ..core.models import utcnow
from .database import Database

# The session's visit: its table's first visit with an id at least first_visit_id.
_RESOLVED = """
    SELECT s.table_id, s.code, s.first_visit_id, l.code = s.code AS link_valid,
           v.id AS visit_id, v.status AS visit_status
    FROM guest_sessions s
    LEFT JOIN table_links l ON l.table_id = s.table_id
    LEFT JOIN visits v ON v.id = (
        SELECT id FROM visits WHERE table_id = s.table_id AND id >= s.first_visit_id
        ORDER BY id LIMIT 1)
    WHERE s.token_hash = ?
"""


# Sessions kept per table, the newest: a party has a few phones, a table some parties a day;
# anyone at the table can make more (each opening of its link), and they would cost rows.
SESSIONS_PER_TABLE: Final = 200


class GuestRows:
    """Guest sessions on the store's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, token_hash: str, table_id: int, code: str) -> int:
        """A new session of the table, made with `code`; its first_visit_id, read and written
        in one transaction (a visit opened meanwhile cannot fall between). The table's oldest
        sessions beyond SESSIONS_PER_TABLE end by being forgotten."""
        async with self._database.transaction() as db:
            async with db.execute(
                    "SELECT id FROM visits WHERE table_id = ? AND status = 'open'",
                    (table_id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                async with db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM visits") as cur:
                    row = await cur.fetchone()
            assert row is not None
            first_visit_id = int(row[0])
            await db.execute(
                "INSERT INTO guest_sessions (token_hash, table_id, code, first_visit_id,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash, table_id, code, first_visit_id, utcnow()))
            await db.execute(
                "DELETE FROM guest_sessions WHERE table_id = ? AND rowid NOT IN ("
                " SELECT rowid FROM guest_sessions WHERE table_id = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?)",
                (table_id, table_id, SESSIONS_PER_TABLE))
        return first_visit_id

    async def resolved(self, token_hash: str) -> dict[str, Any] | None:
        """The session's table, code, first_visit_id, whether its code still opens its table
        (link_valid), and its visit's id and status (None before it has one)."""
        rows = await self._database.rows(_RESOLVED, (token_hash,))
        return dict(rows[0]) if rows else None

    async def prune(self, before: str) -> int:
        """Forget the sessions made before `before`."""
        async with self._database.transaction() as db:
            cur = await db.execute("DELETE FROM guest_sessions WHERE created_at < ?", (before,))
        return cur.rowcount

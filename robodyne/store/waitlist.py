"""The waitlist's reads (SPEC §12.4, docs/api.md, "Waitlist"): which party a page's code
opens, and the visits the quote's turn is the median of."""

from __future__ import annotations

from datetime import datetime

from .database import Database

# Visits closed since a time, with their table's seats now (a table deleted since is left out).
_TURNS = """
    SELECT t.seats, v.opened_at, v.closed_at
    FROM visits v JOIN dining_tables t ON t.id = v.table_id
    WHERE v.status = 'closed' AND v.closed_at >= ?
"""


class WaitlistRows:
    """The waitlist's reads on the store's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def party_of(self, code: str) -> int | None:
        """The id of the party whose page `code` opens, if any."""
        rows = await self._database.rows("SELECT id FROM customers WHERE code = ?", (code,))
        return int(rows[0]["id"]) if rows else None

    async def in_line(self) -> list[tuple[int, int, str, str]]:
        """(id, party_size, status, created_at) of every party waiting or called."""
        rows = await self._database.rows(
            "SELECT id, party_size, status, created_at FROM customers"
            " WHERE status IN ('waiting', 'called') ORDER BY created_at, id")
        return [(int(row["id"]), int(row["party_size"]), str(row["status"]),
                 str(row["created_at"])) for row in rows]

    async def turns(self, since: str) -> list[tuple[int, float]]:
        """(seats, length in seconds) of every visit closed since `since`."""
        return [(int(row["seats"]), _seconds(row["opened_at"], row["closed_at"]))
                for row in await self._database.rows(_TURNS, (since,))]


def _seconds(opened_at: str, closed_at: str) -> float:
    return (datetime.fromisoformat(closed_at) - datetime.fromisoformat(opened_at)
            ).total_seconds()

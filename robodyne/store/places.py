"""The places rows (SPEC §13): where the dock, the pass and the host stand are on the floor."""

from __future__ import annotations

from ..core.models import Place, PlaceName, utcnow
from .database import Database


class PlaceRows:
    """The floor's named places on the store's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def all(self) -> list[Place]:
        """Every place that was set, by name."""
        rows = await self._database.rows("SELECT name, x, y FROM places ORDER BY name")
        return [Place.model_validate(dict(row)) for row in rows]

    async def put(self, name: PlaceName, x: float, y: float) -> Place:
        """The place set to (x, y), whether it was set before or not."""
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO places (name, x, y, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET x = excluded.x, y = excluded.y,"
                " updated_at = excluded.updated_at", (str(name), x, y, utcnow()))
        return Place(name=name, x=x, y=y)

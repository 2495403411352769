"""The reads and writes of one row or list of rows, generic over the entities' table
(entities.py): the Store's typed methods are each one call of these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiosqlite

from ..core.models import utcnow
from .database import Database
from .entities import M, Entity, decoded, encoded
from .keys import Keys

# More writes of a row's own transaction, given the connection and the row's id: what an order
# takes from the stock goes in with the order (store/stock.py).
Then = Callable[[aiosqlite.Connection, int], Awaitable[None]]


class Rows:
    """Rows of any entity, read on the database and written in its transactions."""

    def __init__(self, database: Database, keys: Keys) -> None:
        self._database = database
        self._keys = keys

    async def fetch(self, entity: Entity[M], where: str, *params: Any) -> list[M]:
        """The entity's records that `where` (and what follows it: an ORDER BY) selects."""
        return await self._built(entity, f"{entity.selected} {where}", *params)

    async def _built(self, entity: Entity[M], sql: str, *params: Any) -> list[M]:
        return [entity.build(decoded(row)) for row in await self._database.rows(sql, params)]

    async def first(self, entity: Entity[M], where: str, *params: Any) -> M | None:
        found = await self.fetch(entity, where, *params)
        return found[0] if found else None

    async def every(self, entity: Entity[M]) -> list[M]:
        return await self.fetch(entity, "ORDER BY id")

    async def by_id(self, entity: Entity[M], row_id: int | str) -> M | None:
        return await self.first(entity, "WHERE id = ?", row_id)

    async def newest(self, entity: Entity[M], limit: int) -> list[M]:
        """The newest `limit` records, oldest first."""
        return await self._built(
            entity, f"SELECT * FROM ({entity.selected} ORDER BY id DESC LIMIT ?) ORDER BY id",
            limit)

    async def add(self, entity: Entity[M], *, then: Then | None = None, **values: Any) -> M:
        """A new row of the entity's table, read back as it now is."""
        row_id = await self.insert(entity, values, then=then)
        found = await self.by_id(entity, row_id)
        if found is None:
            raise LookupError("row vanished right after it was written")
        return found

    async def insert(self, entity: Entity[Any], values: Mapping[str, Any], *,
                     noted: bool = True, then: Then | None = None) -> int:
        """A new row, committed; its id. A `noted` one is also noted on the idempotency key
        being written under (Keys.keyed), in the same transaction."""
        columns = encoded(values)
        async with self._database.transaction() as db:
            cur = await db.execute(
                f"INSERT INTO {entity.table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})", tuple(columns.values()))
            row_id = cur.lastrowid or 0
            if noted:
                await self._keys.note_written(db, entity.topic, row_id)
            if then is not None:
                await then(db, row_id)
        return row_id

    async def update(self, entity: Entity[M], row_id: int, changes: Mapping[str, Any], *,
                     then: Then | None = None) -> M | None:
        """Change the given columns of one row, then read it back; None when it is not there."""
        unknown = set(changes) - entity.updatable
        if unknown:
            raise ValueError(f"{entity.table} has no updatable column {sorted(unknown)}")
        if changes:
            values = encoded(changes)
            if entity.stamped:
                values["updated_at"] = utcnow()
            assignments = ", ".join(f"{column} = ?" for column in values)
            async with self._database.transaction() as db:
                cur = await db.execute(f"UPDATE {entity.table} SET {assignments} WHERE id = ?",
                                       (*values.values(), row_id))
                if cur.rowcount:
                    await self._keys.note_written(db, entity.topic, row_id, created=False)
                    if then is not None:
                        await then(db, row_id)
            if not cur.rowcount:
                return None
        return await self.by_id(entity, row_id)

    async def delete(self, entity: Entity[Any], row_id: int | str) -> bool:
        async with self._database.transaction() as db:
            cur = await db.execute(f"DELETE FROM {entity.table} WHERE id = ?", (row_id,))
        return cur.rowcount > 0

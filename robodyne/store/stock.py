"""The stock's rows (core/stock.py): each change of an inventory line's quantity written with
its move in one transaction — an order's in the order's own — and the moves read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import aiosqlite

from ..core.models import InventoryChanges, InventoryItem, MenuItem, utcnow
from ..core.stock import Move, MoveReason, Portions, Stocked, kept, moved, skus, taken
from ..core.topics import Topic
from .database import Database
from .entities import INVENTORY, MENU
from .keys import Keys
from .rows import Rows

MOVE_COLUMNS = "id, inventory_id, delta, reason, order_id, note, quantity_after, created_at"


class _Line(NamedTuple):
    id: int
    sku: str
    name: str
    quantity: float
    unit: str


class StockRows:
    """Moves, and the inventory lines and dishes a change of stock touches."""

    def __init__(self, database: Database, keys: Keys, rows: Rows) -> None:
        self._database = database
        self._keys = keys
        self._rows = rows

    async def add(self, sku: str, name: str, quantity: float, unit: str = "",
                  low_threshold: float = 0) -> InventoryItem:
        """A new inventory line (ConstraintFailed when its sku is taken)."""
        return await self._rows.add(INVENTORY, sku=sku, name=name, quantity=quantity, unit=unit,
                                    low_threshold=low_threshold)

    async def update(self, item_id: int, changes: InventoryChanges) -> InventoryItem | None:
        """A line's name, unit or low threshold changed (its quantity moves only by a move)."""
        return await self._rows.update(INVENTORY, item_id, changes)

    async def moves(self, inventory_id: int, limit: int) -> list[Move]:
        """The line's newest `limit` moves, newest first."""
        rows = await self._database.rows(
            f"SELECT {MOVE_COLUMNS} FROM inventory_moves WHERE inventory_id = ?"
            " ORDER BY id DESC LIMIT ?", (inventory_id, limit))
        return [Move.model_validate(dict(row)) for row in rows]

    async def adjust(self, inventory_id: int, reason: MoveReason, *, delta: float = 0,
                     counted: float | None = None, note: str = "") -> Move | None:
        """A staff move: `delta` added, or the quantity set to `counted` (the move records the
        difference); None for no such line. Noted on the idempotency key being written under,
        as a change of the line."""
        async with self._database.transaction() as db:
            found = await _lines(db, "id", [inventory_id])
            if not found:
                return None
            line = found[0]
            change = delta if counted is None else kept(counted - line.quantity)
            move = await _move(db, line, change, reason, note=note)
            await self._keys.note_written(db, Topic.INVENTORY, inventory_id, created=False)
        return move

    async def take(self, portions: Sequence[Portions], db: aiosqlite.Connection,
                   order_id: int) -> None:
        """Within the order's transaction: what its portions use, taken (SoldOut, and nothing
        written, when the stock cannot cover them)."""
        used = skus(portions)
        if not used:
            return
        lines = {line.sku: line for line in await _lines(db, "sku", used)}
        need = taken(portions, {sku: Stocked(line.quantity, line.name)
                                for sku, line in lines.items()})
        for sku, amount in need.items():
            await _move(db, lines[sku], -amount, MoveReason.ORDER, order_id=order_id)

    async def give_back(self, db: aiosqlite.Connection, order_id: int) -> None:
        """Within the cancel's transaction: what the order took and has not had back."""
        async with db.execute(
                "SELECT i.id, i.sku, i.name, i.quantity, i.unit, SUM(m.delta) AS net"
                " FROM inventory_moves m JOIN inventory i ON i.id = m.inventory_id"
                " WHERE m.order_id = ? GROUP BY i.id ORDER BY i.id", (order_id,)) as cur:
            rows = list(await cur.fetchall())
        for row in rows:
            if kept(row["net"]) < 0:
                line = _Line(*tuple(row)[:5])
                await _move(db, line, -row["net"], MoveReason.ORDER_CANCELLED,
                            order_id=order_id)

    async def order_skus(self, order_id: int) -> list[str]:
        """The skus the order moved."""
        rows = await self._database.rows(
            "SELECT DISTINCT i.sku FROM inventory_moves m JOIN inventory i"
            " ON i.id = m.inventory_id WHERE m.order_id = ?", (order_id,))
        return [row[0] for row in rows]

    async def items(self, skus: Sequence[str]) -> list[InventoryItem]:
        return await self._rows.fetch(INVENTORY, f"WHERE sku IN ({_marks(skus)}) ORDER BY id",
                                      *skus)

    async def dishes_using(self, skus: Sequence[str]) -> list[MenuItem]:
        """The dishes whose recipe names any of the skus."""
        return await self._rows.fetch(
            MENU, "WHERE EXISTS (SELECT 1 FROM json_each(m.recipe) r"
            f" WHERE json_extract(r.value, '$.sku') IN ({_marks(skus)})) ORDER BY m.id", *skus)


def _marks(values: Sequence[Any]) -> str:
    """One parameter's mark per value: an IN list of input."""
    return ", ".join("?" * len(values))


async def _lines(db: aiosqlite.Connection, column: str, keys: Sequence[Any]) -> list[_Line]:
    async with db.execute(
            f"SELECT id, sku, name, quantity, unit FROM inventory WHERE {column} IN"
            f" ({_marks(keys)})", tuple(keys)) as cur:
        return [_Line(*row) for row in await cur.fetchall()]


async def _move(db: aiosqlite.Connection, line: _Line, delta: float, reason: MoveReason, *,
                order_id: int | None = None, note: str = "") -> Move:
    """The line's quantity moved by `delta`, and the move recorded."""
    after = moved(line.quantity, delta, line.unit, line.sku)
    now = utcnow()
    await db.execute("UPDATE inventory SET quantity = ? WHERE id = ?", (after, line.id))
    cur = await db.execute(
        "INSERT INTO inventory_moves (inventory_id, delta, reason, order_id, note,"
        " quantity_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (line.id, kept(delta), reason, order_id, note, after, now))
    return Move(id=cur.lastrowid or 0, inventory_id=line.id, delta=kept(delta), reason=reason,
                order_id=order_id, note=note, quantity_after=after, created_at=now)

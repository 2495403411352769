"""Table links (SPEC §11.2, docs/guests.md): the secret code each table's QR code carries,
which table a code opens, and rotation, which ends what the old code had opened."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from ..core.errors import NotFound
from ..core.links import CODE_PATTERN
from ..core.models import Table
from ..store.store import Store
from .journal import Journal

# Told of each rotation: the table, and the code that no longer opens it (the guest sessions
# made with that code end: SPEC §11.3).
LinkRotated = Callable[[int, str], Awaitable[None]]


class TableLinks:
    """Each table's link code: made with the table, read by staff, rotated by the admin."""

    def __init__(self, store: Store, journal: Journal) -> None:
        self._store = store
        self._journal = journal
        # Two rotations of one table at once would each tell the listeners of a different
        # old code; one at a time, each hears of the code the other replaced.
        self._rotating = asyncio.Lock()
        self._rotated: list[LinkRotated] = []

    async def load(self) -> None:
        """At start: a code for every table without one (tables made before links were)."""
        await self._store.make_table_links()

    async def _table(self, table_id: int) -> Table:
        table = await self._store.table(table_id)
        if table is None:
            raise NotFound(f"table {table_id} not found")
        return table

    async def code(self, table_id: int) -> str:
        """The table's code; NotFound for no such table."""
        code = await self._store.table_link(table_id)
        if code is None:  # a table another program added while we run, or none at all
            await self._store.make_table_links()
            code = await self._store.table_link(table_id)
        if code is None:
            raise NotFound(f"table {table_id} not found")
        return code

    async def every(self) -> list[tuple[Table, str]]:
        """Every table with its code, in the tables' order."""
        await self._store.make_table_links()
        codes = await self._store.table_links()
        return [(table, codes[table.id]) for table in await self._store.tables()
                if table.id in codes]

    async def table_for(self, code: str) -> Table | None:
        """The table a code opens; None for a code that never was, or was rotated away."""
        if not CODE_PATTERN.fullmatch(code):
            return None
        table_id = await self._store.table_of_link(code)
        return await self._store.table(table_id) if table_id is not None else None

    async def rotate(self, table_id: int) -> str:
        """A new code for the table: the old one opens nothing from now on, and the listeners
        hear of it before this returns. The event says which table, never a code."""
        async with self._rotating:
            table = await self._table(table_id)
            old, code = await self._store.replace_table_link(table_id)
            try:
                await self._journal.event(
                    "table_link_rotated", message=f"table {table.label} has a new link: print"
                    " its card again", data={"table_id": table_id})
            finally:  # committed: whoever holds the old code hears of it, whatever happens
                if old is not None:
                    for listener in list(self._rotated):
                        await listener(table_id, old)
        return code

    @contextmanager
    def on_rotation(self, listener: LinkRotated) -> Iterator[None]:
        """Tell `listener` of every rotation while the block runs."""
        self._rotated.append(listener)
        try:
            yield
        finally:
            self._rotated.remove(listener)

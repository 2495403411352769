"""The store on a real SQLite file: sqlite3's errors reach the domain as ours, and each
request's idempotency key notes only what that request wrote."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from robodyne.core.errors import ConstraintFailed, StorageUnavailable
from robodyne.core.models import OrderItem
from robodyne.core.topics import Topic
from robodyne.store.keys import KEPT_PER_SCOPE, Asked
from robodyne.store.store import Store

from ..support.server import db_write

ASKED = Asked("POST", "/api/orders", "sha")


async def test_a_second_dish_of_the_same_name_is_a_constraint_failed_and_nothing_is_saved(
        store: Store) -> None:
    await store.add_menu_item("Soup")
    with pytest.raises(ConstraintFailed):
        await store.add_menu_item("SOUP")
    assert [dish.name for dish in await store.menu()] == ["Soup"]
    assert store.healthy  # a refused duplicate says nothing about the database's health


async def test_a_read_the_database_cannot_answer_is_storage_unavailable(
        store: Store, tmp_path: Path) -> None:
    db_write(tmp_path / "store.db", "DROP TABLE customers")  # another program
    with pytest.raises(StorageUnavailable, match="could not be read"):
        await store.customers()


async def test_a_bug_of_ours_surfaces_as_itself_not_as_a_conflict_or_an_outage(
        store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        async with store.transaction() as db:
            await db.execute("INSERT INTO dining_tables (label, seats) VALUES (NULL, 4)")
    with pytest.raises(sqlite3.ProgrammingError):
        await store.database.rows("SELECT ?", [{"not": "bindable"}])
    assert store.healthy and [table.label for table in await store.tables()] == []


async def test_requests_writing_at_once_each_note_their_own_item_on_their_own_key(
        store: Store) -> None:
    table = await store.add_table("T1", 4)

    async def place(key: str) -> int:
        with store.keys.keyed("scope", key, ASKED, Topic.ORDERS):
            await asyncio.sleep(0)  # the other request runs in between
            order = await store.add_order(table.id, [OrderItem(name=key, qty=1)])
            await asyncio.sleep(0)
        return order.id

    placed = await asyncio.gather(place("a"), place("b"))
    await store.add_order(table.id, [OrderItem(name="unkeyed", qty=1)])  # notes nothing
    for key, order_id in zip(("a", "b"), placed):
        record = await store.keys.record("scope", key, "")
        assert record is not None
        assert (record.created_topic, record.created_id) == ("orders", order_id)


async def test_a_scope_keeps_its_newest_thousand_keys_and_forgets_a_refused_one(
    store: Store
) -> None:
    for n in range(KEPT_PER_SCOPE + 5):
        await store.keys.finish("busy", f"k{n:04}", ASKED, 201, "application/json", b"{}")
    await store.keys.finish("other", "mine", ASKED, 201, "application/json", b"{}")
    # A millisecond apart each (many share one when written this fast), then one more.
    db_write(store.path, "UPDATE idempotency_keys SET created_at = strftime("
                         "'%Y-%m-%dT%H:%M:%fZ', '2026-12-01', (rowid / 1000.0) || ' seconds')")
    await store.keys.finish("busy", "last", ASKED, 201, "application/json", b"{}")
    kept = {row[0] for row in await store.database.rows(
        "SELECT key FROM idempotency_keys WHERE scope = 'busy'")}
    assert len(kept) == KEPT_PER_SCOPE
    # The newest: "last", and the 999 written just before it.
    assert "last" in kept and min(kept - {"last"}) == "k0006"
    assert await store.keys.record("other", "mine", "2000-01-01") is not None
    async with store.transaction() as db:  # a request that wrote its item, then was refused
        with store.keys.keyed("other", "refused", ASKED, Topic.ORDERS):
            await store.keys.note_written(db, Topic.ORDERS, 1)
    assert await store.keys.record("other", "refused", "2000-01-01") is not None
    await store.keys.forget("other", "refused")
    assert await store.keys.record("other", "refused", "2000-01-01") is None

"""Retention of events and system logs in bytes and rows (store/retention.py), on a real
SQLite file without sockets."""

from __future__ import annotations


import pytest

from robodyne.core.models import LogLevel
from robodyne.core.topics import Topic
from robodyne.store.retention import PRUNE_TO, WAKE_AT
from robodyne.store.store import Store


async def text_in(store: Store, table: Topic) -> int:
    columns = {Topic.EVENTS: ("type", "source", "message", "data"),
               Topic.SYSTEMLOGS: ("source", "message")}[table]
    total = " + ".join(f"length(CAST({c} AS BLOB))" for c in columns)
    [row] = await store.database.rows(f"SELECT coalesce(sum({total}), 0) FROM {table}")
    return int(row[0])


async def test_the_oldest_records_go_until_the_rest_fit_the_budget_and_the_count_stays_true(
        store: Store) -> None:
    for n in range(50):  # written before the first prune: counted by it
        await store.add_systemlog(LogLevel.INFO, "robot:r1", f"{n:03d} " + "x" * 996)
    assert store.retention.held(Topic.SYSTEMLOGS) is None
    budget = 20_000
    deleted = await store.retention.prune(Topic.SYSTEMLOGS, 100_000, budget)
    kept = await text_in(store, Topic.SYSTEMLOGS)
    assert budget * PRUNE_TO - 1100 <= kept <= budget * PRUNE_TO
    assert deleted == 50 - kept // 1008
    assert store.retention.held(Topic.SYSTEMLOGS) == kept
    rows = await store.database.rows("SELECT message FROM systemlogs ORDER BY id")
    assert rows[-1][0].startswith("049 ") and rows[0][0] > "000"  # the newest are kept
    # Inserts are counted as they come: the count and the table agree.
    await store.add_event("bump", source="robot:r1", message="m", data={"k": "é" * 100})
    await store.add_systemlog(LogLevel.INFO, "robot:r1", "가" * 10)
    assert store.retention.held(Topic.SYSTEMLOGS) == await text_in(store, Topic.SYSTEMLOGS)
    await store.retention.prune(Topic.EVENTS, 100_000, budget)
    assert store.retention.held(Topic.EVENTS) == await text_in(store, Topic.EVENTS)


async def test_past_its_budget_by_a_tenth_a_table_wakes_the_pruner(store: Store) -> None:
    await store.retention.prune(Topic.EVENTS, 100_000, 10_000)
    store.retention.due.clear()
    while (store.retention.held(Topic.EVENTS) or 0) <= 10_000 * WAKE_AT:
        assert not store.retention.due.is_set()
        await store.add_event("bump", message="m" * 900)
    assert store.retention.due.is_set()


async def test_the_row_bound_still_holds_whatever_the_bytes(store: Store) -> None:
    for n in range(120):
        await store.add_event("bump", message=str(n))
    assert await store.retention.prune(Topic.EVENTS, 100, 10**9) == 20
    [row] = await store.database.rows("SELECT min(message + 0), count(*) FROM events")
    assert tuple(row) == (20, 100)
    assert store.retention.held(Topic.EVENTS) == await text_in(store, Topic.EVENTS)


async def test_only_events_and_systemlogs_are_pruned(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.retention.prune(Topic.ORDERS, 100, 1000)

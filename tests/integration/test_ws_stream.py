"""Snapshot, contiguous seqs under concurrent publishing, and resume (docs/protocol.md).

Every write goes through the domain (the app's Restaurant and Journal), as a REST call's would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from robodyne.core.models import LogLevel, OrderLine, TableStatus

from ..support.api_client import Api
from ..support.mirror import TopicMirror
from ..support.server import MakeServer, db_rows, parts_of, receive_json, ws_url


async def _change_quantities(server: TestServer, count: int) -> None:
    """Stock changes one after another, each committed and published by the stock."""
    stock = parts_of(server).stock
    ids = [row["id"] for row in db_rows(server, "SELECT id FROM inventory ORDER BY id")]
    for n in range(count):
        # Above every low threshold: no stock event joins in.
        await stock.change(ids[n % len(ids)], {"quantity": 100 + n})
        if n % 10 == 0:
            await asyncio.sleep(0)


async def _orders(server: TestServer, count: int) -> list[dict[str, Any]]:
    """`count` orders placed at a new table, each as the orders topic published it."""
    restaurant = parts_of(server).restaurant
    table = await restaurant.add_table("T1", 4, TableStatus.AVAILABLE, None, None)
    return [(await restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
             ).model_dump(mode="json") for _ in range(count)]


async def _current(session: aiohttp.ClientSession, server: TestServer, topic: str
                   ) -> tuple[int, str]:
    """The topic's seq and epoch, as GET /api/{topic} tells a client."""
    body = await Api(session, server).ok("GET", f"/api/{topic}")
    return body["seq"], body["epoch"]


async def test_snapshot_holds_every_item_with_the_topic_seq_and_epoch(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    for n in range(3):
        await parts_of(server).stock.add(f"SKU-{n}", f"thing {n}", 10, "pc", 2)
    async with session.ws_connect(ws_url(server, "inventory")) as ws:
        snapshot = await receive_json(ws)
    assert snapshot["topic"] == "inventory"
    assert snapshot["seq"] == 3
    assert snapshot["data"]["kind"] == "snapshot"
    assert snapshot["data"]["epoch"] == (await _current(session, server, "inventory"))[1]
    assert [i["sku"] for i in snapshot["data"]["items"]] == ["SKU-0", "SKU-1", "SKU-2"]


async def test_subscriber_joining_during_1000_updates_sees_no_gap_and_ends_equal_to_database(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    for n in range(20):
        await parts_of(server).stock.add(f"SKU-{n}", f"thing {n}", 100, "pc", 5)

    writer = asyncio.create_task(_change_quantities(server, 1000))
    await asyncio.sleep(0.05)  # let the writer get going before we subscribe
    mirror = TopicMirror("inventory")
    async with session.ws_connect(ws_url(server, "inventory")) as ws:
        first = await receive_json(ws)
        assert first["data"]["kind"] == "snapshot"
        assert 20 < first["seq"] < 1020, "the subscribe should land mid-stream"
        assert mirror.apply(first) is None
        await writer
        final_seq, _ = await _current(session, server, "inventory")
        while (mirror.seq or 0) < final_seq:
            message = await receive_json(ws)
            assert message["type"] == "update", message
            assert mirror.apply(message) is None
    assert mirror.seq == final_seq  # every update between applied with no gap (apply's check)
    in_database = {row["id"]: dict(row) for row in db_rows(server, "SELECT * FROM inventory")}
    assert {item_id: {column: item[column] for column in in_database[item_id]}
            for item_id, item in mirror.items.items()} == in_database


async def test_resume_returns_exactly_the_missed_updates(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    journal = parts_of(server).journal
    async with session.ws_connect(ws_url(server, "systemlogs")) as ws:
        snapshot = await receive_json(ws)
    since, epoch = snapshot["seq"], snapshot["data"]["epoch"]
    for n in range(5):
        await journal.log(LogLevel.WARNING, "test", f"missed {n}")
    async with session.ws_connect(ws_url(server, "systemlogs", since=since, epoch=epoch)) as ws:
        replayed = [await receive_json(ws) for _ in range(5)]
        assert [m["seq"] for m in replayed] == list(range(since + 1, since + 6))
        assert [m["data"]["kind"] for m in replayed] == ["append"] * 5
        assert [m["data"]["items"][0]["message"] for m in replayed] == [
            f"missed {n}" for n in range(5)]
        # and nothing else: the next frame is the next live update
        await journal.log(LogLevel.WARNING, "test", "live")
        live = await receive_json(ws)
        assert live["seq"] == since + 6 and live["data"]["items"][0]["message"] == "live"


async def test_resume_at_the_current_seq_sends_nothing_until_the_next_update(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    restaurant = parts_of(server).restaurant
    table = await restaurant.add_table("T1", 4, TableStatus.AVAILABLE, None, None)
    seq, epoch = await _current(session, server, "orders")
    async with session.ws_connect(ws_url(server, "orders", since=seq, epoch=epoch)) as ws:
        order = await restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
        message = await receive_json(ws)
        assert message["seq"] == seq + 1 and message["data"] == {
            "kind": "upsert", "items": [order.model_dump(mode="json")]}


async def test_resume_gets_a_snapshot_when_the_epoch_differs(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    await _orders(server, 1)
    async with session.ws_connect(ws_url(server, "orders", since=0, epoch="an-old-epoch")) as ws:
        message = await receive_json(ws)
    assert message["data"]["kind"] == "snapshot"
    assert (message["seq"], message["data"]["epoch"]) == await _current(session, server, "orders")
    assert message["seq"] == 1


async def test_resume_gets_a_snapshot_when_the_history_no_longer_covers_the_gap(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"history_size": 3})
    await _orders(server, 5)
    _, epoch = await _current(session, server, "orders")
    async with session.ws_connect(ws_url(server, "orders", since=1, epoch=epoch)) as ws:
        message = await receive_json(ws)
        assert message["data"]["kind"] == "snapshot" and message["seq"] == 5
    async with session.ws_connect(ws_url(server, "orders", since=2, epoch=epoch)) as ws:
        replayed = [await receive_json(ws) for _ in range(3)]
        assert [m["seq"] for m in replayed] == [3, 4, 5]


async def test_resume_from_the_future_gets_a_snapshot(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    _, epoch = await _current(session, server, "tables")
    async with session.ws_connect(ws_url(server, "tables", since=99, epoch=epoch)) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"

"""Snapshot, contiguous seqs under concurrent publishing, and resume (docs/protocol.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from ..support.server import MakeServer, hub_of, receive_json, store_of, ws_url


class TopicMirror:
    """What a client holds of a topic: the snapshot plus every update applied in seq order."""

    def __init__(self) -> None:
        self.items: dict[Any, dict[str, Any]] = {}
        self.seqs: list[int] = []
        self.epoch: str | None = None

    def apply(self, message: dict[str, Any]) -> None:
        assert message["type"] == "update", message
        data = message["data"]
        if self.seqs and data["kind"] != "snapshot":
            assert message["seq"] == self.seqs[-1] + 1, (self.seqs[-1], message["seq"])
        if data["kind"] == "snapshot":
            self.items = {item["id"]: item for item in data["items"]}
            self.epoch = data.get("epoch", self.epoch)
        elif data["kind"] in ("upsert", "append"):
            self.items.update({item["id"]: item for item in data["items"]})
        elif data["kind"] == "delete":
            for item_id in data["ids"]:
                self.items.pop(item_id, None)
        self.seqs.append(message["seq"])


async def _change_quantities(server: Any, count: int) -> None:
    """The write path every writer follows: commit, then publish."""
    store, hub = store_of(server), hub_of(server)
    items = await store.inventory()
    for n in range(count):
        item = items[n % len(items)]
        updated = await store.update_inventory(item.id, {"quantity": n})
        assert updated is not None
        hub.publish("inventory", "upsert", [updated.model_dump(mode="json")])
        if n % 10 == 0:
            await asyncio.sleep(0)


async def test_snapshot_holds_every_item_with_the_topic_seq_and_epoch(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    store, hub = store_of(server), hub_of(server)
    for n in range(3):
        item = await store.add_inventory(f"SKU-{n}", f"thing {n}", 10, "pc", 2)
        hub.publish("inventory", "upsert", [item.model_dump(mode="json")])
    async with session.ws_connect(ws_url(server, "inventory")) as ws:
        snapshot = await receive_json(ws)
    assert snapshot["topic"] == "inventory"
    assert snapshot["seq"] == 3
    assert snapshot["data"]["kind"] == "snapshot"
    assert snapshot["data"]["epoch"] == hub.epoch
    assert [i["sku"] for i in snapshot["data"]["items"]] == ["SKU-0", "SKU-1", "SKU-2"]


async def test_subscriber_joining_during_1000_updates_sees_no_gap_and_ends_equal_to_database(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    store = store_of(server)
    for n in range(20):
        await store.add_inventory(f"SKU-{n}", f"thing {n}", 100, "pc", 5)
    # the hub was primed at start, before these rows: publish them as a writer would
    hub = hub_of(server)
    hub.publish("inventory", "snapshot",
                [item.model_dump(mode="json") for item in await store.inventory()])

    writer = asyncio.create_task(_change_quantities(server, 1000))
    await asyncio.sleep(0.05)  # let the writer get going before we subscribe
    mirror = TopicMirror()
    async with session.ws_connect(ws_url(server, "inventory")) as ws:
        first = await receive_json(ws)
        assert first["data"]["kind"] == "snapshot"
        assert 0 < first["seq"] < 1001, "the subscribe should land mid-stream"
        mirror.apply(first)
        await writer
        final_seq = hub.topics["inventory"].seq
        while mirror.seqs[-1] < final_seq:
            mirror.apply(await receive_json(ws))
    assert mirror.seqs == list(range(first["seq"], final_seq + 1))
    in_database = {item.id: item.model_dump(mode="json") for item in await store.inventory()}
    assert mirror.items == in_database


async def test_resume_returns_exactly_the_missed_updates(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    hub = hub_of(server)
    async with session.ws_connect(ws_url(server, "systemlogs")) as ws:
        snapshot = await receive_json(ws)
    since, epoch = snapshot["seq"], snapshot["data"]["epoch"]
    for n in range(5):
        record = await store_of(server).add_systemlog("WARNING", "test", f"missed {n}")
        hub.publish("systemlogs", "append", [record.model_dump(mode="json")])
    async with session.ws_connect(ws_url(server, "systemlogs", since=since, epoch=epoch)) as ws:
        replayed = [await receive_json(ws) for _ in range(5)]
        assert [m["seq"] for m in replayed] == list(range(since + 1, since + 6))
        assert [m["data"]["kind"] for m in replayed] == ["append"] * 5
        assert [m["data"]["items"][0]["message"] for m in replayed] == [
            f"missed {n}" for n in range(5)]
        # and nothing else: the next frame is the next live update
        record = await store_of(server).add_systemlog("WARNING", "test", "live")
        hub.publish("systemlogs", "append", [record.model_dump(mode="json")])
        live = await receive_json(ws)
        assert live["seq"] == since + 6 and live["data"]["items"][0]["message"] == "live"


async def test_resume_at_the_current_seq_sends_nothing_until_the_next_update(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    hub = hub_of(server)
    seq = hub.topics["orders"].seq
    async with session.ws_connect(ws_url(server, "orders", since=seq, epoch=hub.epoch)) as ws:
        hub.publish("orders", "delete", [], ids=[12345])
        message = await receive_json(ws)
        assert message["seq"] == seq + 1 and message["data"] == {
            "kind": "delete", "items": [], "ids": [12345]}


async def test_resume_gets_a_snapshot_when_the_epoch_differs(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    hub = hub_of(server)
    hub.publish("orders", "delete", [], ids=[1])
    async with session.ws_connect(ws_url(server, "orders", since=0, epoch="an-old-epoch")) as ws:
        message = await receive_json(ws)
    assert message["data"]["kind"] == "snapshot"
    assert message["data"]["epoch"] == hub.epoch and message["seq"] == 1


async def test_resume_gets_a_snapshot_when_the_history_no_longer_covers_the_gap(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"history_size": 3})
    hub = hub_of(server)
    for n in range(5):
        hub.publish("orders", "delete", [], ids=[n])
    async with session.ws_connect(ws_url(server, "orders", since=1, epoch=hub.epoch)) as ws:
        message = await receive_json(ws)
        assert message["data"]["kind"] == "snapshot" and message["seq"] == 5
    async with session.ws_connect(ws_url(server, "orders", since=2, epoch=hub.epoch)) as ws:
        replayed = [await receive_json(ws) for _ in range(3)]
        assert [m["seq"] for m in replayed] == [3, 4, 5]


async def test_resume_from_the_future_gets_a_snapshot(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    hub = hub_of(server)
    async with session.ws_connect(ws_url(server, "tables", since=99, epoch=hub.epoch)) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"

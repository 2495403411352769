"""Fallback polling (docs/protocol.md): another program writes the database; the server
notices, and is quiet otherwise."""

from __future__ import annotations

import asyncio

import aiohttp


from ..support.server import MakeServer, db_write, hub_of, receive_json, store_of, ws_url


async def _frames_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> list[object]:
    frames = []
    try:
        while True:
            frames.append((await ws.receive(timeout=seconds)).data)
    except asyncio.TimeoutError:
        return frames


async def test_outside_write_is_republished_as_a_snapshot_and_silence_costs_nothing(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(polling={"interval_s": 0.2})
    item = await store_of(server).stock.add("FLOUR", "Flour", 10, "kg", 2)
    hub_of(server).publish("inventory", "upsert", [item.model_dump(mode="json")])
    async with session.ws_connect(ws_url(server, "inventory")) as ws:
        snapshot = await receive_json(ws)
        assert await _frames_within(ws, 0.7) == [], "unchanged polls must send nothing"

        db_write(server, "UPDATE inventory SET quantity = 0 WHERE sku = 'FLOUR'")
        update = await receive_json(ws, timeout=2)
        assert update["data"]["kind"] == "snapshot"
        assert update["seq"] == snapshot["seq"] + 1
        [flour] = update["data"]["items"]
        assert flour["quantity"] == 0 and flour["status"] == "out_of_stock"
        assert await _frames_within(ws, 0.6) == [], "republished once, then quiet again"


async def test_status_snapshot_counts_connections(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, "orders")) as orders:
        await receive_json(orders)
        async with session.ws_connect(ws_url(server, "status")) as ws:
            status = await receive_json(ws)
            [item] = status["data"]["items"]
            assert item["health"] == "ok" and item["epoch"] == hub_of(server).epoch
            assert set(item) >= {"uptime_s", "version", "connections", "robots", "orders"}
            # the status client itself is counted within the coalescing window
            while item["connections"]["status"] != 1:
                item = (await receive_json(ws, timeout=3))["data"]["items"][0]
            assert item["connections"]["orders"] == 1

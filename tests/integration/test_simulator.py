"""The simulator against a real server: real TCP robots, a real WebSocket subscriber."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import pytest

from robodyne.demo.simulator import run_fleet

from ..support.server import MakeServer, receive_json, ws_url, parts_of


async def test_ten_robots_for_five_seconds_reach_subscribers_without_errors(
    make_server: MakeServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    server = await make_server()
    stop = asyncio.Event()
    seen: dict[str, dict[str, Any]] = {}
    updates = 0
    async with session.ws_connect(ws_url(server, "robots")) as ws:
        await receive_json(ws)
        fleet = asyncio.create_task(run_fleet(
            "127.0.0.1", parts_of(server).robot_server.port, "robot-token", 10, 10.0,
            stop=stop, seed=7))
        started = time.monotonic()
        last_seq = None
        while time.monotonic() - started < 5:
            update = await receive_json(ws)
            if update["type"] != "update":
                continue
            assert last_seq is None or update["seq"] == last_seq + 1
            last_seq = update["seq"]
            updates += 1
            for item in update["data"]["items"]:
                seen[item["id"]] = item
        stop.set()
        await asyncio.wait_for(fleet, 5)
    assert sorted(seen) == sorted(f"sim-{n}" for n in range(1, 11))
    assert all(item["pose"] is not None for item in seen.values())
    print(f"10 robots x 10 Hz for 5 s: {updates} coalesced robots updates reached the subscriber")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    await _until_offline(server)


async def _until_offline(server: Any) -> None:
    fleet = parts_of(server).fleet
    for _ in range(100):
        if not fleet.links:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"robots still connected after bye: {sorted(fleet.links)}")

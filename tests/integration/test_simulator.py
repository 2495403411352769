"""The simulator against a real server: real TCP robots, a real WebSocket subscriber, and the
REST API to send them driving (they move only when told to)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import aiohttp
import pytest

from robodyne.core.floor import DOCK
from robodyne.demo.client import run_fleet
from robodyne.demo.floor import table_position

from ..support.api_client import Api
from ..support.server import MakeServer, receive_json, ws_url, parts_of
from ..support.wait import until

ROBOTS = {f"sim-{n}" for n in range(1, 11)}


async def test_ten_robots_sent_driving_reach_subscribers_without_errors(
    make_server: MakeServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    server = await make_server()
    api = Api(session, server)
    # Where the demo floor has them: a simulated robot drives to a command's positions.
    tables = [(await api.table(f"T{n}", at=table_position(n)))["id"] for n in range(1, 4)]
    stop = asyncio.Event()
    seen: dict[str, dict[str, Any]] = {}
    commanded_at: float | None = None
    async with session.ws_connect(ws_url(server, "robots")) as ws:
        await receive_json(ws)
        fleet = asyncio.create_task(run_fleet(
            "127.0.0.1", parts_of(server).robot_server.port, "robot-token-test", 10, 10.0,
            stop=stop, seed=7))
        started = time.monotonic()
        last_seq = None
        while time.monotonic() - started < 5:
            update = await receive_json(ws)
            if update["type"] != "update":
                continue
            assert last_seq is None or update["seq"] == last_seq + 1
            last_seq = update["seq"]
            for item in update["data"]["items"]:
                seen[item["id"]] = item
            if commanded_at is None and set(seen) == ROBOTS and all(
                    item["connected"] for item in seen.values()):
                # All docked and still: only a command sets them moving.
                assert all(item["status"] == "idle" for item in seen.values())
                for n, robot_id in enumerate(sorted(ROBOTS)):
                    await api.ok("POST", f"/api/robots/{robot_id}/commands",
                                 {"command": "go_to", "table_id": tables[n % len(tables)]}, 202)
                commanded_at = time.monotonic()
        stop.set()
        await asyncio.wait_for(fleet, 5)
    assert commanded_at is not None and time.monotonic() - commanded_at > 2
    assert sorted(seen) == sorted(ROBOTS)
    for item in seen.values():
        assert item["status"] == "delivering", item
        assert math.dist((item["pose"]["x"], item["pose"]["y"]), DOCK) > 1.0, item
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    await _until_offline(server)


async def test_a_robot_with_a_fail_rate_of_one_reports_its_failed_trip(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    api = Api(session, server)
    table = await api.table("T1", at=table_position(1))
    stop = asyncio.Event()
    fleet = asyncio.create_task(run_fleet(
        "127.0.0.1", parts_of(server).robot_server.port, "robot-token-test", 1, 10.0,
        stop=stop, seed=3, fail_rate=1.0))
    try:
        await until(lambda: parts_of(server).fleet.is_online("sim-1"), what="sim-1 connected")
        command_id = (await api.ok("POST", "/api/robots/sim-1/commands",
                                   {"command": "go_to", "table_id": table["id"]}, 202))["id"]
        # T1 is 5.7 m from the dock; the trip breaks down within 80 % of it (~6 s).

        async def failed_trip() -> tuple[list[dict[str, Any]], list[str]] | None:
            events = (await api.ok("GET", "/api/events"))["items"]
            failed = [e for e in events if e["type"] == "failed"]
            answers = [e["data"]["status"] for e in events if e["type"] == "command_result"
                       and e["data"]["command_id"] == command_id]
            return (failed, answers) if failed and "failed" in answers else None
        failed, answers = await until(failed_trip, timeout=10, what="a failed trip")
        assert sorted(answers) == ["accepted", "failed"]
        assert failed[0]["severity"] == "warning"
    finally:
        stop.set()
        await asyncio.wait_for(fleet, 5)


async def _until_offline(server: Any) -> None:
    fleet = parts_of(server).fleet
    await until(lambda: fleet.online_count() == 0, what="every robot offline after bye")

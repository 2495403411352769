"""A record repeating within a minute is counted on its first, not stored or broadcast again."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ..support.robot_client import RobotClient
from ..support.server import ADMIN, db_rows, receive_json, ws_url
from ..support.wait import until


async def updates_for(ws: aiohttp.ClientWebSocketResponse, seconds: float
                      ) -> list[dict[str, Any]]:
    """Every update that arrives within `seconds`."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await receive_json(ws, timeout=left))
        except asyncio.TimeoutError:
            break
    return got


def rows(server: TestServer) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db_rows(
        server, "SELECT id, level, source, message, repeats FROM systemlogs ORDER BY id")]


async def test_a_robot_looping_on_one_log_line_makes_one_record_with_its_count(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "systemlogs")) as logs:
        snapshot = await receive_json(logs)
        robot = await RobotClient.hello(server, "r1")
        for n in range(300):
            await robot.send({"type": "log", "level": "ERROR", "message": "lidar timeout",
                              "id": n})
        for n in range(300):
            assert await robot.receive() == {"type": "ack", "id": n}
        await robot.send({"type": "log", "level": "ERROR", "message": "bumper pressed"})
        got = await updates_for(logs, 2.5)
    # One append for each distinct line; the count comes as upserts of the first record, at
    # most about one a second, not one per repeat.
    appends = [u for u in got if u["data"]["kind"] == "append"]
    upserts = [u for u in got if u["data"]["kind"] == "upsert"]
    messages = [u["data"]["items"][0]["message"] for u in appends]
    assert messages == ["lidar timeout", "bumper pressed"]
    first = appends[0]["data"]["items"][0]
    assert (first["source"], first["repeats"]) == ("robot:r1", 1)
    assert 1 <= len(upserts) <= 3, [u["data"] for u in upserts]
    last = upserts[-1]["data"]["items"][0]
    assert (last["id"], last["repeats"]) == (first["id"], 300)
    # seq rises by one on every update: the upserts are part of the gap-free stream.
    seqs = [snapshot["seq"]] + [u["seq"] for u in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert rows(server) == [(first["id"], "ERROR", "robot:r1", "lidar timeout", 300),
                            (first["id"] + 1, "ERROR", "robot:r1", "bumper pressed", 1)]
    await robot.close()


async def test_a_repeated_server_warning_is_counted_and_the_snapshot_and_rest_show_it(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    noisy = logging.getLogger("robodyne.test.noisy")
    for _ in range(900):  # within the bridge's backlog (1,000), which drops the oldest past it
        noisy.warning("the same complaint from %s", "127.0.0.1")
    noisy.warning("something else")
    await until(lambda: [r[4] for r in rows(server)] == [900, 1], timeout=5)
    [complaint, other] = rows(server)
    assert complaint[1:4] == ("WARNING", "server",
                              "robodyne.test.noisy: the same complaint from 127.0.0.1")
    async with session.ws_connect(ws_url(server, "systemlogs")) as logs:
        snapshot = await receive_json(logs)
    assert [(i["message"].split(": ")[1], i["repeats"]) for i in snapshot["data"]["items"]] == [
        ("the same complaint from 127.0.0.1", 900), ("something else", 1)]
    async with session.get(server.make_url("/api/systemlogs"),
                           headers={"Authorization": f"Bearer {ADMIN}"}) as reply:
        body = await reply.json()
    assert [i["repeats"] for i in body["items"]] == [900, 1]


async def test_a_client_resuming_after_a_repeat_gets_the_upsert_it_missed(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    robot = await RobotClient.hello(server, "r1")
    async with session.ws_connect(ws_url(server, "systemlogs")) as logs:
        snapshot = await receive_json(logs)
        await robot.send({"type": "log", "level": "WARNING", "message": "wheel slip", "id": 1})
        assert await robot.receive() == {"type": "ack", "id": 1}
        appended = await receive_json(logs)
        assert appended["data"]["kind"] == "append"
    for n in range(2, 12):
        await robot.send({"type": "log", "level": "WARNING", "message": "wheel slip", "id": n})
        assert await robot.receive() == {"type": "ack", "id": n}
    await until(lambda: rows(server)[0][4] == 11, timeout=3)
    resume = ws_url(server, "systemlogs", since=appended["seq"],
                    epoch=snapshot["data"]["epoch"])
    async with session.ws_connect(resume) as logs:
        missed = await receive_json(logs)
    assert missed["seq"] == appended["seq"] + 1
    assert missed["data"]["kind"] == "upsert"
    [item] = missed["data"]["items"]
    assert (item["id"], item["repeats"]) == (appended["data"]["items"][0]["id"], 11)
    await robot.close()

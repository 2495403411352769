"""Crash safety: kill -9 the real server mid-write; whatever it acknowledged is in the database.

A 201 and a robot's ack both promise a committed transaction (docs/api.md; docs/protocol.md,
"Robot TCP protocol"). With WAL and synchronous=NORMAL a commit survives the process dying at
any instruction, so after a restart on the same file every acknowledged row must be there,
unchanged, and the file must be sound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from ..support.reliability import (
    AUTH,
    CONFIG,
    AckingRobot,
    RestartableServer,
    api_items,
    integrity,
    order_until_gone,
)
from ..support.server import db_rows

WRITERS = 4
ROUNDS = 3
LOAD_S = 1.5
ROBOTS = 4


def order_body(table_id: int, writer: int) -> Callable[[int], dict[str, Any]]:
    """Writer `writer`'s n-th order: every field of its own, to compare with the row."""
    def body(n: int) -> dict[str, Any]:
        return {"table_id": table_id, "note": f"writer {writer} order {n}",
                "items": [{"name": f"dish {writer}-{n}", "qty": n % 5 + 1, "note": "crash",
                           "modifiers": [f"w{writer}"]}]}
    return body


async def test_every_order_answered_201_survives_kill_9(server: RestartableServer) -> None:
    await server.start()
    acked: dict[int, dict[str, Any]] = {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/api/tables", headers=AUTH,
                                json={"label": "T1", "seats": 4}) as resp:
            table_id = (await resp.json())["id"]
        for round_ in range(1, ROUNDS + 1):
            before = len(acked)
            writers = [asyncio.create_task(order_until_gone(session, server,
                                                            order_body(table_id, w)))
                       for w in range(WRITERS)]
            await asyncio.sleep(LOAD_S)
            await server.kill_9()
            for answered, _ in await asyncio.gather(*writers):
                acked.update((order["id"], order) for _, order in answered)
            await server.start()

            # Everything answered 201, in every round so far, is served again, unchanged.
            served = {o["id"]: o for o in (await api_items(session, server, "orders"))["items"]}
            missing = sorted(set(acked) - set(served))
            assert not missing, f"orders answered 201 but lost: {missing[:20]}"
            assert all(served[order_id] == order for order_id, order in acked.items())
            # ... and in the file itself, which is sound.
            assert integrity(server.db) == "ok"
            rows = {r["id"]: r for r in db_rows(server.db, "SELECT * FROM orders")}
            for order_id, order in acked.items():
                row = rows[order_id]
                assert (row["table_id"], row["status"], row["note"], row["created_at"]) == (
                    order["table_id"], "placed", order["note"], order["created_at"])
                assert json.loads(row["items"]) == order["items"]
            unanswered = len(set(rows) - set(acked))
            assert len(acked) > before, f"no order answered 201 in round {round_}"
            # A row nobody was told about is only ever the one a writer had in flight.
            assert unanswered <= round_ * WRITERS


async def test_every_acked_robot_line_survives_kill_9(tmp_path: Path) -> None:
    # Its robots send events and logs as fast as they are acked: far past the 600 a minute a
    # robot may (tcp.max_lines_per_min), which is not what this test is about.
    server = RestartableServer(tmp_path, CONFIG + "[tcp]\nmax_lines_per_min = 1000000\n")
    try:
        await _every_acked_robot_line_survives(server)
    finally:
        server.kill()


async def _every_acked_robot_line_survives(server: RestartableServer) -> None:
    await server.start()
    robots = [AckingRobot(f"crash-{n}") for n in range(1, ROBOTS + 1)]
    streams = [asyncio.create_task(robot.run(server.tcp_port)) for robot in robots]
    await asyncio.sleep(LOAD_S)
    await server.kill_9()
    await asyncio.gather(*streams)
    await server.start()

    assert integrity(server.db) == "ok"
    events = {(r["source"], json.loads(r["data"])["n"])
              for r in db_rows(server.db, "SELECT source, data FROM events WHERE type = ?",
                               "crash_test")}
    logs = {(r["source"], r["message"])
            for r in db_rows(server.db, "SELECT source, message FROM systemlogs")}
    poses = {r["id"]: json.loads(r["pose"])
             for r in db_rows(server.db, "SELECT id, pose FROM robots")}
    totals = {"event": 0, "log": 0, "state": 0}
    for robot in robots:
        assert not robot.errors, robot.errors
        assert robot.acked == sorted(robot.acked), "acks come in line order"
        source = f"robot:{robot.robot_id}"
        for n in robot.acked:
            line = robot.sent[n]
            totals[line["type"]] += 1
            if line["type"] == "event":
                assert (source, n) in events, f"acked event {n} of {robot.robot_id} lost"
            elif line["type"] == "log":
                assert (source, line["message"]) in logs, f"acked log {n} of {robot.robot_id} lost"
        # The last acked state is in the robots table, or a later one that was written behind.
        last_state = max(n for n in robot.acked if robot.sent[n]["type"] == "state")
        x = poses[robot.robot_id]["x"]
        assert x >= last_state and robot.sent[int(x)]["type"] == "state", (robot.robot_id, x)
    assert all(totals.values()), f"every kind of line was acked and checked: {totals}"

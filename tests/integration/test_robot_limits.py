"""The robot port's bounds (SPEC §4) through real sockets and a real SQLite file: strangers
waiting for their hello, bytes before the welcome, the size of what a robot writes, its lines a
minute, and retention in bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from robodyne.robots.protocol import PRE_HELLO_BYTES
from robodyne.wire import robot as wire

from ..support.api_client import Api
from ..support.robot_client import RobotClient
from ..support.server import MakeServer, db_rows, parts_of, store_of
from ..support.wait import until
from .test_observability import scrape, value


async def refused_at_once(server: TestServer) -> None:
    """A connection the server closes before it says anything."""
    peer = await RobotClient.connect(server)
    try:
        assert await peer.closed_by_server(timeout=5) == []
    except ConnectionResetError:
        pass  # closed with unread bytes on the line: a reset, which is as much "closed"
    finally:
        await peer.close()


async def test_past_max_pending_a_connection_is_closed_at_once_and_a_welcome_frees_a_place(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(tcp={"max_pending": 3})
    robot_server = parts_of(server).robot_server
    strangers = [await RobotClient.connect(server) for _ in range(3)]
    await until(lambda: robot_server.pending() == 3)
    for _ in range(2):
        await refused_at_once(server)
    assert len(robot_server.sessions) == 3, "nothing is kept of a refused connection"
    # A welcomed robot is no longer waiting: its place goes to the next stranger.
    await strangers[0].send({"type": "hello", "token": "robot-token-test", "robot_id": "r1"})
    assert (await strangers[0].receive())["type"] == "welcome"
    late = await RobotClient.hello(server, robot_id="r2")
    await late.send({"type": "heartbeat", "id": 1})
    assert await late.receive() == {"type": "ack", "id": 1}
    samples = await scrape(Api(session, server))
    assert value(samples, "robodyne_tcp_pending_refused_total") == 2
    for peer in (*strangers, late):
        await peer.close()


async def test_more_than_4096_bytes_before_the_welcome_is_line_too_long_and_closed(
    server: TestServer
) -> None:
    stranger = await RobotClient.connect(server)
    await stranger.send_raw(b"x" * 3000 + b"\n")  # a bad line costs itself, as ever
    assert (await stranger.receive())["code"] == "invalid_json"
    await stranger.send_raw(b"y" * (PRE_HELLO_BYTES - 3000))
    lines = await stranger.closed_by_server()
    assert [line["code"] for line in lines] == ["line_too_long"]
    assert len(parts_of(server).robot_server.sessions) == 0
    # A hello of nearly 4 KB is welcomed, and then a line may be as long as max_line_bytes.
    robot = await RobotClient.hello(server, robot_id="r1", pad="p" * (PRE_HELLO_BYTES - 100))
    await robot.send({"type": "state", "battery": 50, "id": "big", "pad": "p" * 60_000})
    assert await robot.receive() == {"type": "ack", "id": "big"}
    await robot.close()


async def test_an_event_or_log_past_its_size_is_a_validation_error_and_stores_nothing(
    server: TestServer
) -> None:
    robot = await RobotClient.hello(server)
    too_big = [
        {"type": "event", "event": "bump", "id": 1, "data": {"x": "d" * wire.MAX_DATA_BYTES}},
        {"type": "event", "event": "bump", "id": 2, "message": "m" * 1001},
        {"type": "log", "level": "ERROR", "id": 3, "message": "l" * (wire.MAX_LOG_BYTES + 1)},
        {"type": "command_result", "command_id": "c" * 1001, "status": "done", "id": 4},
    ]
    for line in too_big:
        await robot.send(line)
        reply = await robot.receive()
        assert (reply["code"], reply["id"]) == ("validation_error", line["id"]), reply
    await robot.send({"type": "log", "level": "ERROR", "id": 5,
                      "message": "l" * wire.MAX_LOG_BYTES})
    assert await robot.receive() == {"type": "ack", "id": 5}
    assert db_rows(server, "SELECT count(*) AS n FROM events WHERE type IN"
                   " ('bump', 'command_result')")[0]["n"] == 0
    await robot.close()


async def test_past_max_lines_per_min_each_event_or_log_is_rate_limited_and_the_robot_stays(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(tcp={"max_lines_per_min": 4})
    robot = await RobotClient.hello(server, robot_id="r1")
    for n in range(2):
        await robot.send({"type": "event", "event": "bump", "id": f"e{n}"})
        await robot.send({"type": "log", "level": "INFO", "message": f"log {n}", "id": f"l{n}"})
    assert [(await robot.receive())["type"] for _ in range(4)] == ["ack"] * 4
    # More than 100 in a row would close a robot sending bad lines: these are not bad lines.
    over = 110
    for n in range(over):
        await robot.send({"type": "log", "level": "INFO", "message": f"more {n}", "id": n})
    for n in range(over):
        assert await robot.receive() == {
            "type": "error", "code": "rate_limited", "id": n,
            "detail": "log: more than 4 events and logs in 60 s (tcp.max_lines_per_min)"}
    await robot.send({"type": "state", "battery": 40, "id": "state"})  # state is not counted
    assert await robot.receive() == {"type": "ack", "id": "state"}
    # Reconnecting does not start a new window; another robot has its own.
    await robot.close()
    again = await RobotClient.hello(server, robot_id="r1")
    await again.send({"type": "command_result", "command_id": "c1", "status": "done", "id": 1})
    assert (await again.receive())["code"] == "rate_limited"
    other = await RobotClient.hello(server, robot_id="r2")
    await other.send({"type": "event", "event": "bump", "id": 1})
    assert await other.receive() == {"type": "ack", "id": 1}
    assert db_rows(server, "SELECT count(*) AS n FROM events WHERE type = 'bump'"
                   " AND source = 'robot:r1'")[0]["n"] == 2
    samples = await scrape(Api(session, server))
    assert value(samples, "robodyne_tcp_errors_total", code="rate_limited") == over + 1
    for peer in (again, other):
        await peer.close()


def text_bytes(server: TestServer, table: str, columns: str) -> int:
    total = " + ".join(f"length(CAST({c} AS BLOB))" for c in columns.split())
    [row] = db_rows(server, f"SELECT coalesce(sum({total}), 0) AS n FROM {table}")
    return int(row["n"])


def wal_of(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


async def test_a_robot_flooding_events_and_logs_keeps_the_database_within_its_byte_budget(
    make_server: MakeServer
) -> None:
    """1,000 events of 8 KB of data and 1,000 distinct 8 KB logs (16 MB of text) against
    budgets of 1 MB each, far faster than the minute between two scheduled prunes: a table
    past its budget wakes the pruner, and the file stays under the bound docs/operations.md
    gives."""
    budget_mb = 1
    server = await make_server(tcp={"max_lines_per_min": 100_000},
                               retention={"events_mb": budget_mb, "systemlogs_mb": budget_mb})
    db = store_of(server).path
    before = db.stat().st_size
    robot = await RobotClient.hello(server)
    data = {"blob": "d" * (wire.MAX_DATA_BYTES - 100)}
    largest, largest_wal = before, 0
    for n in range(1000):
        await robot.send({"type": "event", "event": "bump", "data": data})
        await robot.send({"type": "log", "level": "ERROR",
                          "message": f"{n:05d} " + "l" * (wire.MAX_LOG_BYTES - 6)})
        if n % 50 == 0:
            largest = max(largest, db.stat().st_size)
            largest_wal = max(largest_wal, wal_of(db).stat().st_size)
    await robot.send({"type": "heartbeat", "id": "end"})
    assert await robot.receive(timeout=60) == {"type": "ack", "id": "end"}
    await until(lambda: text_bytes(server, "events", "type source message data")
                <= budget_mb * 2**20, timeout=10)
    await until(lambda: text_bytes(server, "systemlogs", "source message")
                <= budget_mb * 2**20, timeout=10)
    largest = max(largest, db.stat().st_size)
    largest_wal = max(largest_wal, wal_of(db).stat().st_size)
    # docs/operations.md, "Retention": the file holds the text kept and what came in since the
    # last prune, with SQLite's pages around it; the write-ahead log a few MB. Here 5.5 MB
    # were measured against budgets of 2 MB; without the byte budgets this run writes 16 MB.
    assert largest < before + 4 * (2 * budget_mb * 2**20), (largest, before)
    assert largest_wal < 8 * 2**20
    newest = db_rows(server, "SELECT message FROM systemlogs WHERE source = 'robot:r1'"
                     " ORDER BY id DESC LIMIT 1")
    assert newest[0]["message"].startswith("00999 "), "the newest are the ones kept"
    await robot.close()
    await asyncio.sleep(0)

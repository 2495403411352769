"""The robot TCP protocol (docs/protocol.md) through real TCP connections to a real server:
every message type and error code."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest

from robodyne.robots import protocol as tcp
from robodyne.core.errors import RobotOffline

from ..support.server import (MakeServer, db_rows, db_write, events_of, parts_of, receive_json,
                              ws_url)
from ..support.robot_client import RobotClient
from ..support.wait import until


async def test_hello_gets_welcome_and_the_robot_comes_online(make_server: MakeServer) -> None:
    server = await make_server(tcp={"heartbeat_s": 2})
    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": "r1",
                      "name": "Robo One", "model": "S1", "id": 1})
    welcome = await robot.receive()
    assert welcome["type"] == "welcome" and welcome["robot_id"] == "r1"
    assert welcome["heartbeat_s"] == 2 and welcome["server_time"].endswith("Z")
    assert await robot.receive() == {"type": "ack", "id": 1}
    [row] = db_rows(server, "SELECT * FROM robots WHERE id = 'r1'")
    assert row["connected"] == 1 and row["name"] == "Robo One" and row["status"] == "idle"
    assert len(events_of(server, "robot_connected")) == 1
    await robot.close()


@pytest.mark.parametrize("token", ["nope", "kitchen-token-test"])
async def test_hello_with_a_bad_token_is_unauthorized_and_closed(
    make_server: MakeServer, token: str
) -> None:
    server = await make_server()
    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": token, "robot_id": "r1"})
    [error] = await robot.closed_by_server()
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert db_rows(server, "SELECT * FROM robots") == []


async def test_lines_before_hello_are_not_hello_and_cost_only_themselves(
    make_server: MakeServer,
) -> None:
    server = await make_server()
    robot = await RobotClient.connect(server)
    await robot.send({"type": "state", "battery": 50, "id": 7})
    assert await robot.receive() == {"type": "error", "code": "not_hello",
                                     "detail": "say hello first", "id": 7}
    await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": "r1"})
    assert (await robot.receive())["type"] == "welcome"
    await robot.close()


@pytest.mark.parametrize("bad,code", [
    (b"{not json\n", "invalid_json"),
    (b'{"type": "teleport", "id": 3}\n', "unknown_type"),
    (b'{"type": "state", "battery": 101, "id": 4}\n', "validation_error"),
    (b'{"type": "state", "pose": {"x": "left"}}\n', "validation_error"),
    (b'"just a string"\n', "validation_error"),
    (b'{"type": "log", "level": "LOUD", "message": "x"}\n', "validation_error"),
    (b'{"type": "state", "battery": 1e999999}\n', "invalid_json"),
    (b"\xff\xfe\n", "invalid_json"),
    (b'{"type": "state", "note": "' + b"x" * 70000 + b'"}\n', "line_too_long"),
])
async def test_a_bad_line_gets_its_error_and_the_next_good_line_is_applied(
    make_server: MakeServer, bad: bytes, code: str
) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    await robot.send_raw(bad)
    error = await robot.receive()
    assert error["type"] == "error" and error["code"] == code, error
    assert error["detail"]
    await robot.send({"type": "state", "battery": 77, "id": "after"})
    assert await robot.receive() == {"type": "ack", "id": "after"}
    [row] = db_rows(server, "SELECT battery FROM robots WHERE id = 'r1'")
    assert row["battery"] == 77
    await robot.close()


async def test_ack_comes_only_after_the_effect_is_committed(make_server: MakeServer) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    await robot.send({"type": "state", "status": "delivering", "battery": 64.5, "table_id": 3,
                      "pose": {"x": 2.5, "y": 1.0, "yaw": 0.5, "map": "floor"}, "id": 1})
    assert await robot.receive() == {"type": "ack", "id": 1}
    [row] = db_rows(server, "SELECT * FROM robots WHERE id = 'r1'")
    assert (row["status"], row["battery"], row["table_id"]) == ("delivering", 64.5, 3)
    assert '"x":2.5' in row["pose"]

    await robot.send({"type": "event", "event": "obstacle_detected", "severity": "warning",
                      "message": "chair in aisle", "table_id": 3, "id": 2})
    assert await robot.receive() == {"type": "ack", "id": 2}
    [event] = events_of(server, "obstacle_detected")
    assert (event["severity"], event["source"], event["message"]) == (
        "warning", "robot:r1", "chair in aisle")

    await robot.send({"type": "log", "level": "WARNING", "message": "wheel slip", "id": 3})
    assert await robot.receive() == {"type": "ack", "id": 3}
    [log_row] = db_rows(server, "SELECT * FROM systemlogs WHERE message = 'wheel slip'")
    assert (log_row["level"], log_row["source"]) == ("WARNING", "robot:r1")

    await robot.send({"type": "heartbeat", "id": 4})
    assert await robot.receive() == {"type": "ack", "id": 4}
    await robot.close()


async def test_one_hundred_bad_lines_in_a_row_close_the_connection(make_server: MakeServer) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    await robot.send_raw(b"nope\n" * 99 + b'{"type": "heartbeat", "id": 1}\n')
    replies = [await robot.receive() for _ in range(100)]
    assert replies[-1] == {"type": "ack", "id": 1}, "a good line resets the count"
    await robot.send_raw(b"nope\n" * 100)
    errors = await robot.closed_by_server()
    assert len(errors) == 100 and {e["code"] for e in errors} == {"invalid_json"}


async def test_no_hello_in_time_closes(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tcp, "HELLO_TIMEOUT_S", 0.3)
    server = await make_server()
    robot = await RobotClient.connect(server)
    started = time.monotonic()
    [error] = await robot.closed_by_server()
    assert error["code"] == "not_hello"
    assert time.monotonic() - started < 3


async def test_dropped_socket_raises_robot_offline_once(make_server: MakeServer) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    await robot.send({"type": "state", "battery": 90, "id": 1})
    await robot.receive()
    await robot.close()  # no bye
    await until(lambda: events_of(server, "robot_offline"))
    await asyncio.sleep(0.3)
    [offline] = events_of(server, "robot_offline")
    assert offline["severity"] == "warning" and '"reason":"lost"' in offline["data"]
    [row] = db_rows(server, "SELECT connected, status FROM robots WHERE id = 'r1'")
    assert (row["connected"], row["status"]) == (0, "offline")
    assert events_of(server, "robot_disconnected") == []


async def test_silent_robot_goes_offline_after_three_heartbeats(make_server: MakeServer) -> None:
    server = await make_server(tcp={"heartbeat_s": 0.2})
    robot = await RobotClient.hello(server)
    started = time.monotonic()
    await robot.closed_by_server(timeout=5)
    silent_for = time.monotonic() - started
    assert 0.55 < silent_for < 2.0, "3 x heartbeat = 0.6 s"
    await until(lambda: events_of(server, "robot_offline"))
    [offline] = events_of(server, "robot_offline")
    assert '"reason":"silent"' in offline["data"]


async def test_heartbeats_keep_a_quiet_robot_online(make_server: MakeServer) -> None:
    server = await make_server(tcp={"heartbeat_s": 0.2})
    robot = await RobotClient.hello(server)
    for n in range(10):
        await robot.send({"type": "heartbeat", "id": n})
        assert await robot.receive() == {"type": "ack", "id": n}
        await asyncio.sleep(0.15)
    assert events_of(server, "robot_offline") == []
    await robot.close()


async def test_bye_raises_robot_disconnected_not_offline(make_server: MakeServer) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    await robot.send({"type": "bye", "id": "last"})
    assert await robot.closed_by_server() == []  # no ack after bye: the session is over
    await until(lambda: events_of(server, "robot_disconnected"))
    await asyncio.sleep(0.2)
    assert len(events_of(server, "robot_disconnected")) == 1
    assert events_of(server, "robot_offline") == []


async def test_second_connection_with_the_same_robot_id_takes_over(make_server: MakeServer) -> None:
    server = await make_server()
    old = await RobotClient.hello(server, "r1")
    new = await RobotClient.hello(server, "r1")
    [replaced] = await old.closed_by_server()
    assert replaced["type"] == "error" and replaced["code"] == "replaced"
    await new.send({"type": "state", "battery": 55, "id": 1})
    assert await new.receive() == {"type": "ack", "id": 1}
    [row] = db_rows(server, "SELECT connected, battery FROM robots WHERE id = 'r1'")
    assert (row["connected"], row["battery"]) == (1, 55)
    assert events_of(server, "robot_offline") == []
    assert len(events_of(server, "robot_connected")) == 2
    await new.close()


async def test_low_battery_and_robot_error_are_raised_once_per_transition(
    make_server: MakeServer,
) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    lines = [{"battery": 50}, {"battery": 19}, {"battery": 18}, {"battery": 17}, {"battery": 40},
             {"battery": 10}, {"status": "error"}, {"status": "error"},
             {"status": "emergency_stop"}, {"status": "idle"}, {"status": "emergency_stop"}]
    for n, line in enumerate(lines):
        await robot.send({"type": "state", "id": n, **line})
        assert await robot.receive() == {"type": "ack", "id": n}
    assert [e["data"] for e in events_of(server, "low_battery")] == [
        '{"robot_id":"r1","battery":19.0}', '{"robot_id":"r1","battery":10.0}']
    # into error; error again is no news; error -> emergency_stop is; idle; emergency_stop
    assert [orjson.loads(e["data"])["status"] for e in events_of(server, "robot_error")] == [
        "error", "emergency_stop", "emergency_stop"]
    await robot.close()


async def test_an_emergency_stop_after_an_error_raises_robot_error_again(
    make_server: MakeServer,
) -> None:
    """Crack 2: a robot in error that then reports emergency_stop is news to the floor."""
    server = await make_server()
    robot = await RobotClient.hello(server)
    for n, status in enumerate(["error", "emergency_stop", "error"]):
        await robot.send({"type": "state", "id": n, "status": status})
        assert await robot.receive() == {"type": "ack", "id": n}
    raised = events_of(server, "robot_error")
    assert [orjson.loads(e["data"])["status"] for e in raised] == [
        "error", "emergency_stop", "error"]
    assert {e["severity"] for e in raised} == {"error"}
    await robot.close()


async def test_command_goes_out_over_the_session_and_its_result_becomes_an_event(
    make_server: MakeServer,
) -> None:
    server = await make_server()
    fleet = parts_of(server).fleet
    with pytest.raises(RobotOffline):
        fleet.send_command("r1", "go_to", table_id=2)
    robot = await RobotClient.hello(server)
    command_id = fleet.send_command("r1", "deliver", table_id=4, order_id=9)
    command = await robot.receive()
    assert command == {"type": "command", "id": command_id, "command": "deliver",
                       "table_id": 4, "order_id": 9}
    await robot.send({"type": "command_result", "command_id": command_id, "status": "accepted",
                      "id": 1})
    assert await robot.receive() == {"type": "ack", "id": 1}
    [result] = events_of(server, "command_result")
    assert command_id in result["data"] and '"status":"accepted"' in result["data"]
    await robot.close()


async def test_notify_rereads_what_another_program_wrote(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, "tables")) as ws:
        await receive_json(ws)
        db_write(server, "INSERT INTO dining_tables (id, label, seats, updated_at)"
                 " VALUES (40, 'Patio', 4, '2026-01-01T00:00:00.000Z')")
        peer = await RobotClient.connect(server)
        await peer.send({"type": "hello", "token": "admin-token-test"})
        assert (await peer.receive())["robot_id"] is None  # an integration peer
        await peer.send({"type": "notify", "entity": "table", "entity_id": 40, "id": "n1"})
        assert await peer.receive() == {"type": "ack", "id": "n1"}
        update = await receive_json(ws)
        assert update["data"]["kind"] == "upsert"
        assert update["data"]["items"][0]["label"] == "Patio"
        db_write(server, "DELETE FROM dining_tables WHERE id = 40")
        await peer.send({"type": "notify", "entity": "table", "entity_id": 40})
        assert (await receive_json(ws))["data"] == {"kind": "delete", "items": [], "ids": [40]}
        await peer.send({"type": "state", "battery": 5, "id": 2})
        assert (await peer.receive())["code"] == "validation_error"
        await peer.close()


async def test_a_state_line_reaches_a_robots_subscriber(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server)
    async with session.ws_connect(ws_url(server, "robots")) as ws:
        await receive_json(ws)
        await asyncio.sleep(0.3)  # past the coalescing window of the hello
        await robot.send({"type": "state", "pose": {"x": 3.0, "y": 4.0, "yaw": 0.0}})
        while True:
            update = await receive_json(ws)
            [item] = update["data"]["items"]
            if item["pose"] and item["pose"]["x"] == 3.0:
                break
    await robot.close()


async def test_every_changed_robot_reaches_a_subscriber_in_batches_never_out_of_order(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    """10 robots at ~50 Hz: frames may carry several robots (batched by the backlog,
    live/pace.py), never more frames than lines, and each robot's poses arrive in order."""
    server = await make_server()
    robots = [await RobotClient.hello(server, f"r{n}") for n in range(10)]
    async with session.ws_connect(ws_url(server, "robots")) as ws:
        await receive_json(ws)
        for step in range(20):  # 10 robots at ~50 Hz for 0.4 s: 200 lines
            for n, robot in enumerate(robots):
                await robot.send({"type": "state", "pose": {"x": float(step), "y": float(n)}})
            await asyncio.sleep(0.02)
        updates: list[dict[str, Any]] = []
        while not updates or any(i["pose"]["x"] != 19.0 for i in _latest(updates).values()):
            updates.append(await receive_json(ws))
    assert len(updates) <= 200 + 10  # the hellos' own upserts may come after the snapshot
    seen: dict[str, list[float]] = {}
    for update in updates:
        for item in update["data"]["items"]:
            if item["pose"] is not None:
                seen.setdefault(item["id"], []).append(item["pose"]["x"])
    assert all(xs == sorted(xs) for xs in seen.values())
    for robot in robots:
        await robot.close()


def _latest(updates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for update in updates:
        latest.update({item["id"]: item for item in update["data"]["items"]})
    return latest if len(latest) == 10 else {"missing": {"pose": {"x": -1}}}


async def test_an_acked_state_line_is_already_in_get_api_robots_and_on_the_topic(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    """Crack 1: the ack means committed and visible, even while its batch is held.

    A subscriber in the server that takes nothing (caught up until the hello's frame) holds
    the first line's publish for the backlog's bound: without waiting for the publish, the ack
    would come while the change is on no topic yet.
    """
    server = await make_server()
    stalled = parts_of(server).hub.subscribe("robots", lambda: None)
    stalled.take()  # its snapshot: counted on for the next frame, which it never takes
    async with session.ws_connect(ws_url(server, "robots")) as tablet:
        assert (await receive_json(tablet))["data"]["kind"] == "snapshot"
        robot = await RobotClient.hello(server, "a")
        for n, battery in enumerate([50, 61]):
            await robot.send({"type": "state", "battery": battery, "id": f"s{n}"})
            assert await robot.receive() == {"type": "ack", "id": f"s{n}"}
            bearer = {"Authorization": "Bearer admin-token-test"}
            async with session.get(server.make_url("/api/robots"), headers=bearer) as response:
                [listed] = (await response.json())["items"]
            assert listed["battery"] == battery
            [row] = db_rows(server, "SELECT battery FROM robots WHERE id = 'a'")
            assert row["battery"] == battery
        seen: list[Any] = []
        while not seen or seen[-1] != 61:  # and a subscriber has it on the topic
            update = await receive_json(tablet, timeout=0.5)
            seen += [item["battery"] for item in update["data"]["items"]]
        await robot.close()

"""What a robot writes, through a real TCP connection to a real server (SPEC §4): control
and bidi characters refused in its text (tabs and newlines kept in a log), its event types
folded to lower case, so that no spelling of a server-owned type gets into the journal."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from ..support.robot_client import RobotClient
from ..support.server import db_rows, events_of
from ..support.wait import until


async def answer(robot: RobotClient, message: dict[str, Any], message_id: str) -> dict[str, Any]:
    await robot.send({**message, "id": message_id})
    reply = await robot.receive()
    assert reply.get("id") == message_id, reply
    return reply


async def test_a_right_to_left_override_or_a_nul_in_an_event_is_a_validation_error(
        server: TestServer) -> None:
    robot = await RobotClient.hello(server)
    for n, message in enumerate(["storage_fail\u202edeliaf", "ok\x00", "two\nlines",
                                 "\x1b[2Jcleared"]):
        reply = await answer(robot, {"type": "event", "event": "bumped", "severity": "critical",
                                     "message": message}, f"e{n}")
        assert (reply["type"], reply["code"]) == ("error", "validation_error"), reply
    reply = await answer(robot, {"type": "command_result", "command_id": "c\u202e1",
                                 "status": "done", "detail": "fine"}, "c1")
    assert reply["code"] == "validation_error", reply
    reply = await answer(robot, {"type": "command_result", "command_id": "c1",
                                 "status": "failed", "detail": "jam\u2066"}, "c2")
    assert reply["code"] == "validation_error", reply
    # Refused lines are bad lines, but the session goes on: a good one is stored.
    assert await answer(robot, {"type": "event", "event": "bumped", "message": "chair"},
                        "e9") == {"type": "ack", "id": "e9"}
    assert [row["message"] for row in events_of(server, "bumped")] == ["chair"]
    assert events_of(server, "command_result") == []
    await robot.close()


async def test_a_name_with_a_bidi_override_is_refused_at_hello(server: TestServer) -> None:
    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": "r1",
                      "name": "Robo\u202etset"})
    reply = await robot.receive()
    assert reply["code"] == "validation_error", reply
    await robot.close()
    assert db_rows(server, "SELECT 1 FROM robots") == []


async def test_a_log_keeps_its_tabs_and_newlines_and_nothing_else(server: TestServer) -> None:
    robot = await RobotClient.hello(server)
    reply = await answer(robot, {"type": "log", "level": "ERROR", "message": "a\x1b[31mred"},
                         "l1")
    assert reply["code"] == "validation_error", reply
    assert await answer(robot, {"type": "log", "level": "ERROR",
                                "message": "trace:\n\tat motor.c:12"}, "l2") == \
        {"type": "ack", "id": "l2"}
    await until(lambda: db_rows(server, "SELECT 1 FROM systemlogs WHERE source = 'robot:r1'"))
    [row] = db_rows(server, "SELECT message FROM systemlogs WHERE source = 'robot:r1'")
    assert row["message"] == "trace:\n\tat motor.c:12"
    await robot.close()


async def test_a_server_owned_type_in_another_case_is_forbidden_and_others_are_folded(
        server: TestServer) -> None:
    robot = await RobotClient.hello(server)
    for n, event in enumerate(["Storage_Failed", "STORAGE_recovered", "Order_Served",
                               "Robot_Offline"]):
        reply = await answer(robot, {"type": "event", "event": event, "severity": "critical",
                                     "message": "forged"}, f"e{n}")
        assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
    assert db_rows(server, "SELECT 1 FROM events WHERE message = 'forged'") == []
    assert await answer(robot, {"type": "event", "event": "Door.Opened"}, "e9") == \
        {"type": "ack", "id": "e9"}
    assert len(events_of(server, "door.opened")) == 1
    await robot.close()

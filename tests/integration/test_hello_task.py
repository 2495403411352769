"""A robot's hello says which task it still carries (SPEC §4, `task_id`): one that comes back
without its task (it restarted) fails it at once, or sends it back to the queue if it never
accepted it; one that names it goes on; one that names a task ended meanwhile is told to drop
it; a hello without the field says nothing. Through real
TCP robots, the REST API and the SQLite file."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api
from ..support.floor_robot import FloorRobot
from ..support.robot_client import RobotClient
from ..support.server import MakeServer, db_rows, events_of, hub_of

DISPATCH = {"auto_deliver": True, "return_when_idle": False, "charge_below": 0}


async def _floor(make_server: MakeServer, session: aiohttp.ClientSession
                 ) -> tuple[TestServer, Api, int]:
    server = await make_server(dispatch=DISPATCH)
    api = Api(session, server)
    table = await api.ok("POST", "/api/tables", {"label": "T1", "seats": 4, "x": 4, "y": 6}, 201)
    return server, api, table["id"]


async def _ready(api: Api, table_id: int) -> dict[str, Any]:
    order: dict[str, Any] = await api.order(table_id)
    for status in ("preparing", "ready"):
        await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": status})
    return order


async def _back(server: TestServer, robot_id: str, **hello: Any) -> FloorRobot:
    """The robot connects again, its hello saying what it says of its task."""
    robot = FloorRobot(await RobotClient.hello(server, robot_id, **hello), robot_id)
    await robot.report(status="idle", battery=90,
                       pose={"x": 1.5, "y": 6, "yaw": 0, "map": "floor"})
    return robot


async def _dropped_underway(make_server: MakeServer, session: aiohttp.ClientSession
                            ) -> tuple[TestServer, int, dict[str, Any], dict[str, Any]]:
    """A robot on its way with an order drops off (its task underway): the server, the
    table, the order and the command the robot had been sent."""
    server, api, table_id = await _floor(make_server, session)
    robot = await FloorRobot.join(server, "r1")
    order = await _ready(api, table_id)
    command = await robot.command()
    await robot.answer(command, "accepted")
    await robot.client.close()
    return server, table_id, order, command


def _task(server: TestServer, task_id: int) -> dict[str, Any]:
    [task] = [t for t in hub_of(server).snapshot("tasks")[0] if t["id"] == task_id]
    return task


async def test_a_robot_back_without_its_task_fails_it_at_once_and_the_food_rides_again(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server, table_id, order, command = await _dropped_underway(make_server, session)
    again = await _back(server, "r1", task_id=None)
    task = _task(server, command["task_id"])
    assert task["status"] == "failed" and "came back without task" in task["detail"]
    [failed] = events_of(server, "task_failed")
    assert orjson.loads(failed["data"])["task_id"] == task["id"]
    # Its food is on a new task at once, and the robot, free, is sent it.
    redo = await again.command()
    assert redo["task_id"] != task["id"] and redo["stops"][0]["order_ids"] == [order["id"]]
    [row] = db_rows(server, "SELECT status FROM tasks WHERE id = ?", task["id"])
    assert row[0] == "failed"
    await again.close()


async def test_a_robot_back_with_its_task_goes_on_with_it(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server, table_id, order, command = await _dropped_underway(make_server, session)
    again = await _back(server, "r1", task_id=command["task_id"])
    assert _task(server, command["task_id"])["status"] == "underway"
    await again.event("arrived", task_id=command["task_id"], table_id=table_id)
    await again.event("delivered", task_id=command["task_id"], table_id=table_id,
                      order_id=order["id"])
    assert _task(server, command["task_id"])["status"] == "completed"
    assert events_of(server, "task_failed") == []
    await again.close()


async def test_a_robot_back_on_a_task_cancelled_meanwhile_is_told_to_drop_it(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server, table_id, order, command = await _dropped_underway(make_server, session)
    api = Api(session, server)
    await api.ok("POST", f"/api/tasks/{command['task_id']}/cancel", {})
    again = await _back(server, "r1", task_id=command["task_id"])
    dropped = await again.command()
    assert (dropped["command"], dropped["task_id"]) == ("cancel", command["task_id"])
    await again.answer(dropped, "done")
    # Staff have the food now (a cancel hands it to them): nothing more goes to the robot.
    await again.no_command()
    assert _task(server, command["task_id"])["status"] == "cancelled"
    await again.close()


@pytest.mark.parametrize("claim", [None, 999])
async def test_an_assigned_task_its_robot_never_got_goes_back_to_the_queue(
    make_server: MakeServer, session: aiohttp.ClientSession, claim: int | None
) -> None:
    server, api, table_id = await _floor(make_server, session)
    robot = await FloorRobot.join(server, "r1")
    await _ready(api, table_id)
    command = await robot.command()  # assigned; the robot drops before it accepts
    await robot.client.close()
    again = await _back(server, "r1", task_id=claim)
    # Not failed: back in the queue, and (the robot being free) offered again, as new.
    resent = await again.command()
    assert resent["task_id"] == command["task_id"]
    if claim is not None:  # a task the server does not hold for it: dropped after
        dropped = await again.command()
        assert (dropped["command"], dropped["task_id"]) == ("cancel", claim)
    assert events_of(server, "task_failed") == []
    await again.close()


async def test_a_hello_without_task_id_says_nothing_either_way(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server, api, table_id = await _floor(make_server, session)
    robot = await FloorRobot.join(server, "r1")
    await _ready(api, table_id)
    command = await robot.command()
    await robot.answer(command, "accepted")
    await robot.client.close()
    again = await _back(server, "r1")
    assert _task(server, command["task_id"])["status"] == "underway"
    await again.no_command()
    await again.close()


async def test_a_bad_task_id_in_a_hello_is_a_validation_error(server: TestServer) -> None:
    for bad in ("12", 1.5, True, 2**63):
        robot = await RobotClient.connect(server)
        await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": "r9",
                          "task_id": bad})
        reply = await robot.receive()
        assert (reply["type"], reply["code"]) == ("error", "validation_error"), (bad, reply)
        await robot.close()

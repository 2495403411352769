"""The ROS 2 bridge (SPEC §14) with real DDS: simulated Nav2 robots and `python -m
robodyne.ros2` as processes on a domain of their own, against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api
from ..support.ros2 import Child, bridge_config, ros_env
from ..support.server import MakeServer, db_rows, events_of, hub_of, parts_of
from ..support.wait import until

DISPATCH = {"auto_deliver": True, "return_when_idle": False, "charge_below": 0}
Floor = Callable[..., Awaitable[tuple[TestServer, Api, Child, Child]]]


@pytest.fixture
async def floor(make_server: MakeServer, session: aiohttp.ClientSession,
                tmp_path: Path) -> AsyncIterator[Floor]:
    """A server, one simulated Nav2 robot `r1` and the bridge between them."""
    children: list[Child] = []

    async def start(before: Callable[[Api], Awaitable[Any]] | None = None, *,
                    speed: float = 8, dispatch: dict[str, Any] | None = None,
                    **robot: Any) -> tuple[TestServer, Api, Child, Child]:
        server = await make_server(dispatch={**DISPATCH, **(dispatch or {})})
        api = Api(session, server)
        if before is not None:
            await before(api)
        env = ros_env()
        sim = await Child.start(env, "robodyne.ros2.sim", "r1", "--speed", str(speed), "--hz", "20")
        children.append(sim)
        await sim.expect("ready")
        # Discovery on a loaded machine can take longer than the usual stale_s: a robot not
        # heard by then joins in error, and takes back the trips its hello was offered.
        config = bridge_config(tmp_path / "ros2.toml", parts_of(server).robot_server.port,
                               ["r1"], **{"stale_s": 10, **robot})
        bridge = await Child.start(env, "robodyne.ros2", "--config", str(config))
        children.append(bridge)
        # Its pose has come through ROS: discovery is over, odometry flows.
        await until(lambda: _robot(server, "r1").get("pose"), 30, "r1 on the floor")
        return server, api, sim, bridge

    yield start
    for child in children:
        await child.kill()


def _robot(server: TestServer, robot_id: str) -> dict[str, Any]:
    robots = [r for r in hub_of(server).snapshot("robots")[0] if r["id"] == robot_id]
    return robots[0] if robots else {}


def _events(server: TestServer, type_: str) -> list[dict[str, Any]]:
    return [orjson.loads(row["data"]) for row in events_of(server, type_)]


def _task(server: TestServer, task_id: int) -> dict[str, Any]:
    [task] = [t for t in hub_of(server).snapshot("tasks")[0] if t["id"] == task_id]
    return task


def _status(server: TestServer, order_id: int) -> str:
    [row] = db_rows(server, "SELECT status FROM orders WHERE id = ?", order_id)
    return str(row["status"])


async def _ready(api: Api, table_id: int) -> dict[str, Any]:
    order = await api.order(table_id)
    return await api.move(order["id"], "preparing", "ready")


async def test_ready_orders_ride_a_ros2_robot_to_two_tables_in_order(floor: Floor) -> None:
    made: dict[str, Any] = {}

    async def two_ready_orders(api: Api) -> None:
        tables = [await api.table("T1", at=(3, 2)), await api.table("T2", at=(6, 4))]
        made["orders"] = [await _ready(api, table["id"]) for table in tables]
        made["tables"] = [table["id"] for table in tables]

    server, api, sim, bridge = await floor(two_ready_orders)
    orders = [order["id"] for order in made["orders"]]
    # Both orders were ready before the robot came: one task, two stops, in that order.
    assert await sim.expect("goal r1") == "goal r1 3 2"
    assert await sim.expect("goal r1") == "goal r1 6 4"
    await until(lambda: all(_status(server, o) == "served" for o in orders), 30, "served")
    arrived = _events(server, "arrived")
    assert [data["table_id"] for data in arrived] == made["tables"]
    [task_id] = {data["task_id"] for data in arrived}
    await until(lambda: _task(server, task_id)["status"] == "completed", 10, "task completed")
    await until(lambda: _robot(server, "r1")["pose"]["x"] == 6, 5, "the pose from AMCL")
    robot = _robot(server, "r1")
    assert (robot["pose"]["y"], robot["status"], robot["battery"]) == (4, "idle", 90)


async def test_return_and_charge_drive_to_the_dock(floor: Floor) -> None:
    server, api, sim, bridge = await floor()
    await api.ok("PUT", "/api/places/dock", {"x": 2, "y": 7})
    back = await api.ok("POST", "/api/tasks", {"kind": "return", "robot_id": "r1"}, 201)
    assert await sim.expect("goal r1") == "goal r1 2 7"
    await until(lambda: _task(server, back["id"])["status"] == "completed", 10, "returned")
    # Idle follows the task's done on the robot's line (the bridge sends it at once); the
    # pose at the dock comes at the bridge's state rate.
    await until(lambda: _robot(server, "r1")["status"] == "idle", 2, "idle")
    await until(lambda: _robot(server, "r1")["pose"]["y"] == 7, 5, "at the dock")
    await api.ok("POST", "/api/tasks", {"kind": "charge", "robot_id": "r1"}, 201)
    assert await sim.expect("goal r1") == "goal r1 2 7"
    # A charge is not done at the dock: the robot charges until the server says enough (§8).
    await until(lambda: _robot(server, "r1")["status"] == "charging", 10, "charging")


async def _far_order(api: Api) -> dict[str, Any]:
    table = await api.table("T9", at=(18, 10))
    return await _ready(api, table["id"])


async def test_an_aborted_goal_fails_the_task_and_its_food_goes_back_to_ready(
        floor: Floor) -> None:
    server, api, sim, bridge = await floor(speed=0.5, dispatch={"auto_deliver": False})
    order = await _far_order(api)
    task = await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [order["id"]]},
                        201)
    assert await sim.expect("goal r1") == "goal r1 18 10"
    await until(lambda: _status(server, order["id"]) == "delivering", 5, "delivering")
    sim.tell("abort r1")
    await until(lambda: _task(server, task["id"])["status"] == "failed", 10, "task failed")
    assert "aborted" in _task(server, task["id"])["detail"]
    assert _status(server, order["id"]) == "ready"
    [failed] = _events(server, "failed")
    assert failed["task_id"] == task["id"]
    await until(lambda: _robot(server, "r1")["status"] == "idle", 5, "idle again")


async def test_a_staff_cancel_reaches_nav2s_cancel_service(floor: Floor) -> None:
    server, api, sim, bridge = await floor(speed=0.5, dispatch={"auto_deliver": False})
    order = await _far_order(api)
    task = await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [order["id"]]},
                        201)
    await sim.expect("goal r1")
    await until(lambda: _task(server, task["id"])["status"] == "underway", 5, "underway")
    await api.ok("POST", f"/api/tasks/{task['id']}/cancel")
    await sim.expect("cancel r1")
    assert _task(server, task["id"])["status"] == "cancelled"
    assert _status(server, order["id"]) == "ready"
    await until(lambda: _robot(server, "r1")["status"] == "idle", 5, "idle again")
    # The cancelled goal is not a failure of the robot's.
    assert not _events(server, "failed")


async def test_a_robot_whose_odometry_stops_is_in_error_until_it_comes_back(
        floor: Floor) -> None:
    server, api, sim, bridge = await floor(stale_s=3)
    sim.tell("silent r1")
    robot = await until(lambda: (r := _robot(server, "r1"))["status"] == "error" and r, 10,
                        "error")
    assert [issue["category"] for issue in robot["issues"]] == ["ros_silent"]
    sim.tell("loud r1")
    robot = await until(lambda: (r := _robot(server, "r1"))["status"] == "idle" and r, 10,
                        "idle again")
    assert robot["issues"] == []


async def test_a_robot_silent_underway_fails_its_task_and_is_told_to_drop_the_trip(
        floor: Floor) -> None:
    server, api, sim, bridge = await floor(speed=0.5, dispatch={"auto_deliver": False},
                                           stale_s=3)
    order = await _far_order(api)
    task = await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [order["id"]]},
                        201)
    assert await sim.expect("goal r1") == "goal r1 18 10"
    await until(lambda: _task(server, task["id"])["status"] == "underway", 5, "underway")
    sim.tell("silent r1")
    await until(lambda: _task(server, task["id"])["status"] == "failed", 10, "task failed")
    assert _task(server, task["id"])["detail"] == "robot reports error"
    assert _status(server, order["id"]) == "ready"
    # The food is a person's again: the robot stops driving it once its error clears.
    await sim.expect("cancel r1")
    sim.tell("loud r1")
    await until(lambda: _robot(server, "r1")["status"] == "idle", 10, "idle again")


async def test_a_robot_ros_has_not_heard_joins_in_error_after_stale_s_and_gets_no_trip(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    server = await make_server(dispatch=DISPATCH)
    api = Api(session, server)
    table = await api.table("T1", at=(3, 2))
    order = await _ready(api, table["id"])
    # No simulated robot answers to r1 on this domain: the bridge hears nothing from it.
    config = bridge_config(tmp_path / "ros2.toml", parts_of(server).robot_server.port, ["r1"],
                           stale_s=1)
    bridge = await Child.start(ros_env(), "robodyne.ros2", "--config", str(config))
    try:
        # Its first state says error, with why: a hello alone counts as idle, and a trip
        # offered at that instant goes back to the queue as the error arrives, before the
        # robot could take it on.
        robot = await until(lambda: (r := _robot(server, "r1")).get("issues") and r, 20,
                            "r1 connected, with its state")
        assert robot["status"] == "error"
        assert [issue["category"] for issue in robot["issues"]] == ["ros_silent"]
        await until(lambda: [(t["status"], t["robot_id"]) for t in hub_of(server).snapshot(
            "tasks")[0]] == [("queued", None)], 5, "its trip still queued")
        assert _status(server, order["id"]) == "ready" and not events_of(server, "task_failed")
    finally:
        await bridge.kill()


async def test_sigterm_says_bye_for_every_robot(floor: Floor) -> None:
    server, api, sim, bridge = await floor()
    assert await bridge.stop() == 0
    await until(lambda: not _robot(server, "r1")["connected"], 5, "disconnected")
    assert events_of(server, "robot_disconnected")
    assert not events_of(server, "robot_offline")

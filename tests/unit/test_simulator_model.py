"""The simulator's pure robot model: motion, battery, commands; no sockets."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from robodyne.core.floor import DOCK
from robodyne.demo.floor import TABLES
from robodyne.demo.simulator import SimRobot

DT = 0.1


def make_robot(battery: float = 80.0) -> SimRobot:
    robot = SimRobot("sim-1", random.Random(7))
    robot.battery = battery
    return robot


def command(robot: SimRobot, name: str, command_id: Any = 1, **fields: Any) -> list[dict[str, Any]]:
    return robot.command({"type": "command", "id": command_id, "command": name, **fields})


def results(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The command results among a robot's lines, without its occasional events and logs."""
    return [line for line in lines if line["type"] == "command_result"]


def run(robot: SimRobot, seconds: float) -> list[dict[str, Any]]:
    """Step the robot for `seconds`, returning every line it produced."""
    out: list[dict[str, Any]] = []
    for _ in range(round(seconds / DT)):
        out += robot.step(DT)
    return out


def run_until(robot: SimRobot, done: Callable[[SimRobot], bool],
              limit_s: float = 120) -> list[dict[str, Any]]:
    """Step the robot until `done(robot)`, returning the lines it produced; fail after limit_s."""
    out: list[dict[str, Any]] = []
    for _ in range(round(limit_s / DT)):
        out += robot.step(DT)
        if done(robot):
            return out
    raise AssertionError(f"still {robot.status} at ({robot.x:.2f}, {robot.y:.2f}) "
                         f"after {limit_s} s")


def at_dock(robot: SimRobot) -> bool:
    return (robot.x, robot.y) == DOCK


def table_xy(table_id: int) -> tuple[float, float]:
    _, _, x, y = TABLES[table_id - 1]
    return x, y


def test_deliver_reaches_the_table_then_returns_to_the_dock() -> None:
    robot = make_robot()
    assert command(robot, "deliver", table_id=12, order_id=5) == [
        {"type": "command_result", "command_id": 1, "status": "accepted"}]
    run_until(robot, lambda r: (r.x, r.y) == table_xy(12))
    assert (robot.status, robot.table_id, robot.order_id) == ("delivering", 12, 5)
    run_until(robot, at_dock)
    assert robot.table_id is None and robot.order_id is None


def test_yaw_points_along_the_motion() -> None:
    robot = make_robot()
    command(robot, "go_to", table_id=1)  # T1 is right of and above the dock
    robot.step(DT)
    x, y = table_xy(1)
    assert robot.yaw == pytest.approx(math.atan2(y - DOCK[1], x - DOCK[0]))


def test_deliver_ends_with_a_delivered_event_for_its_order_then_done() -> None:
    robot = make_robot()
    command(robot, "deliver", command_id="c1", table_id=3, order_id=42)
    lines = [line for line in run(robot, 40) if line["type"] in ("event", "command_result")]
    delivered = [line for line in lines if line.get("event") == "delivered"]
    assert len(delivered) == 1
    assert delivered[0]["order_id"] == 42 and delivered[0]["table_id"] == 3
    assert isinstance(delivered[0]["id"], int)
    done = {"type": "command_result", "command_id": "c1", "status": "done"}
    assert lines.index(done) > lines.index(delivered[0])


@pytest.mark.parametrize("fields", [{"table_id": 99}, {"table_id": 0}, {}, {"table_id": "3"}])
@pytest.mark.parametrize("name", ["go_to", "deliver"])
def test_an_unknown_table_is_rejected(name: str, fields: dict[str, Any]) -> None:
    robot = make_robot()
    [reply] = command(robot, name, command_id=9, **fields)
    assert reply["command_id"] == 9 and reply["status"] == "rejected" and reply["detail"]
    assert robot.status == "idle"
    run(robot, 0.5)
    assert (robot.x, robot.y) == DOCK


def test_an_unknown_command_is_rejected() -> None:
    [reply] = command(make_robot(), "dance")
    assert reply["status"] == "rejected"


def test_pause_stops_motion_and_resume_continues() -> None:
    robot = make_robot()
    command(robot, "go_to", table_id=12)
    run(robot, 2)
    assert command(robot, "pause", command_id=2)[-1] == {
        "type": "command_result", "command_id": 2, "status": "done"}
    where = (robot.x, robot.y)
    run(robot, 5)
    assert (robot.x, robot.y) == where
    assert robot.status == "paused"
    command(robot, "resume", command_id=3)
    run(robot, 1)
    assert (robot.x, robot.y) != where
    assert robot.status == "delivering"


def test_battery_drains_while_moving_faster_than_idle() -> None:
    robot = make_robot(battery=80.0)
    command(robot, "go_to", table_id=12)
    run(robot, 10)
    moving_drain = 80.0 - robot.battery
    assert 4.0 <= moving_drain <= 6.0  # ~0.5 %/s
    idle = make_robot(battery=80.0)
    idle.step(0.5)  # still waiting at the dock
    assert 0 < 80.0 - idle.battery < 0.5 * 0.5


def test_low_battery_sends_the_robot_to_charge_above_90() -> None:
    robot = make_robot(battery=27.0)
    command(robot, "go_to", command_id="g", table_id=12)
    lines = run_until(robot, lambda r: r.status == "returning")
    assert robot.battery < 25
    assert {"type": "command_result", "command_id": "g", "status": "failed",
            "detail": "battery below 25%"} in lines
    run_until(robot, lambda r: r.status == "charging")
    assert at_dock(robot)
    run_until(robot, lambda r: r.status != "charging")
    assert robot.battery > 90 and robot.status == "idle"


def test_charge_command_is_done_once_charged() -> None:
    robot = make_robot(battery=50.0)
    command(robot, "charge", command_id="ch")
    lines = run_until(robot, lambda r: r.status == "charging", 1)
    lines += run_until(robot, lambda r: r.status != "charging")
    assert robot.battery >= 95
    assert results(lines) == [{"type": "command_result", "command_id": "ch", "status": "done"}]


def test_a_low_battery_refuses_new_trips() -> None:
    [reply] = command(make_robot(battery=10.0), "deliver", table_id=2, order_id=1)
    assert reply["status"] == "rejected"


def test_cancel_fails_the_current_task_and_returns() -> None:
    robot = make_robot()
    command(robot, "deliver", command_id="d", table_id=12, order_id=8)
    run(robot, 3)
    assert command(robot, "cancel", command_id="x") == [
        {"type": "command_result", "command_id": "x", "status": "accepted"},
        {"type": "command_result", "command_id": "d", "status": "failed",
         "detail": "cancelled by command x"},
        {"type": "command_result", "command_id": "x", "status": "done"},
    ]
    assert robot.status == "returning" and robot.order_id is None
    lines = run_until(robot, at_dock)
    assert not [line for line in lines if line.get("event") == "delivered"]


def test_go_to_is_done_on_arrival_and_return_at_the_dock() -> None:
    robot = make_robot()
    command(robot, "go_to", command_id="g", table_id=1)
    lines = run_until(robot, lambda r: (r.x, r.y) == table_xy(1))
    assert results(lines) == [{"type": "command_result", "command_id": "g", "status": "done"}]
    assert robot.status == "idle"  # waiting at the table, nothing to hand over
    command(robot, "go_to", command_id="g2", table_id=12)
    run(robot, 2)
    lines = command(robot, "return", command_id="r") + run_until(robot, at_dock)
    assert lines == [
        {"type": "command_result", "command_id": "r", "status": "accepted"},
        {"type": "command_result", "command_id": "g2", "status": "failed",
         "detail": "superseded by command r"},
        {"type": "command_result", "command_id": "r", "status": "done"},
    ]


def test_idle_robots_wander_between_dock_and_tables_on_their_own() -> None:
    robot = make_robot()
    statuses = set()
    for _ in range(600):
        robot.step(DT)
        statuses.add(robot.status)
    assert {"idle", "delivering", "returning"} <= statuses


def test_state_updates_carry_only_changes_plus_pose() -> None:
    robot = make_robot()
    full = robot.full_state()
    assert full["type"] == "state"
    assert set(full) == {"type", "status", "battery", "pose", "order_id", "table_id"}
    assert full["pose"]["map"] == "floor"
    assert robot.state_update() is None  # nothing changed
    command(robot, "go_to", table_id=5)
    robot.step(DT)
    update = robot.state_update()
    assert update is not None
    assert set(update) == {"type", "status", "table_id", "pose"}
    assert update["status"] == "delivering" and update["table_id"] == 5


def test_chatter_sends_numbered_events_and_logs() -> None:
    robot = make_robot()
    lines = run(robot, 130)
    chatter = [line for line in lines
               if line["type"] == "log" or line.get("event") not in (None, "delivered")]
    assert len(chatter) >= 4
    ids = [line["id"] for line in chatter]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {line["type"] for line in chatter} == {"event", "log"}


def test_the_same_seed_gives_the_same_run() -> None:
    a, b = SimRobot("sim-1", random.Random(3)), SimRobot("sim-1", random.Random(3))
    assert run(a, 120) == run(b, 120)
    assert (a.x, a.y, a.battery) == (b.x, b.y, b.battery)

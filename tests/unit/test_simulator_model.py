"""The simulator's pure robot model, driven by commands and `step(dt)` only: no sockets."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from robodyne.core.floor import DOCK, HEIGHT_M, WIDTH_M
from robodyne.demo.floor import TABLES, grid_tables, table_position
from robodyne.demo.robot import (
    CHARGED,
    CRITICAL_BATTERY,
    HOME_AFTER_S,
    LOW_BATTERY,
    TABLE_WAIT_S,
    SimRobot,
)

DT = 0.1
TASK_EVENTS = ("arrived", "delivered", "failed")


def make_robot(battery: float = 80.0, fail_rate: float = 0.0, seed: int = 7) -> SimRobot:
    robot = SimRobot("sim-1", random.Random(seed), fail_rate=fail_rate)
    robot.battery = battery
    return robot


def command(robot: SimRobot, name: str, command_id: Any = 1, **fields: Any) -> list[dict[str, Any]]:
    """The command as the server sends it: each stop with its demo table's position (none for
    an id no table has), and a single table_id also as one stop."""
    return robot.command({"type": "command", "id": command_id, "command": name,
                          **positioned(fields)})


def positioned(fields: dict[str, Any]) -> dict[str, Any]:
    stops = fields.get("stops")
    if stops is None and isinstance(fields.get("table_id"), int):
        order_id = fields.get("order_id")
        stops = [{"table_id": fields["table_id"],
                  "order_ids": [] if order_id is None else [order_id]}]
    if not isinstance(stops, list):
        return fields
    placed = []
    for stop in stops:
        table_id = stop.get("table_id")
        where = table_position(table_id) if isinstance(table_id, int) else None
        placed.append({**stop, "x": where and where[0], "y": where and where[1]})
    return {**fields, "stops": placed}


def accepted(command_id: Any) -> dict[str, Any]:
    return {"type": "command_result", "command_id": command_id, "status": "accepted"}


def done(command_id: Any) -> dict[str, Any]:
    return {"type": "command_result", "command_id": command_id, "status": "done"}


def results(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The command results among a robot's lines, without its occasional events and logs."""
    return [line for line in lines if line["type"] == "command_result"]


def task_lines(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The task's events and results, in order, as (event, table, order) or (result, id)."""
    picked: list[tuple[Any, ...]] = []
    for line in lines:
        if line["type"] == "command_result":
            picked.append((line["status"], line["command_id"]))
        elif line["type"] == "event" and line["event"] in TASK_EVENTS:
            picked.append((line["event"], line.get("table_id"), line.get("order_id")))
    return picked


def run(robot: SimRobot, seconds: float) -> list[dict[str, Any]]:
    """Step the robot for `seconds`, returning every line it produced."""
    out: list[dict[str, Any]] = []
    for _ in range(round(seconds / DT)):
        out += robot.step(DT)
    return out


def run_until(robot: SimRobot, finished: Callable[[SimRobot], bool],
              limit_s: float = 120) -> list[dict[str, Any]]:
    """Step the robot until `finished(robot)`, returning its lines; fail after limit_s."""
    out: list[dict[str, Any]] = []
    for _ in range(round(limit_s / DT)):
        out += robot.step(DT)
        if finished(robot):
            return out
    raise AssertionError(f"still {robot.status} at ({robot.x:.2f}, {robot.y:.2f}) "
                         f"after {limit_s} s")


def at_dock(robot: SimRobot) -> bool:
    return (robot.x, robot.y) == DOCK


def at_table(table_id: int) -> Callable[[SimRobot], bool]:
    return lambda robot: (robot.x, robot.y) == table_position(table_id)


def idle_at_dock(robot: SimRobot) -> bool:
    return at_dock(robot) and robot.status == "idle"


# ---- taking work, or not ----


def test_an_idle_robot_at_the_dock_accepts_a_trip() -> None:
    robot = make_robot()
    assert command(robot, "deliver", "d", task_id=4,
                   stops=[{"table_id": 12, "order_ids": [5]}]) == [accepted("d")]
    robot.step(DT)
    assert (robot.status, robot.task_id, robot.table_id, robot.order_id) == (
        "delivering", 4, 12, 5)


def test_a_robot_on_a_task_rejects_another_trip_and_carries_on() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", task_id=4, stops=[{"table_id": 12, "order_ids": [5]}])
    run(robot, 2)
    for name in ("deliver", "bus", "summon", "go_to"):
        [reply] = command(robot, name, "x", task_id=5, table_id=3)
        assert reply["status"] == "rejected" and reply["command_id"] == "x"
        assert "busy" in reply["detail"] and "task 4" in reply["detail"]
    assert robot.task_id == 4 and robot.table_id == 12
    assert ("done", "d") in task_lines(run_until(robot, idle_at_dock))


def test_a_robot_driving_home_rejects_a_trip() -> None:
    robot = make_robot()
    command(robot, "go_to", "g", table_id=12)
    run_until(robot, at_table(12))
    command(robot, "return", "r")
    robot.step(DT)
    assert robot.status == "returning"
    [reply] = command(robot, "go_to", "g2", table_id=1)
    assert reply["status"] == "rejected" and "returning" in reply["detail"]


def test_a_low_battery_rejects_a_trip() -> None:
    robot = make_robot(battery=LOW_BATTERY - 1)
    for name in ("deliver", "bus", "summon", "go_to"):
        [reply] = command(robot, name, "x", table_id=2, order_id=1)
        assert reply["status"] == "rejected" and "battery" in reply["detail"]
    run(robot, 1)
    assert idle_at_dock(robot)


@pytest.mark.parametrize("fields", [
    {"table_id": 0}, {"table_id": -3}, {}, {"table_id": "3"}, {"stops": []},
    {"stops": [{"table_id": 2, "order_ids": [1]}, {"table_id": 0, "order_ids": [2]}]},
    {"stops": [{"table_id": 2, "order_ids": ["1"]}]},
])
@pytest.mark.parametrize("name", ["go_to", "deliver", "bus", "summon"])
def test_an_unknown_or_missing_table_is_rejected(name: str, fields: dict[str, Any]) -> None:
    robot = make_robot()
    [reply] = command(robot, name, command_id=9, **fields)
    assert reply["command_id"] == 9 and reply["status"] == "rejected" and reply["detail"]
    run(robot, 0.5)
    assert idle_at_dock(robot)


@pytest.mark.parametrize("name", ["go_to", "bus", "summon"])
def test_only_a_deliver_takes_several_stops(name: str) -> None:
    [reply] = command(make_robot(), name, stops=[{"table_id": 1}, {"table_id": 2}])
    assert reply["status"] == "rejected" and "one stop" in reply["detail"]


def test_an_unknown_command_is_rejected() -> None:
    [reply] = command(make_robot(), "dance")
    assert reply["status"] == "rejected"


@pytest.mark.parametrize("name", ["return", "charge", "cancel", "pause", "resume"])
def test_steering_commands_are_accepted_even_when_busy_or_low(name: str) -> None:
    robot = make_robot(battery=LOW_BATTERY + 1)
    command(robot, "go_to", "g", task_id=1, table_id=12)
    run(robot, 4)  # now below LOW_BATTERY, still on its way
    assert robot.battery < LOW_BATTERY and robot.status == "delivering"
    assert command(robot, name, "s", task_id=1)[0] == accepted("s")


# ---- carrying tasks out ----


def test_a_two_stop_deliver_reports_each_stop_and_order_in_turn_then_done() -> None:
    robot = make_robot()
    stops = [{"table_id": 3, "order_ids": [11, 12]}, {"table_id": 10, "order_ids": [13]}]
    command(robot, "deliver", "d", task_id=7, stops=stops)
    lines = run_until(robot, lambda r: r.status != "delivering")
    assert task_lines(lines) == [
        ("arrived", 3, None), ("delivered", 3, 11), ("delivered", 3, 12),
        ("arrived", 10, None), ("delivered", 10, 13),
        ("done", "d"),
    ]
    events = [line for line in lines if line.get("event") in TASK_EVENTS]
    assert all(e["task_id"] == 7 and isinstance(e["id"], int) for e in events)
    assert (robot.x, robot.y) == table_position(10)


def test_the_state_shows_the_current_stop_and_its_order() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", task_id=7,
            stops=[{"table_id": 3, "order_ids": [11]}, {"table_id": 10, "order_ids": [13]}])
    robot.step(DT)
    assert (robot.table_id, robot.order_id) == (3, 11)
    run_until(robot, lambda r: r.table_id == 10)
    assert robot.order_id == 13
    update = robot.state_update()
    assert update is not None and (update["table_id"], update["order_id"]) == (10, 13)


def test_the_robot_waits_at_each_stop_for_the_guests() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", stops=[{"table_id": 1, "order_ids": [2]}])
    lines = run_until(robot, at_table(1))
    lines += run(robot, TABLE_WAIT_S[0] - 0.5)
    assert [t[0] for t in task_lines(lines)] == ["arrived"]
    assert robot.status == "delivering"


def test_a_single_deliver_command_is_one_stop() -> None:
    robot = make_robot()
    command(robot, "deliver", "c1", table_id=3, order_id=42)
    assert task_lines(run(robot, 40)) == [
        ("arrived", 3, None), ("delivered", 3, 42), ("done", "c1")]


def test_a_table_id_without_a_position_is_refused_as_there_is_no_map() -> None:
    robot = make_robot()
    [reply] = robot.command({"type": "command", "id": 1, "command": "go_to", "table_id": 3})
    assert reply["status"] == "rejected" and "positions" in reply["detail"]
    [reply] = robot.command({"type": "command", "id": 2, "command": "go_to", "stops": [
        {"table_id": 3, "order_ids": [], "x": None, "y": None}]})
    assert reply["status"] == "rejected" and "no position" in reply["detail"]


def test_it_drives_to_the_position_the_command_gives_not_a_table_it_knows() -> None:
    robot = make_robot()
    robot.command({"type": "command", "id": "g", "command": "go_to", "stops": [
        {"table_id": 3, "order_ids": [], "x": 9.5, "y": 4.25}]})
    run_until(robot, lambda r: r.status == "idle")
    assert (robot.x, robot.y) == (9.5, 4.25) and robot.table_id == 3


def test_an_escort_meets_its_party_at_the_host_stand_then_leads_it_to_the_table() -> None:
    robot = make_robot()
    host = {"x": 2.0, "y": 10.0}
    assert command(robot, "escort", "e", task_id=8, table_id=6, **{"from": host}) == [
        accepted("e")]
    run_until(robot, lambda r: (r.x, r.y) == (2.0, 10.0))
    # At the host stand it waits for the party: no stop of the task, so no `arrived`.
    assert robot.status == "delivering" and robot.table_id is None
    lines = run_until(robot, at_table(6))
    assert task_lines(lines) == [("arrived", 6, None), ("done", "e")]
    assert robot.status == "idle" and robot.table_id == 6
    run_until(robot, idle_at_dock)


def test_an_escort_names_its_table_only_once_it_met_its_party() -> None:
    robot = make_robot()
    command(robot, "escort", "e", task_id=8, table_id=6, **{"from": {"x": 2.0, "y": 10.0}})
    run(robot, 0.5)
    assert robot.status == "delivering" and robot.table_id is None  # on its way to the door
    run_until(robot, lambda r: r.table_id == 6)
    assert robot.phase.value == "outbound"


def test_the_same_command_sent_again_after_a_reconnect_is_accepted_and_changes_nothing() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", task_id=4, stops=[{"table_id": 12, "order_ids": [5]}])
    run(robot, 1)
    where = (robot.x, robot.y)
    assert command(robot, "deliver", "d", task_id=4,
                   stops=[{"table_id": 12, "order_ids": [5]}]) == [accepted("d")]
    assert robot.task_id == 4 and (robot.x, robot.y) == where
    assert task_lines(run_until(robot, idle_at_dock)) == [
        ("arrived", 12, None), ("delivered", 12, 5), ("done", "d")]


def test_an_escort_without_a_host_stand_is_refused() -> None:
    [reply] = command(make_robot(), "escort", "e", table_id=6)
    assert reply["status"] == "rejected" and "from" in reply["detail"]


@pytest.mark.parametrize("name", ["return", "charge"])
def test_return_and_charge_drive_to_the_dock_the_command_names(name: str) -> None:
    robot = make_robot(battery=50)
    command(robot, "go_to", "g", table_id=5)
    run_until(robot, at_table(5))
    command(robot, name, "r", to={"x": 3.0, "y": 1.0})
    run_until(robot, lambda r: (r.x, r.y) == (3.0, 1.0))
    assert robot.home == (3.0, 1.0)


def test_after_a_delivery_it_waits_then_drives_home_by_itself() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", stops=[{"table_id": 6, "order_ids": [1]}])
    run_until(robot, lambda r: r.status == "idle")
    assert (robot.x, robot.y) == table_position(6) and robot.table_id == 6
    run(robot, HOME_AFTER_S - 1)
    assert robot.status == "idle" and (robot.x, robot.y) == table_position(6)
    run(robot, 1.5)
    assert robot.status == "returning" and robot.table_id is None
    assert results(run_until(robot, at_dock)) == []
    assert robot.status == "idle"


def test_return_is_accepted_while_driving_home_and_done_at_the_dock() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", stops=[{"table_id": 12, "order_ids": [1]}])
    run_until(robot, lambda r: r.status == "idle")
    run(robot, HOME_AFTER_S + 1)
    assert robot.status == "returning"
    assert command(robot, "return", "r", task_id=8) == [accepted("r")]
    assert results(run_until(robot, at_dock)) == [done("r")]
    assert robot.status == "idle"


def test_a_new_trip_from_the_last_table_starts_from_there() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", stops=[{"table_id": 12, "order_ids": [1]}])
    run_until(robot, lambda r: r.status == "idle")
    assert command(robot, "go_to", "g", table_id=11) == [accepted("g")]
    lines = run_until(robot, at_table(11), limit_s=10)
    assert results(lines) == [done("g")]


def test_bus_waits_for_the_dishes_and_is_done_back_at_the_dock() -> None:
    robot = make_robot()
    command(robot, "bus", "b", task_id=3, table_id=8)
    lines = run_until(robot, at_table(8))
    assert task_lines(lines) == [("arrived", 8, None)]
    lines = run_until(robot, lambda r: r.status == "delivering" and not at_table(8)(r))
    assert results(lines) == []  # dishes aboard, on the way back: still the bus task
    lines = run_until(robot, at_dock)
    assert task_lines(lines) == [("done", "b")]
    assert robot.status == "idle"


@pytest.mark.parametrize("name", ["summon", "go_to"])
def test_summon_and_go_to_are_done_on_arrival_and_stay(name: str) -> None:
    robot = make_robot()
    command(robot, name, "s", task_id=2, stops=[{"table_id": 5, "order_ids": []}])
    lines = run_until(robot, at_table(5))
    assert task_lines(lines) == [("arrived", 5, None), ("done", "s")]
    assert (robot.status, robot.table_id) == ("idle", 5)
    run(robot, 60)
    assert (robot.x, robot.y) == table_position(5) and robot.status == "idle"


def test_return_drives_to_the_dock_and_is_done_there() -> None:
    robot = make_robot()
    command(robot, "go_to", "g", table_id=1)
    run_until(robot, at_table(1))
    command(robot, "return", "r")
    robot.step(DT)
    assert robot.status == "returning"
    assert results(run_until(robot, at_dock)) == [done("r")]


def test_return_during_a_trip_fails_the_trip() -> None:
    robot = make_robot()
    command(robot, "go_to", "g", table_id=12)
    run(robot, 2)
    assert command(robot, "return", "r") == [
        accepted("r"),
        {"type": "command_result", "command_id": "g", "status": "failed",
         "detail": "superseded by command r"},
    ]
    assert results(run_until(robot, at_dock)) == [done("r")]


def test_yaw_points_along_the_motion() -> None:
    robot = make_robot()
    command(robot, "go_to", table_id=1)  # T1 is right of and above the dock
    robot.step(DT)
    position = table_position(1)
    assert position is not None
    x, y = position
    assert robot.yaw == pytest.approx(math.atan2(y - DOCK[1], x - DOCK[0]))


def test_pause_stops_motion_and_resume_continues() -> None:
    robot = make_robot()
    command(robot, "go_to", table_id=12)
    run(robot, 2)
    assert command(robot, "pause", command_id=2)[-1] == done(2)
    where = (robot.x, robot.y)
    run(robot, 5)
    assert (robot.x, robot.y) == where
    assert robot.status == "paused"
    command(robot, "resume", command_id=3)
    run(robot, 1)
    assert (robot.x, robot.y) != where
    assert robot.status == "delivering"


# ---- battery ----


def test_battery_drains_while_driving_faster_than_idle() -> None:
    robot = make_robot(battery=80.0)
    command(robot, "go_to", table_id=12)
    run(robot, 10)
    moving_drain = 80.0 - robot.battery
    assert 4.0 <= moving_drain <= 6.0  # ~0.5 %/s
    idle = make_robot(battery=80.0)
    run(idle, 10)
    assert 0 < 80.0 - idle.battery < moving_drain / 5


def test_charge_drives_to_the_dock_charges_to_full_then_is_done() -> None:
    robot = make_robot(battery=50.0)
    command(robot, "go_to", "g", table_id=4)
    run_until(robot, at_table(4))
    assert command(robot, "charge", "ch", task_id=9) == [accepted("ch")]
    robot.step(DT)
    assert robot.status == "returning"
    lines = run_until(robot, lambda r: r.status == "charging")
    assert at_dock(robot) and results(lines) == []
    lines = run_until(robot, lambda r: r.status != "charging")
    assert robot.battery >= CHARGED
    assert results(lines) == [done("ch")]
    assert idle_at_dock(robot)


def test_a_low_robot_does_not_charge_by_itself() -> None:
    robot = make_robot(battery=LOW_BATTERY - 5)
    run(robot, 60)
    assert robot.status == "idle" and robot.battery < LOW_BATTERY - 5


def test_a_trip_taken_while_charging_ends_the_charge_as_done() -> None:
    robot = make_robot(battery=40.0)
    command(robot, "charge", "ch", task_id=1)
    run_until(robot, lambda r: r.status == "charging")
    run(robot, 5)
    lines = command(robot, "go_to", "g", task_id=2, table_id=3)
    assert lines[0] == accepted("g")
    assert lines[1]["command_id"] == "ch" and lines[1]["status"] == "done"
    robot.step(DT)
    assert robot.status == "delivering"


def test_a_trip_below_the_critical_battery_is_given_up_and_the_robot_heads_home() -> None:
    robot = make_robot(battery=LOW_BATTERY)
    command(robot, "deliver", "d", task_id=6, stops=[
        {"table_id": 12, "order_ids": [1]}, {"table_id": 4, "order_ids": [2]},
        {"table_id": 9, "order_ids": [3]}, {"table_id": 1, "order_ids": [4]}])
    lines = run_until(robot, lambda r: r.status == "returning", limit_s=200)
    assert robot.battery < CRITICAL_BATTERY
    seen = task_lines(lines)
    assert seen[-1] == ("failed", "d") and seen[-2][0] == "failed"
    assert ("delivered", 12, 1) in seen
    run_until(robot, at_dock)
    assert robot.status == "idle"


# ---- cancel ----


def test_cancel_drops_the_task_without_answering_it_and_heads_home() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", task_id=5, stops=[{"table_id": 12, "order_ids": [8]}])
    run(robot, 3)
    assert command(robot, "cancel", "x", task_id=5) == [accepted("x"), done("x")]
    assert robot.status == "returning" and robot.order_id is None and robot.task_id is None
    lines = run_until(robot, at_dock)
    assert task_lines(lines) == []
    assert robot.status == "idle"


def test_cancel_without_a_task_id_drops_whatever_the_robot_does() -> None:
    robot = make_robot()
    command(robot, "summon", "s", table_id=2)
    run_until(robot, at_table(2))
    assert command(robot, "cancel", "x") == [accepted("x"), done("x")]
    assert robot.status == "returning"
    run_until(robot, idle_at_dock)


def test_cancel_for_another_task_changes_nothing() -> None:
    robot = make_robot()
    command(robot, "deliver", "d", task_id=5, stops=[{"table_id": 12, "order_ids": [8]}])
    run(robot, 3)
    [ok, finished] = command(robot, "cancel", "x", task_id=6)
    assert ok == accepted("x") and finished["status"] == "done" and "6" in finished["detail"]
    assert robot.task_id == 5 and robot.status == "delivering"


def test_cancel_while_charging_stops_the_charge() -> None:
    robot = make_robot(battery=40.0)
    command(robot, "charge", "ch", task_id=1)
    run_until(robot, lambda r: r.status == "charging")
    assert command(robot, "cancel", "x", task_id=1) == [accepted("x"), done("x")]
    charge = robot.battery
    assert results(run(robot, 5)) == []
    assert idle_at_dock(robot) and robot.battery < charge


# ---- failures ----


def test_a_fail_rate_of_one_makes_the_trip_fail_on_the_way() -> None:
    robot = make_robot(fail_rate=1.0)
    command(robot, "go_to", "g", task_id=3, table_id=12)
    lines = run_until(robot, lambda r: r.status != "delivering")
    assert task_lines(lines) == [("failed", 12, None), ("failed", "g")]
    [event] = [line for line in lines if line.get("event") == "failed"]
    assert event["severity"] == "warning" and event["task_id"] == 3 and event["message"]
    assert isinstance(event["id"], int)
    [result] = results(lines)
    assert result["detail"] == event["message"]
    assert (robot.x, robot.y) != table_position(12) and robot.status == "returning"
    run_until(robot, idle_at_dock)


def test_a_failing_deliver_breaks_down_between_stops_it_has_not_reached() -> None:
    for seed in range(10):
        robot = make_robot(fail_rate=1.0, seed=seed)
        stops = [{"table_id": t, "order_ids": [t * 10]} for t in (3, 7, 12)]
        command(robot, "deliver", "d", task_id=1, stops=stops)
        seen = task_lines(run_until(robot, idle_at_dock))
        assert seen[-2:] == [("failed", seen[-2][1], None), ("failed", "d")]
        reached = [t for t in (3, 7, 12) if ("arrived", t, None) in seen]
        assert seen[:-2] == [line for t in reached
                             for line in (("arrived", t, None), ("delivered", t, t * 10))]
        assert seen[-2][1] == (3, 7, 12)[len(reached)]


def test_a_fail_rate_of_zero_never_fails() -> None:
    for seed in range(10):
        robot = make_robot(seed=seed)
        command(robot, "go_to", "g", table_id=12)
        assert task_lines(run_until(robot, at_table(12))) == [("arrived", 12, None), ("done", "g")]


def test_the_fail_rate_must_be_a_probability() -> None:
    with pytest.raises(ValueError):
        SimRobot("sim-1", random.Random(1), fail_rate=1.5)


# ---- on its own ----


def test_a_docked_robot_with_no_command_stays_put() -> None:
    robot = make_robot()
    lines = run(robot, 60)
    assert idle_at_dock(robot)
    assert task_lines(lines) == []


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
               if line["type"] == "log" or line.get("event") not in (None, *TASK_EVENTS)]
    assert len(chatter) >= 4
    ids = [line["id"] for line in chatter]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {line["type"] for line in chatter} == {"event", "log"}


def test_the_same_seed_gives_the_same_run() -> None:
    def one_run() -> tuple[list[dict[str, Any]], tuple[float, float, float]]:
        robot = SimRobot("sim-1", random.Random(3), fail_rate=0.5)
        lines: list[dict[str, Any]] = []
        for n, table_id in enumerate((2, 9, 12, 5)):
            lines += command(robot, "go_to", n, table_id=table_id) + run(robot, 30)
        return lines, (robot.x, robot.y, robot.battery)
    assert one_run() == one_run()


# ---- the floor ----


def test_table_positions_one_to_twelve_are_the_demo_tables() -> None:
    assert [table_position(n) for n in range(1, 13)] == [(x, y) for _, _, x, y in TABLES]
    assert table_position(0) is None and table_position(-1) is None


def test_grid_tables_fill_the_map_and_match_table_position() -> None:
    tables = grid_tables(60)
    assert tables[:12] == TABLES
    assert [(x, y) for _, _, x, y in tables] == [table_position(n) for n in range(1, 61)]
    assert len({(x, y) for _, _, x, y in tables}) == 60
    assert len({label for label, _, _, _ in tables}) == 60
    for _, seats, x, y in tables:
        assert 0 < x < WIDTH_M and 0 < y < HEIGHT_M and seats > 0
        assert math.dist((x, y), DOCK) > 1.0
    xs, ys = [x for _, _, x, _ in tables], [y for _, _, _, y in tables]
    assert max(xs) - min(xs) > WIDTH_M / 2 and max(ys) - min(ys) > HEIGHT_M / 2
    for n in (61, 200, 10_000):
        position = table_position(n)
        assert position is not None
        assert 0 < position[0] < WIDTH_M and 0 < position[1] < HEIGHT_M
    assert grid_tables(5) == TABLES[:5] and grid_tables(0) == []

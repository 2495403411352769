"""The ROS 2 bridge's rules (SPEC §14) without ROS or sockets: a Navigator and a RobotBridge
driven through a fake of the ROS calls they make, their lines read from the outbox."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import orjson
import pytest
from action_msgs.msg import GoalStatus

from robodyne.ros2 import nav as nav_module
from robodyne.ros2.config import RobotConfig
from robodyne.ros2.nav import NavFailed, Navigator, Outcome
from robodyne.ros2.robot import RobotBridge
from robodyne.ros2.ros import GoalState, battery_percent, yaw_of

from ..support.wait import until

EXECUTING, SUCCEEDED = GoalStatus.STATUS_EXECUTING, GoalStatus.STATUS_SUCCEEDED
ABORTED, CANCELED = GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED


class FakeRos:
    """The goal topic and the cancel service as the tests play them."""

    def __init__(self, listeners: int = 1, cancel_after_s: float = 0.0) -> None:
        self.listeners = listeners
        self.cancel_after_s = cancel_after_s  # how long the cancel service takes to answer
        self.published: list[tuple[float, float]] = []
        self.cancelled: list[bytes | None] = []

    def goal_listeners(self) -> int:
        return self.listeners

    def publish_goal(self, x: float, y: float) -> None:
        self.published.append((x, y))

    def cancel(self, goal_id: bytes | None) -> asyncio.Future[bool]:
        self.cancelled.append(goal_id)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        loop.call_later(self.cancel_after_s, done.set_result, True)
        return done


class Server:
    """Stands in for the connection: every line the bridge writes, decoded."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.lines.append(orjson.loads(data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["type"] == kind]

    def events(self) -> list[str]:
        return [line["event"] for line in self.of("event")]


def _config(**changes: Any) -> RobotConfig:
    return RobotConfig.model_validate({"id": "r1", "token": "t", "dwell_s": 0, **changes})


async def _bridge(cancel_after_s: float = 0.0, **changes: Any
                  ) -> tuple[RobotBridge, FakeRos, Server]:
    ros, server = FakeRos(cancel_after_s=cancel_after_s), Server()
    bridge = RobotBridge(_config(**changes), ros)
    bridge.outbox.attach(server)  # type: ignore[arg-type]
    return bridge, ros, server


async def _reach(bridge: RobotBridge, ros: FakeRos, goal: bytes, leg: int) -> None:
    """Nav2 takes the goal of leg `leg` (1-based) and reaches it."""
    await until(lambda: len(ros.published) >= leg, 2, f"goal {leg} published")
    bridge.on_status([GoalState(goal, leg, EXECUTING)])
    bridge.on_status([GoalState(goal, leg, SUCCEEDED)])


def test_the_pose_yaw_and_battery_are_read_as_the_server_wants_them() -> None:
    half = math.pi / 4  # a quarter turn: z = sin(pi/4), w = cos(pi/4)
    assert yaw_of(math.sin(half), math.cos(half)) == pytest.approx(math.pi / 2)
    assert battery_percent(0.42) == pytest.approx(42)
    assert battery_percent(float("nan")) is None


async def test_a_goal_waits_for_a_listener_then_follows_the_newest_new_goal() -> None:
    ros = FakeRos(listeners=0)
    nav = Navigator(ros, 10, "r1")
    nav.on_status([GoalState(b"old", 1, EXECUTING)])
    driving = asyncio.create_task(nav.drive(3, 4))
    await asyncio.sleep(0.3)
    assert ros.published == []  # nobody listens on goal_pose yet
    ros.listeners = 1
    await until(lambda: ros.published == [(3, 4)], 2, "published")
    nav.on_status([GoalState(b"old", 1, EXECUTING), GoalState(b"a", 2, EXECUTING),
                   GoalState(b"b", 3, EXECUTING)])
    await until(lambda: nav.following == b"b", 2, "following the newest")
    nav.on_status([GoalState(b"a", 2, ABORTED), GoalState(b"b", 3, SUCCEEDED)])
    assert await driving is Outcome.ARRIVED


async def test_a_goal_that_never_shows_is_sent_three_times_more_then_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nav_module, "SHOW_S", 0.05)
    ros = FakeRos()
    with pytest.raises(NavFailed, match="never showed"):
        await Navigator(ros, 10, "r1").drive(1, 1)
    assert ros.published == [(1, 1)] * 4


async def _driving(timeout_s: float, x: float, y: float
                   ) -> tuple[Navigator, FakeRos, asyncio.Task[Outcome]]:
    """A Navigator whose goal to (x, y) is published: the test plays Nav2's answer."""
    ros = FakeRos()
    nav = Navigator(ros, timeout_s, "r1")
    driving = asyncio.create_task(nav.drive(x, y))
    await until(lambda: ros.published, 2, "published")
    return nav, ros, driving


async def test_a_goal_not_reached_in_time_is_cancelled_and_fails() -> None:
    nav, ros, driving = await _driving(0.3, 1, 1)
    nav.on_status([GoalState(b"g", 1, EXECUTING)])
    with pytest.raises(NavFailed, match="not reached within 0.3 s"):
        await driving
    assert ros.cancelled == [b"g"]


async def test_an_aborted_goal_fails_with_the_reason() -> None:
    nav, ros, driving = await _driving(10, 1, 2)
    nav.on_status([GoalState(b"g", 1, ABORTED)])
    with pytest.raises(NavFailed, match=r"Nav2 aborted the goal \(1, 2\)"):
        await driving


async def test_a_deliver_trip_arrives_delivers_each_order_then_is_done() -> None:
    bridge, ros, server = await _bridge()
    bridge.command({"type": "command", "id": "c1", "command": "deliver", "task_id": 7, "stops": [
        {"table_id": 1, "order_ids": [5, 6], "x": 1, "y": 2},
        {"table_id": 2, "order_ids": [8], "x": 3, "y": 4}]})
    assert bridge.carried_task() == 7
    await _reach(bridge, ros, b"g1", 1)
    await _reach(bridge, ros, b"g2", 2)
    await until(lambda: server.of("command_result")[-1]["status"] == "done", 2, "done")
    assert ros.published == [(1, 2), (3, 4)]
    assert server.events() == ["arrived", "delivered", "delivered", "arrived", "delivered"]
    assert [e.get("order_id") for e in server.of("event")] == [None, 5, 6, None, 8]
    assert {e["task_id"] for e in server.of("event")} == {7}
    assert [r["status"] for r in server.of("command_result")] == ["accepted", "done"]
    assert (bridge.mode, bridge.carried_task()) == ("idle", None)


async def test_an_escort_drives_to_the_host_stand_first_without_arriving_there() -> None:
    bridge, ros, server = await _bridge()
    bridge.command({"type": "command", "id": "c1", "command": "escort", "task_id": 3,
                    "from": {"x": 19, "y": 1}, "stops": [{"table_id": 4, "x": 5, "y": 5}]})
    await _reach(bridge, ros, b"host", 1)
    await _reach(bridge, ros, b"table", 2)
    await until(lambda: server.of("command_result")[-1]["status"] == "done", 2, "done")
    assert ros.published == [(19, 1), (5, 5)]
    assert server.events() == ["arrived"]


@pytest.mark.parametrize("command", [
    {"command": "deliver", "stops": [{"table_id": 1, "order_ids": [2], "x": None, "y": None}]},
    {"command": "return", "to": None},
    {"command": "escort", "from": None, "stops": [{"table_id": 1, "x": 1, "y": 1}]},
])
async def test_a_place_without_a_position_fails_the_task(command: dict[str, Any]) -> None:
    bridge, ros, server = await _bridge()
    bridge.command({"type": "command", "id": "c1", "task_id": 9, **command})
    await until(lambda: server.of("command_result")[-1]["status"] == "failed", 2, "failed")
    [failed] = server.of("event")
    assert (failed["event"], failed["task_id"]) == ("failed", 9)
    assert "has no position" in failed["message"]
    assert ros.published == []


async def test_return_is_returning_then_idle_and_charge_stays_charging() -> None:
    bridge, ros, server = await _bridge()
    bridge.command({"type": "command", "id": "c1", "command": "return", "task_id": 1,
                    "to": {"x": 1.5, "y": 6}})
    assert bridge.mode == "returning"
    await _reach(bridge, ros, b"g1", 1)
    await until(lambda: bridge.mode == "idle", 2, "idle")
    bridge.command({"type": "command", "id": "c2", "command": "charge", "task_id": 2,
                    "to": {"x": 1.5, "y": 6}})
    await _reach(bridge, ros, b"g2", 2)
    await until(lambda: bridge.mode == "charging", 2, "charging")
    # The server ends a charge at resume_battery: no done from the robot.
    assert [r["status"] for r in server.of("command_result")] == ["accepted", "done", "accepted"]


async def _on_the_way(command: str = "go_to", cancel_after_s: float = 0.0
                      ) -> tuple[RobotBridge, FakeRos, Server]:
    """A bridge whose trip to (2, 2) Nav2 has taken on as goal g1."""
    bridge, ros, server = await _bridge(cancel_after_s)
    bridge.command({"type": "command", "id": "c1", "command": command, "task_id": 1,
                    "stops": [{"table_id": 1, "order_ids": [1], "x": 2, "y": 2}]})
    await until(lambda: ros.published, 2, "published")
    bridge.on_status([GoalState(b"g1", 1, EXECUTING)])
    await until(lambda: bridge.nav.following == b"g1", 2, "following")
    return bridge, ros, server


async def test_pause_cancels_and_holds_resume_sends_the_goal_again() -> None:
    bridge, ros, server = await _on_the_way()
    bridge.command({"type": "command", "id": "p", "command": "pause"})
    await until(lambda: ros.cancelled == [b"g1"], 2, "cancelled")
    assert bridge.mode == "paused"
    bridge.on_status([GoalState(b"g1", 1, CANCELED)])
    await asyncio.sleep(0.1)
    assert ros.published == [(2, 2)]  # held: no goal while paused
    bridge.command({"type": "command", "id": "r", "command": "resume"})
    await until(lambda: ros.published == [(2, 2), (2, 2)], 2, "the goal again")
    assert bridge.mode == "delivering"
    bridge.on_status([GoalState(b"g2", 2, SUCCEEDED)])
    await until(lambda: bridge.mode == "idle", 2, "idle")
    assert not [e for e in server.events() if e == "failed"]
    assert [(r["command_id"], r["status"]) for r in server.of("command_result")] == [
        ("c1", "accepted"), ("p", "done"), ("r", "done"), ("c1", "done")]


async def test_cancel_ends_the_trip_through_the_cancel_service_and_answers_done() -> None:
    bridge, ros, server = await _on_the_way("deliver")
    bridge.command({"type": "command", "id": "x", "command": "cancel", "task_id": 1})
    await until(lambda: server.of("command_result")[-1]["status"] == "done", 2, "done")
    assert ros.cancelled == [b"g1"]
    assert (bridge.mode, bridge.carried_task(), server.events()) == ("idle", None, [])


async def test_a_cancel_of_a_task_it_is_not_on_answers_done_and_stops_nothing() -> None:
    bridge, ros, server = await _on_the_way("deliver")
    bridge.command({"type": "command", "id": "x", "command": "cancel", "task_id": 7})
    await until(lambda: server.of("command_result")[-1]["command_id"] == "x", 2, "answered")
    assert server.of("command_result")[-1] == {
        "type": "command_result", "command_id": "x", "status": "done",
        "detail": "not on task 7"}
    assert (ros.cancelled, bridge.mode, bridge.carried_task()) == ([], "delivering", 1)


@pytest.mark.parametrize("next_task", [2, 1])
async def test_a_trip_command_right_behind_a_cancel_is_never_the_one_stopped(
    next_task: int
) -> None:
    """Both lines in one read, the cancel service slow to answer: the cancel is decided as it
    is read, so the trip behind it (a new task, or the same one sent again) goes on."""
    bridge, ros, server = await _on_the_way("deliver", cancel_after_s=0.2)
    bridge.command({"type": "command", "id": "x", "command": "cancel", "task_id": 1})
    bridge.command({"type": "command", "id": "c2", "command": "deliver", "task_id": next_task,
                    "stops": [{"table_id": 2, "order_ids": [2], "x": 5, "y": 5}]})
    await until(lambda: server.of("command_result")[-1]["command_id"] == "x", 2, "cancel done")
    assert (bridge.mode, bridge.carried_task(), ros.cancelled) == (
        "delivering", next_task, [b"g1"])
    await _reach(bridge, ros, b"g2", 2)
    await until(lambda: bridge.mode == "idle", 2, "the second trip done")
    assert [(r["command_id"], r["status"]) for r in server.of("command_result")] == [
        ("c1", "accepted"), ("c2", "accepted"), ("x", "done"), ("c2", "done")]
    assert server.events() == ["arrived", "delivered"]


async def test_a_goal_cancelled_by_someone_else_fails_the_task() -> None:
    bridge, ros, server = await _on_the_way()
    bridge.on_status([GoalState(b"g1", 1, CANCELED)])
    await until(lambda: server.events() == ["failed"], 2, "failed")


async def test_state_goes_out_at_most_state_hz_and_only_what_changed() -> None:
    bridge, ros, server = await _bridge(state_hz=5)
    bridge.report(full=True)
    first = server.of("state")
    assert first[0] == {"type": "state", "status": "idle", "battery": None, "pose": None,
                        "issues": []}
    for n in range(10):
        bridge.on_pose(float(n), 1.0, 0.0)
    assert len(server.of("state")) == 1  # the rest wait for the next fifth of a second
    await until(lambda: len(server.of("state")) == 2, 2, "the next state")
    assert server.of("state")[1] == {"type": "state", "pose": {"x": 9, "y": 1, "yaw": 0}}


async def test_a_new_status_goes_out_at_once_after_its_result_with_the_waiting_pose() -> None:
    bridge, ros, server = await _bridge(state_hz=1)
    bridge.report(full=True)
    bridge.on_pose(2.0, 7.0, 0.0)  # waits for the next second
    bridge.command({"type": "command", "id": "c1", "command": "return", "task_id": 1,
                    "to": {"x": 2, "y": 7}})
    assert server.lines[-2:] == [
        {"type": "command_result", "command_id": "c1", "status": "accepted"},
        {"type": "state", "status": "returning", "pose": {"x": 2, "y": 7, "yaw": 0}}]
    await _reach(bridge, ros, b"g1", 1)
    await until(lambda: server.lines[-1] == {"type": "state", "status": "idle"}, 0.5,
                "idle before the next second")
    assert server.lines[-2:] == [
        {"type": "command_result", "command_id": "c1", "status": "done"},
        {"type": "state", "status": "idle"}]


async def test_no_odometry_for_stale_s_is_error_with_ros_silent_until_it_comes_back() -> None:
    bridge, ros, server = await _bridge(stale_s=0.2)
    await until(lambda: bridge.state()["status"] == "error", 2, "silent")
    assert [i["category"] for i in bridge.state()["issues"]] == ["ros_silent"]
    bridge.on_odom()
    assert bridge.state()["status"] == "idle" and bridge.state()["issues"] == []


async def test_lines_of_a_task_are_kept_while_away_and_the_hello_names_the_task() -> None:
    bridge, ros, server = await _bridge()
    bridge.command({"type": "command", "id": "c1", "command": "go_to", "task_id": 4,
                    "stops": [{"table_id": 1, "x": 2, "y": 2}]})
    bridge.outbox.detach()
    await _reach(bridge, ros, b"g1", 1)
    await until(lambda: bridge.task_id is None, 2, "finished")
    assert bridge.carried_task() == 4  # its done has not reached the server yet
    bridge.outbox.attach(server)  # type: ignore[arg-type]
    assert server.events() == ["arrived"]
    assert server.of("command_result")[-1]["status"] == "done"
    assert bridge.carried_task() is None

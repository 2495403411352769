"""Robot dispatch (docs/protocol.md, "Dispatch") through real TCP robots, the REST API and a
real SQLite file: every rule, with the robots scripted by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import create_app
from robodyne.settings import Settings

from ..support.api_client import Api, assert_error
from ..support.floor_robot import FloorRobot
from ..support.server import MakeServer, db_rows, events_of, hub_of, make_settings, receive_json
from ..support.server import db_write, ws_url
from ..support.wait import until

# Three tables across the floor: T1 near the dock, T3 far from it.
TABLES = [("T1", 4.0, 6.0), ("T2", 10.0, 6.0), ("T3", 18.0, 6.0)]
DISPATCH = {"auto_deliver": True, "return_when_idle": False, "charge_below": 25}


@pytest.fixture
async def floor(make_server: MakeServer, session: aiohttp.ClientSession) -> AsyncIterator[Any]:
    """Start a server with dispatch on (settings overridable), its tables made."""
    robots: list[FloorRobot] = []

    async def start(**dispatch: Any) -> tuple[TestServer, Api, list[int]]:
        server = await make_server(dispatch={**DISPATCH, **dispatch})
        api = Api(session, server)
        tables = []
        for label, x, y in TABLES:
            table = await api.ok("POST", "/api/tables", {"label": label, "seats": 4, "x": x,
                                                         "y": y}, 201)
            tables.append(table["id"])
        return server, api, tables

    async def join(server: TestServer, robot_id: str, **state: Any) -> FloorRobot:
        robot = await FloorRobot.join(server, robot_id, **state)
        robots.append(robot)
        return robot

    start.join = join  # type: ignore[attr-defined]
    yield start
    for robot in robots:
        await robot.close()


async def _ready(api: Api, table_id: int) -> dict[str, Any]:
    order = await api.order(table_id, "Bibimbap")
    return await api.move(order["id"], "preparing", "ready")


def _task(server: TestServer, task_id: int) -> dict[str, Any]:
    [task] = [t for t in hub_of(server).snapshot("tasks")[0] if t["id"] == task_id]
    return task


def _order(server: TestServer, order_id: int) -> Any:
    [row] = db_rows(server, "SELECT * FROM orders WHERE id = ?", order_id)
    return row


async def test_a_ready_order_rides_to_its_table_with_nobody_choosing_the_robot(floor: Any) -> None:
    server, api, tables = await floor(return_when_idle=True)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    assert command["command"] == "deliver"
    # Each stop with its table's position: a robot needs no map of table ids (SPEC §4).
    assert command["stops"] == [{"table_id": tables[0], "order_ids": [order["id"]],
                                 "x": 4.0, "y": 6.0}]
    # a one-stop, one-order task also names them, for robots that know only single commands
    assert (command["table_id"], command["order_id"]) == (tables[0], order["id"])
    task_id = command["task_id"]
    [row] = db_rows(server, "SELECT status, robot_id FROM tasks WHERE id = ?", task_id)
    assert (row["status"], row["robot_id"]) == ("assigned", "r1")  # committed before sent

    await robot.answer(command, "accepted")
    assert (_order(server, order["id"])["status"], _order(server, order["id"])["task_id"]) == (
        "delivering", task_id)
    assert _task(server, task_id)["status"] == "underway"
    await robot.event("arrived", task_id=task_id, table_id=tables[0])
    assert _task(server, task_id)["stops"][0]["status"] == "arrived"
    await robot.event("delivered", task_id=task_id, table_id=tables[0], order_id=order["id"])
    assert _order(server, order["id"])["status"] == "served"  # before the ack
    assert _task(server, task_id)["status"] == "completed"
    # nothing queued: the robot is sent home
    home = await robot.command()
    assert home["command"] == "return" and home["task_id"] != task_id
    await robot.answer(home, "accepted")
    await robot.answer(home, "done")
    assert _task(server, home["task_id"])["status"] == "completed"
    tasks = await api.ok("GET", "/api/tasks")
    assert [t["kind"] for t in tasks["items"]] == ["deliver", "return"]
    assert events_of(server, "order_served")


async def test_orders_ready_while_no_robot_is_free_ride_together_up_to_max_stops(
    floor: Any
) -> None:
    server, api, tables = await floor(max_stops=2)
    orders = [await _ready(api, table) for table in (tables[0], tables[1], tables[0],
                                                     tables[2])]
    queued = [t for t in (await api.ok("GET", "/api/tasks"))["items"] if t["status"] == "queued"]
    # T1 twice shares one stop; T2 joins it (2 stops); T3 needs a second task
    assert [[(s["table_id"], s["order_ids"]) for s in t["stops"]] for t in queued] == [
        [(tables[0], [orders[0]["id"], orders[2]["id"]]), (tables[1], [orders[1]["id"]])],
        [(tables[2], [orders[3]["id"]])]]
    robot = await floor.join(server, "r1")
    command = await robot.command()
    assert [stop["table_id"] for stop in command["stops"]] == [tables[0], tables[1]]
    assert "table_id" not in command  # two stops: only the stops say where
    await robot.deliver(command)
    assert all(_order(server, o["id"])["status"] == "served" for o in orders[:3])
    assert _order(server, orders[3]["id"])["status"] == "ready"


async def test_with_max_stops_1_each_table_rides_alone(floor: Any) -> None:
    server, api, tables = await floor(max_stops=1)
    await _ready(api, tables[0])
    await _ready(api, tables[1])
    queued = (await api.ok("GET", "/api/tasks"))["items"]
    assert [len(task["stops"]) for task in queued] == [1, 1]


async def test_the_nearest_free_robot_takes_the_task(floor: Any) -> None:
    server, api, tables = await floor()
    far = await floor.join(server, "far", x=1.0, y=1.0)
    near = await floor.join(server, "near", x=17.0, y=5.0)
    await _ready(api, tables[2])  # T3 at (18, 6)
    command = await near.command()
    assert command["command"] == "deliver"
    await far.no_command()


async def test_a_pinned_task_waits_for_its_robot(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    near = await floor.join(server, "near", x=17.0, y=5.0)
    far = await floor.join(server, "far", x=1.0, y=1.0, status="charging", battery=50)
    order = await _ready(api, tables[2])
    task = await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [order["id"]],
                                               "robot_id": "far"}, 201)
    assert (task["status"], task["pinned"], task["robot_id"]) == ("queued", True, "far")
    await near.no_command()  # nearer and free, but the task waits for its robot
    await far.report(battery=85)
    command = await far.command()
    assert command["task_id"] == task["id"]


async def test_a_rejected_task_goes_to_another_robot_and_never_back(floor: Any) -> None:
    server, api, tables = await floor()
    near = await floor.join(server, "near", x=17.0, y=5.0)
    await _ready(api, tables[2])
    command = await near.command()
    await near.answer(command, "rejected", "tray full")
    task = _task(server, command["task_id"])
    assert (task["status"], task["rejected_by"]) == ("queued", ["near"])
    await near.no_command()  # not offered to the robot that refused it again
    far = await floor.join(server, "far", x=1.0, y=1.0)
    again = await far.command()
    assert again["task_id"] == command["task_id"] and again["id"] != command["id"]


async def test_a_robot_dropping_mid_trip_fails_the_task_and_another_robot_delivers(
    floor: Any
) -> None:
    server, api, tables = await floor()
    first = await floor.join(server, "first", x=5.0, y=6.0)
    order = await _ready(api, tables[0])
    command = await first.command()
    await first.answer(command, "accepted")
    assert _order(server, order["id"])["status"] == "delivering"
    await first.close()
    await until(lambda: events_of(server, "task_failed")
                and _order(server, order["id"])["task_id"] not in (None, command["task_id"]))
    [failed] = events_of(server, "task_failed")
    assert failed["severity"] == "warning"
    assert orjson.loads(failed["data"])["order_ids"] == [order["id"]]
    assert _task(server, command["task_id"])["status"] == "failed"
    row = _order(server, order["id"])
    assert row["status"] == "ready" and row["task_id"] not in (None, command["task_id"])
    second = await floor.join(server, "second")
    retry = await second.command()
    assert retry["task_id"] == row["task_id"] and retry["order_id"] == order["id"]
    await second.deliver(retry)
    assert _order(server, order["id"])["status"] == "served"
    assert len(db_rows(server, "SELECT 1 FROM orders WHERE status = 'served'")) == 1


async def test_an_error_status_underway_fails_the_task(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=True)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    await robot.answer(command, "accepted")
    await robot.report(status="emergency_stop")
    task = _task(server, command["task_id"])
    assert task["status"] == "failed" and "emergency_stop" in task["detail"]
    assert _order(server, order["id"])["status"] == "ready"
    # Its trip is taken back: once the error clears it must not drive the food it had.
    cancel = await robot.command()
    assert (cancel["command"], cancel["task_id"]) == ("cancel", command["task_id"])


async def test_an_error_status_before_accepting_queues_the_task_and_takes_it_back(
        floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=True)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    await robot.report(status="error")
    task = _task(server, command["task_id"])
    assert (task["status"], task["robot_id"]) == ("queued", None)
    cancel = await robot.command()
    assert (cancel["command"], cancel["task_id"]) == ("cancel", command["task_id"])
    assert _order(server, order["id"])["status"] == "ready"


async def test_a_robot_that_fails_its_trip_hands_the_food_back(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=True)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    await robot.answer(command, "accepted")
    await robot.event("failed", task_id=command["task_id"], message="path blocked")
    assert _task(server, command["task_id"])["detail"] == "path blocked"
    assert _order(server, order["id"])["status"] == "ready"
    assert events_of(server, "task_failed")


async def test_cancel_tells_the_robot_and_leaves_the_orders_to_staff(floor: Any) -> None:
    server, api, tables = await floor()
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    await robot.answer(command, "accepted")
    task = await api.ok("POST", f"/api/tasks/{command['task_id']}/cancel")
    assert task["status"] == "cancelled"
    cancel = await robot.command()
    assert (cancel["command"], cancel["task_id"]) == ("cancel", command["task_id"])
    row = _order(server, order["id"])
    # back to staff: it keeps the cancelled task's id, so that not even a restart re-sends it
    assert (row["status"], row["task_id"], row["robot_id"]) == ("ready", task["id"], None)
    assert len(db_rows(server, "SELECT 1 FROM tasks")) == 1  # not dispatched again by itself
    assert_error(await api.call("POST", f"/api/tasks/{command['task_id']}/cancel"), 409,
                 "conflict")


async def test_an_order_served_by_hand_leaves_its_task_which_is_cancelled(floor: Any) -> None:
    server, api, tables = await floor()
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    command = await robot.command()
    await robot.answer(command, "accepted")
    await api.move(order["id"], "served")  # a person carried it
    task = _task(server, command["task_id"])
    assert task["status"] == "cancelled" and task["stops"][0]["status"] == "skipped"
    assert (await robot.command())["command"] == "cancel"


async def test_an_order_sent_back_to_the_kitchen_leaves_a_shared_trip(floor: Any) -> None:
    server, api, tables = await floor()
    first, second = await _ready(api, tables[0]), await _ready(api, tables[1])
    [task] = (await api.ok("GET", "/api/tasks"))["items"]
    await api.move(first["id"], "preparing")
    task = _task(server, task["id"])
    assert task["status"] == "queued"
    assert [(s["table_id"], s["order_ids"], s["status"]) for s in task["stops"]] == [
        (tables[0], [], "skipped"), (tables[1], [second["id"]], "pending")]
    assert _order(server, first["id"])["task_id"] is None


async def test_a_low_robot_is_sent_to_charge_and_works_again_once_charged(floor: Any) -> None:
    server, api, tables = await floor(charge_below=25, resume_battery=80, min_battery=30)
    robot = await floor.join(server, "r1", battery=50)
    await robot.report(battery=20)
    charge = await robot.command()
    assert charge["command"] == "charge"
    await robot.answer(charge, "accepted")
    await robot.report(status="charging", battery=40)
    order = await _ready(api, tables[0])
    await robot.no_command()  # charging below resume_battery: takes no work
    await robot.report(battery=81)
    assert _task(server, charge["task_id"])["status"] == "completed"
    deliver = await robot.command()
    assert deliver["command"] == "deliver" and deliver["order_id"] == order["id"]


async def test_a_robot_low_after_its_trip_or_its_way_home_is_sent_to_charge(floor: Any) -> None:
    server, api, tables = await floor(return_when_idle=True)
    robot = await floor.join(server, "r1", battery=60)
    await _ready(api, tables[0])
    deliver = await robot.command()
    await robot.answer(deliver, "accepted")
    await robot.report(status="delivering", battery=40)
    await robot.deliver(deliver)
    home = await robot.command()  # 40% is fine: home
    assert home["command"] == "return"
    await robot.answer(home, "accepted")
    await robot.report(status="returning", battery=24)  # drained on the way: on a task, so
    await robot.no_command(within=0.3)                   # not interrupted
    await robot.answer(home, "done")
    charge = await robot.command()
    assert charge["command"] == "charge"
    assert _task(server, charge["task_id"])["source"] == "auto"


async def test_status_and_metrics_count_the_tasks(floor: Any, session: aiohttp.ClientSession
                                                  ) -> None:
    server, api, tables = await floor()
    await _ready(api, tables[0])

    def counted() -> bool:
        status = hub_of(server).snapshot("status")[0]
        return bool(status) and status[0]["tasks"] == {"queued": 1, "active": 0}
    await until(counted)
    robot = await floor.join(server, "r1")
    await robot.deliver(await robot.command())
    async with session.get(server.make_url("/metrics"),
                           headers={"Authorization": "Bearer admin-token-test"}) as response:
        text = await response.text()
    assert 'robodyne_tasks_finished_total{kind="deliver",status="completed"} 1.0' in text
    assert "robodyne_order_ready_to_served_seconds_count 1.0" in text
    assert "robodyne_tasks_queued 0.0" in text


async def test_the_tasks_topic_streams_every_change_in_order(
    floor: Any, session: aiohttp.ClientSession
) -> None:
    server, api, tables = await floor()
    async with session.ws_connect(ws_url(server, "tasks", "kitchen-token-test")) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
        robot = await floor.join(server, "r1")
        await robot.deliver(await _ready(api, tables[0]) and await robot.command())
        seen, seqs = [], []
        while not seen or seen[-1] != "completed":
            update = await receive_json(ws)
            seqs.append(update["seq"])
            seen.append(update["data"]["items"][0]["status"])
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # contiguous
    # every step of the life, in its order (a status may repeat: stops change underway)
    steps = [status for n, status in enumerate(seen) if n == 0 or seen[n - 1] != status]
    assert steps == ["queued", "assigned", "underway", "completed"]


@pytest.mark.parametrize(("body", "status", "names"), [
    ({"kind": "summon", "table_id": 999}, 400, "table_id"),
    ({"kind": "summon"}, 400, "table_id"),
    ({"kind": "deliver", "order_ids": [999]}, 400, "999"),
    ({"kind": "deliver", "order_ids": []}, 400, "order_ids"),
    ({"kind": "go_to", "table_id": 1, "robot_id": "nobody"}, 400, "nobody"),
    ({"kind": "return"}, 400, "robot_id"),
    ({"kind": "dance", "table_id": 1}, 400, "kind"),
])
async def test_bad_task_requests_queue_nothing(floor: Any, body: dict[str, Any], status: int,
                                               names: str) -> None:
    server, api, _ = await floor()
    assert_error(await api.call("POST", "/api/tasks", body), status, "validation_error",
                 names=names)
    assert db_rows(server, "SELECT 1 FROM tasks") == []


async def test_an_order_not_ready_or_already_riding_is_refused(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    placed = await api.order(tables[0])
    assert_error(await api.call("POST", "/api/tasks", {"kind": "deliver",
                                                       "order_ids": [placed["id"]]}),
                 400, "validation_error", names="not ready")
    ready = await _ready(api, tables[0])
    await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [ready["id"]]}, 201)
    assert_error(await api.call("POST", "/api/tasks", {"kind": "deliver",
                                                       "order_ids": [ready["id"]]}),
                 409, "conflict")
    assert len(db_rows(server, "SELECT 1 FROM tasks")) == 1
    assert_error(await api.call("PATCH", "/api/tasks/999", {"priority": 3}), 404, "not_found")


async def test_priority_decides_which_task_goes_first(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    summons = [await api.ok("POST", "/api/tasks", {"kind": "summon", "table_id": table}, 201)
               for table in tables]
    await api.ok("PATCH", f"/api/tasks/{summons[2]['id']}", {"priority": 5})
    robot = await floor.join(server, "r1")
    assert (await robot.command())["task_id"] == summons[2]["id"]


async def test_pinning_an_assigned_task_to_another_robot_moves_it(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    first = await floor.join(server, "first")
    task = await api.ok("POST", "/api/tasks", {"kind": "go_to", "table_id": tables[1]}, 201)
    command = await first.command()
    second = await floor.join(server, "second", status="charging", battery=50)
    await api.ok("PATCH", f"/api/tasks/{task['id']}", {"robot_id": "second"})
    assert (await first.command())["command"] == "cancel"
    await first.no_command()
    await second.report(battery=90)  # charged enough: free
    moved = await second.command()
    assert moved["task_id"] == task["id"] and moved["id"] != command["id"]


@pytest.mark.parametrize(("token", "allowed"), [
    ("floor-token-test", True), ("admin-token-test", True), ("kitchen-token-test", False),
    ("maintenance-token-test", False)])
async def test_who_may_create_tasks(floor: Any, token: str, allowed: bool) -> None:
    server, api, tables = await floor()
    reply = await api.call("POST", "/api/tasks", {"kind": "summon", "table_id": tables[0]},
                           token=token)
    if allowed:
        assert reply.status == 201
    else:
        assert_error(reply, 403, "forbidden")
        assert db_rows(server, "SELECT 1 FROM tasks") == []
    assert (await api.call("GET", "/api/tasks", token=token)).status == 200


async def test_after_a_restart_a_robot_not_back_fails_its_task_and_its_order_rides_again(
    aiohttp_server: Any, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    settings = make_settings(tmp_path / "robodyne.db", tcp={"heartbeat_s": 0.5},
                             dispatch=DISPATCH)
    server = await aiohttp_server(create_app(settings))
    api = Api(session, server)
    table = await api.ok("POST", "/api/tables", {"label": "T1", "seats": 2, "x": 4, "y": 6}, 201)
    gone = await FloorRobot.join(server, "gone")
    order = await _ready(api, table["id"])
    command = await gone.command()
    await gone.answer(command, "accepted")
    await server.close()
    await gone.close()

    server = await aiohttp_server(create_app(settings))
    api = Api(session, server)
    assert _task(server, command["task_id"])["status"] == "underway"  # remembered
    await until(lambda: _task(server, command["task_id"])["status"] == "failed", timeout=5)
    # the task is failed first, then its order handed back and put on a new task
    await until(lambda: _order(server, order["id"])["task_id"] not in (None,
                                                                       command["task_id"]))
    assert _order(server, order["id"])["status"] == "ready"
    back = await FloorRobot.join(server, "back")
    retry = await back.command()
    await back.deliver(retry)
    assert _order(server, order["id"])["status"] == "served"
    await back.close()


async def test_a_robot_cannot_deliver_an_order_another_robot_carries(floor: Any) -> None:
    server, api, tables = await floor()
    carrier = await floor.join(server, "carrier", x=5.0, y=6.0)
    stranger = await floor.join(server, "stranger", status="charging", battery=40)
    order = await _ready(api, tables[0])
    command = await carrier.command()
    await carrier.answer(command, "accepted")
    await stranger.client.send({"type": "event", "event": "delivered", "order_id": order["id"],
                                "id": "mine?"})
    reply = await stranger.client.receive()
    assert (reply["type"], reply["code"], reply["id"]) == ("error", "forbidden", "mine?")
    assert _order(server, order["id"])["status"] == "delivering"
    await carrier.deliver(command)
    assert _order(server, order["id"])["status"] == "served"


async def test_a_trip_whose_last_order_is_taken_by_hand_completes_and_frees_the_robot(
    floor: Any
) -> None:
    server, api, tables = await floor(max_stops=2)
    first, second = await _ready(api, tables[0]), await _ready(api, tables[0])
    robot = await floor.join(server, "r1")
    command = await robot.command()
    await robot.answer(command, "accepted")
    await robot.event("delivered", task_id=command["task_id"], table_id=tables[0],
                      order_id=first["id"])
    await api.move(second["id"], "served")  # a person carried the other one
    task = _task(server, command["task_id"])
    assert task["status"] == "completed" and task["stops"][0]["status"] == "done"
    assert (await robot.command())["command"] == "cancel"
    await robot.report(status="idle")
    third = await _ready(api, tables[1])
    assert (await robot.command())["order_id"] == third["id"]  # free again


async def test_a_robot_cannot_deliver_another_robots_order_through_its_own_task(
    floor: Any
) -> None:
    server, api, tables = await floor(auto_deliver=False)
    carrier = await floor.join(server, "carrier", x=5.0, y=6.0)
    order = await _ready(api, tables[0])
    await api.ok("POST", "/api/tasks", {"kind": "deliver", "order_ids": [order["id"]]}, 201)
    carried = await carrier.command()
    await carrier.answer(carried, "accepted")
    other = await floor.join(server, "other")
    await api.ok("POST", "/api/tasks", {"kind": "go_to", "table_id": tables[1]}, 201)
    own = await other.command()
    await other.answer(own, "accepted")
    await other.client.send({"type": "event", "event": "delivered", "task_id": own["task_id"],
                             "order_id": order["id"], "id": "sneaky"})
    reply = await other.client.receive()
    assert (reply["type"], reply["code"]) == ("error", "forbidden")
    assert _order(server, order["id"])["status"] == "delivering"


async def test_a_ready_order_on_no_robot_cannot_be_delivered_by_a_robot(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    await robot.client.send({"type": "event", "event": "delivered", "order_id": order["id"],
                             "id": "mine?"})
    reply = await robot.client.receive()
    assert (reply["type"], reply["code"]) == ("error", "forbidden")
    assert _order(server, order["id"])["status"] == "ready"


async def test_a_robot_back_before_it_accepted_is_sent_its_command_again(floor: Any) -> None:
    server, api, tables = await floor()
    robot = await floor.join(server, "r1")
    await _ready(api, tables[0])
    lost = await robot.command()
    again = await floor.join(server, "r1")  # a new session takes over the old one
    resent = await again.command()
    assert (resent["id"], resent["task_id"]) == (lost["id"], lost["task_id"])
    await again.deliver(resent)
    assert _task(server, lost["task_id"])["status"] == "completed"


async def test_a_rejected_charge_is_for_no_other_robot(floor: Any) -> None:
    server, api, tables = await floor()
    low = await floor.join(server, "low", battery=50)
    full = await floor.join(server, "full", battery=100)
    await low.report(battery=20)
    charge = await low.command()
    assert charge["command"] == "charge"
    await low.answer(charge, "rejected", "busy")
    assert _task(server, charge["task_id"])["status"] == "cancelled"
    await full.no_command()


async def _cancelled_and_stopped(aiohttp_server: Any, tmp_path: Path,
                                 session: aiohttp.ClientSession
                                 ) -> tuple[Settings, dict[str, Any], dict[str, Any]]:
    """A ready order whose deliver task staff cancelled, on a server then stopped: its
    settings, the order and the task."""
    settings = make_settings(tmp_path / "robodyne.db", dispatch=DISPATCH)
    server = await aiohttp_server(create_app(settings))
    api = Api(session, server)
    table = await api.ok("POST", "/api/tables", {"label": "T1", "seats": 2, "x": 4, "y": 6}, 201)
    order = await _ready(api, table["id"])
    [task] = (await api.ok("GET", "/api/tasks"))["items"]
    await api.ok("POST", f"/api/tasks/{task['id']}/cancel")
    await server.close()
    return settings, order, task


async def test_orders_staff_took_back_are_not_redispatched_by_a_restart(
    aiohttp_server: Any, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    settings, order, _ = await _cancelled_and_stopped(aiohttp_server, tmp_path, session)
    server = await aiohttp_server(create_app(settings))
    assert len(db_rows(server, "SELECT 1 FROM tasks")) == 1
    assert _order(server, order["id"])["status"] == "ready"


async def test_a_cancel_cut_before_its_orders_were_released_still_hands_them_to_staff(
    aiohttp_server: Any, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """The cancel commits its task first and releases the orders after: a crash in between
    leaves an order delivering on a cancelled task. The restart hands it to staff, as the
    cancel would have, and puts it on no robot."""
    settings, order, task = await _cancelled_and_stopped(aiohttp_server, tmp_path, session)
    db_write(tmp_path / "robodyne.db",
             "UPDATE orders SET status = 'delivering', robot_id = 'r1' WHERE id = ?", order["id"])
    server = await aiohttp_server(create_app(settings))
    after = _order(server, order["id"])
    assert (after["status"], after["robot_id"], after["task_id"]) == ("ready", None, task["id"])
    assert len(db_rows(server, "SELECT 1 FROM tasks")) == 1


async def test_a_manual_deliver_command_puts_the_order_on_that_robot(floor: Any) -> None:
    server, api, tables = await floor(auto_deliver=False)
    robot = await floor.join(server, "r1")
    order = await _ready(api, tables[0])
    await api.ok("POST", "/api/robots/r1/commands", {"command": "deliver",
                                                     "table_id": tables[0],
                                                     "order_id": order["id"]}, 202)
    assert (await robot.command())["order_id"] == order["id"]
    assert _order(server, order["id"])["robot_id"] == "r1"
    await robot.event("delivered", order_id=order["id"])
    assert _order(server, order["id"])["status"] == "served"

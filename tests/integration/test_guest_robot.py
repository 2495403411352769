"""The robot in a guest's view (SPEC §11.4), with a real robot over TCP: who brings the order,
`eta_s` from its pose through its stops, a change of eta_s alone at most once a second, "at
your table" from its arrival, and nothing once the order is served."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api
from ..support.floor_robot import FloorRobot
from ..support.guest_client import Phone, next_view, table_code, view_until
from ..support.server import MakeServer, receive_json

DISPATCH = {"auto_deliver": True, "return_when_idle": False, "robot_speed_mps": 0.5,
            "stop_dwell_s": 20}


@pytest.fixture
async def scene(make_server: MakeServer, session: aiohttp.ClientSession
                ) -> AsyncIterator[tuple[TestServer, Api, list[dict[str, Any]], list[Any]]]:
    """Two tables on a line with the dock (x 4 and 8, y 6), and what the test opens."""
    server = await make_server(dispatch=DISPATCH)
    api = Api(session, server)
    tables = [await api.ok("POST", "/api/tables", {"label": label, "seats": 4, "x": x, "y": 6},
                           201) for label, x in (("T1", 4), ("T2", 8))]
    opened: list[Any] = []
    yield server, api, tables, opened
    for thing in opened:
        await thing.close()


async def guest_at(server: TestServer, api: Api, table: dict[str, Any],
                   opened: list[Any]) -> Phone:
    phone = Phone(server)
    opened.append(phone)
    assert await phone.open(await table_code(api.session, server, table["id"])) == 200
    return phone


async def test_the_guest_sees_which_robot_brings_the_order_and_how_far_it_is(scene: Any) -> None:
    server, api, (near, far), opened = scene
    dish = await api.ok("POST", "/api/menu", {"name": "Tea", "price": 3000}, 201)
    phone_near = await guest_at(server, api, near, opened)
    phone_far = await guest_at(server, api, far, opened)
    line = {"menu_id": dish["id"], "qty": 1}
    first = (await phone_near.order(line)).body
    second = (await phone_far.order(line)).body
    for order in (first, second):  # ready before any robot: one trip takes both
        await api.move(order["id"], "preparing", "ready")
    async with phone_near.stream() as ws_near, phone_far.stream() as ws_far:
        await receive_json(ws_near)
        await receive_json(ws_far)
        robot = await FloorRobot.join(server, "bot-2", x=2.0, y=6.0)
        opened.append(robot)
        command = await robot.command()
        assert [stop["table_id"] for stop in command["stops"]] == [near["id"], far["id"]]
        await robot.answer(command, "accepted")
        await robot.report(status="delivering")
        view = await view_until(ws_near, lambda v: v["robot"] is not None
                                and v["robot"]["status"] == "delivering"
                                and v["orders"][0]["status"] == "delivering")
        assert view["robot"]["id"] == "bot-2" and view["robot"]["name"]
        assert view["robot"]["order_ids"] == [first["id"]]
        # 2 m to T1 at 0.5 m/s.
        assert (view["robot"]["eta_s"], view["robot"]["at_table"]) == (4, False)
        far_view = await view_until(ws_far, lambda v: v["robot"] is not None
                                    and v["robot"]["status"] == "delivering")
        # 2 m to T1, 20 s there, 4 m on to T2: 4 + 20 + 8.
        assert far_view["robot"]["eta_s"] == 32
        assert far_view["robot"]["order_ids"] == [second["id"]]

        # A move changes eta_s alone: published within the throttle's second, not at once
        # twice over.
        await robot.report(pose={"x": 3.0, "y": 6.0, "yaw": 0, "map": "floor"})
        started = time.monotonic()
        await robot.report(pose={"x": 3.5, "y": 6.0, "yaw": 0, "map": "floor"})
        view = await view_until(ws_near, lambda v: v["robot"]["eta_s"] == 1, timeout=3)
        assert time.monotonic() - started < 1.5

        await robot.event("arrived", task_id=command["task_id"], table_id=near["id"])
        view = await view_until(ws_near, lambda v: v["robot"]["at_table"])
        assert view["robot"]["eta_s"] == 0
        await robot.event("delivered", task_id=command["task_id"], table_id=near["id"],
                          order_id=first["id"])
        view = await view_until(ws_near, lambda v: v["robot"] is None)
        assert view["orders"][0]["status"] == "served"
        # The far table still waits for the same robot, now a stop nearer.
        far_view = await view_until(ws_far, lambda v: v["robot"]["eta_s"] == 9)


async def test_an_eta_change_alone_reaches_a_table_at_most_once_a_second(scene: Any) -> None:
    server, api, (near, _), opened = scene
    dish = await api.ok("POST", "/api/menu", {"name": "Tea", "price": 3000}, 201)
    phone = await guest_at(server, api, near, opened)
    order = (await phone.order({"menu_id": dish["id"], "qty": 1})).body
    robot = await FloorRobot.join(server, "bot-1", x=0.0, y=6.0)
    opened.append(robot)
    await api.move(order["id"], "preparing", "ready")
    command = await robot.command()
    await robot.answer(command, "accepted")
    async with phone.stream() as ws:
        await receive_json(ws)
        sent_at = time.monotonic()
        for step in range(20):  # 20 poses in ~1 s, each a new eta
            await robot.report(pose={"x": 0.1 * step, "y": 6.0, "yaw": 0, "map": "floor"})
        arrivals = []
        while time.monotonic() - sent_at < 2.5:
            try:
                _, view = await next_view(ws, timeout=0.5)
            except TimeoutError:
                continue
            arrivals.append((time.monotonic(), view["robot"]["eta_s"]))
        gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:])]
        assert arrivals and all(gap > 0.8 for gap in gaps), arrivals
        # The last pose's eta is what the table ends up showing: 4 - 1.9 = 2.1 m -> 4 s.
        assert arrivals[-1][1] == 4


async def test_a_robot_call_brings_a_robot_to_the_table_and_is_answered_when_it_is_done(
    scene: Any
) -> None:
    server, api, (near, _), opened = scene
    phone = await guest_at(server, api, near, opened)
    robot = await FloorRobot.join(server, "bot-3", x=2.0, y=6.0)
    opened.append(robot)
    async with phone.stream() as ws:
        await receive_json(ws)
        call = await phone.call("POST", "/api/guest/calls", {"kind": "robot"})
        assert call.status == 201, call
        command = await robot.command()
        assert (command["command"], command["task_id"]) == ("summon", call.body["task_id"])
        await robot.answer(command, "accepted")
        view = await view_until(ws, lambda v: v["robot"] is not None and v["calls"])
        assert view["robot"]["id"] == "bot-3" and view["robot"]["order_ids"] == []
        assert view["calls"][0]["kind"] == "robot" and view["calls"][0]["status"] == "open"
        await robot.event("arrived", task_id=command["task_id"], table_id=near["id"])
        await view_until(ws, lambda v: v["robot"]["at_table"])
        await robot.answer(command, "done")
        view = await view_until(ws, lambda v: v["robot"] is None)
    calls = await api.ok("GET", "/api/calls")
    assert [(c["id"], c["status"]) for c in calls["items"]] == [(call.body["id"], "answered")]

"""Escorts (SPEC §12.4, §8's `escort`): with host.escort, seating a party sends a robot from the
host place to lead it to its table; the party's own page says which robot to follow. Through
the REST API, a TCP robot, the party's WebSocket and the SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.errors import StorageUnavailable
from robodyne.demo.client import run_fleet
from robodyne.domain import dispatch
from robodyne.demo.robot import SimRobot

from ..support.api_client import Api
from ..support.floor_robot import FloorRobot
from ..support.party_client import PartyPhone, next_party_view
from ..support.server import MakeServer, db_rows, hub_of, parts_of, receive_json
from ..support.wait import until

HOST = {"x": 19.2, "y": 0.8}


@pytest.fixture
async def floor(make_server: MakeServer, session: aiohttp.ClientSession
                ) -> AsyncIterator[Any]:
    """A server (escorts on unless told otherwise), one placed table, and its phones closed at
    the end."""
    phones: list[PartyPhone] = []

    async def start(escort: bool = True, host: bool = True) -> tuple[TestServer, Api, int]:
        server = await make_server(host={"escort": escort},
                                   dispatch={"return_when_idle": False})
        api = Api(session, server)
        table = await api.ok("POST", "/api/tables",
                             {"label": "T5", "seats": 4, "x": 14.0, "y": 6.0}, 201)
        if host:
            await api.ok("PUT", "/api/places/host", HOST)
        return server, api, table["id"]

    async def phone(server: TestServer, link: str) -> PartyPhone:
        opened = PartyPhone(server)
        phones.append(opened)
        assert await opened.open(link) == 200
        return opened

    start.phone = phone  # type: ignore[attr-defined]
    yield start
    for opened in phones:
        await opened.close()


def _escorts(server: TestServer) -> list[dict[str, Any]]:
    return [task for task in hub_of(server).snapshot("tasks")[0] if task["kind"] == "escort"]


async def test_a_seated_party_is_led_to_its_table_by_the_robot_its_page_names(floor: Any) -> None:
    server, api, table_id = await floor()
    robot = await FloorRobot.join(server, "robo-2")
    party = await api.ok("POST", "/api/customers", {"name": "Kim", "party_size": 3}, 201)
    phone = await floor.phone(server, party["link"])
    async with phone.stream() as ws:
        view = (await receive_json(ws))["data"]["items"][0]
        assert (view["status"], view["robot"]) == ("waiting", None)
        await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
        command = await robot.command()
        # From the host stand to the table, with both positions: the robot needs no map.
        assert command["command"] == "escort"
        assert command["from"] == HOST
        assert command["stops"] == [{"table_id": table_id, "order_ids": [], "x": 14.0,
                                     "y": 6.0}]
        [task] = _escorts(server)
        assert (task["source"], task["status"], task["robot_id"]) == ("auto", "assigned",
                                                                      "robo-2")
        await robot.answer(command, "accepted")
        # "Follow Robo 2 to T5": the page names the robot (its name, as the robots topic has it).
        while True:
            _, view = await next_party_view(ws)
            if view["robot"] is not None:
                break
        assert view["status"] == "seated" and view["table"] == {"id": table_id, "label": "T5"}
        robots = {r["id"]: r["name"] for r in hub_of(server).snapshot("robots")[0]}
        assert view["robot"] == {"name": robots["robo-2"]}
        await robot.event("arrived", task_id=command["task_id"], table_id=table_id)
        await robot.answer(command, "done")
        while view["robot"] is not None:
            _, view = await next_party_view(ws)
        assert view["table"] == {"id": table_id, "label": "T5"}  # still shown, no robot now
    [task] = _escorts(server)
    assert task["status"] == "completed" and task["stops"][0]["status"] == "done"
    [row] = db_rows(server, "SELECT kind, status, source FROM tasks WHERE id = ?", task["id"])
    assert tuple(row) == ("escort", "completed", "auto")
    await robot.close()


async def test_an_escort_waits_in_the_queue_for_a_free_robot(floor: Any) -> None:
    server, api, table_id = await floor()
    party = await api.ok("POST", "/api/customers", {"name": "Lee", "party_size": 2}, 201)
    await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    [task] = _escorts(server)
    assert task["status"] == "queued" and task["stops"][0]["table_id"] == table_id
    # A party at the door goes before normal food, after rush orders.
    assert task["priority"] == dispatch.ESCORT_PRIORITY and 0 < task["priority"] < 10
    robot = await FloorRobot.join(server, "r1")
    command = await robot.command()
    assert (command["command"], command["task_id"]) == ("escort", task["id"])
    await robot.close()


async def test_an_escort_no_robot_took_in_time_is_given_up(
    floor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch, "ESCORT_WAIT_S", 0.2)
    server, api, table_id = await floor()
    party = await api.ok("POST", "/api/customers", {"name": "Seo", "party_size": 2}, 201)
    await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    assert _escorts(server)[0]["status"] == "queued"
    await asyncio.sleep(0.3)
    # A robot that comes later is not sent to a party long gone from the door: the decision
    # that would send it gives the escort up instead.
    robot = await FloorRobot.join(server, "late")
    await robot.no_command()
    [task] = _escorts(server)
    assert task["status"] == "cancelled" and "without one" in task["detail"]
    await robot.close()


async def test_an_escort_that_cannot_be_queued_leaves_the_seating_standing(
    floor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, api, table_id = await floor()

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable("storage unavailable: the disk is full")

    monkeypatch.setattr(parts_of(server).dispatcher, "create", refused)
    party = await api.ok("POST", "/api/customers", {"name": "Ha", "party_size": 2}, 201)
    seated = await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    assert seated["status"] == "seated" and _escorts(server) == []


@pytest.mark.parametrize("escort,host", [(True, False), (False, True)])
async def test_no_escort_without_a_host_place_or_with_escorts_off(
    floor: Any, escort: bool, host: bool
) -> None:
    server, api, table_id = await floor(escort=escort, host=host)
    robot = await FloorRobot.join(server, "r1")
    party = await api.ok("POST", "/api/customers", {"name": "Park", "party_size": 2}, 201)
    seated = await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    assert seated["status"] == "seated" and seated["table_id"] == table_id
    await robot.no_command()
    assert _escorts(server) == []
    await robot.close()


async def test_an_escort_refused_by_a_robot_goes_to_another(floor: Any) -> None:
    server, api, table_id = await floor()
    first = await FloorRobot.join(server, "r1", x=19.0, y=1.0)
    party = await api.ok("POST", "/api/customers", {"name": "Cho", "party_size": 2}, 201)
    await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    command = await first.command()
    second = await FloorRobot.join(server, "r2", x=1.5, y=6.0)
    await first.answer(command, "rejected", "tray full")
    again = await second.command()
    assert (again["command"], again["task_id"], again["from"]) == (
        "escort", command["task_id"], HOST)
    await first.close()
    await second.close()


async def test_the_nearest_robot_to_the_host_stand_is_sent(floor: Any) -> None:
    server, api, table_id = await floor()
    # r_table stands by the table, r_door by the host stand: the escort starts at the door.
    by_table = await FloorRobot.join(server, "r_table", x=14.0, y=6.0)
    by_door = await FloorRobot.join(server, "r_door", x=19.0, y=1.0)
    party = await api.ok("POST", "/api/customers", {"name": "Yoon", "party_size": 2}, 201)
    await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    assert (await by_door.command())["command"] == "escort"
    await by_table.no_command()
    await by_table.close()
    await by_door.close()


class QuickRobot(SimRobot):
    """The simulator's robot, ten times as fast: the test waits for the party, not the drive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.speed *= 10


async def test_the_simulator_meets_the_party_at_the_host_stand_and_leads_it_to_the_table(
    floor: Any,
) -> None:
    server, api, table_id = await floor()
    stop = asyncio.Event()
    fleet = asyncio.create_task(run_fleet(
        "127.0.0.1", parts_of(server).robot_server.port, "robot-token-test", 1, 20.0,
        stop=stop, seed=3, robot_class=QuickRobot))
    try:
        await until(lambda: any(r["connected"] for r in hub_of(server).snapshot("robots")[0]),
                    what="the simulated robot connected")
        party = await api.ok("POST", "/api/customers", {"name": "Han", "party_size": 2}, 201)
        await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
        poses: list[tuple[float, float]] = []

        def escorted() -> bool:
            [robot] = hub_of(server).snapshot("robots")[0]
            if robot["pose"]:
                poses.append((robot["pose"]["x"], robot["pose"]["y"]))
            [task] = _escorts(server)
            return bool(task["status"] == "completed")

        await until(escorted, timeout=30, what="the escort completed")
        [task] = _escorts(server)
        assert task["stops"][0]["status"] == "done"
        # It went to the host stand first (it waits there for the party), then to the table.
        assert (HOST["x"], HOST["y"]) in poses
        assert poses.index((HOST["x"], HOST["y"])) < poses.index((14.0, 6.0))
    finally:
        stop.set()
        await fleet


async def test_a_party_is_never_shown_the_next_partys_escort(floor: Any) -> None:
    server, api, table_id = await floor()
    robot = await FloorRobot.join(server, "r1")
    first = await api.ok("POST", "/api/customers", {"name": "Ahn", "party_size": 2}, 201)
    phone = await floor.phone(server, first["link"])
    seated = await api.ok("POST", f"/api/customers/{first['id']}/seat", {"table_id": table_id})
    command = await robot.command()
    await robot.answer(command, "accepted")
    assert (await phone.view())["robot"] is not None
    await robot.answer(command, "done")
    # The first party leaves; the table is cleaned; the next party is led to it.
    await api.ok("POST", f"/api/visits/{seated['visit_id']}/close", None)
    await api.ok("PATCH", f"/api/tables/{table_id}", {"status": "available"})
    second = await api.ok("POST", "/api/customers", {"name": "Baek", "party_size": 2}, 201)
    await api.ok("POST", f"/api/customers/{second['id']}/seat", {"table_id": table_id})
    command = await robot.command()
    await robot.answer(command, "accepted")
    view = await phone.view()  # still within its 10 minutes
    assert view["status"] == "seated" and view["robot"] is None
    await robot.close()

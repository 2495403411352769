"""The floor's places (SPEC §13: the `places` topic, PUT /api/places/{name}) and the positions
commands carry (§4), through the REST API, a real WebSocket, a TCP robot and the SQLite file."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from robodyne.domain.polling import poll_once

from ..support.api_client import Api, assert_error
from ..support.floor_robot import FloorRobot
from ..support.server import ADMIN, MakeServer, db_rows, db_write, parts_of, receive_json
from ..support.server import ws_url


async def test_a_place_set_is_published_stored_and_read_back(
    api: Api, server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "places")) as ws:
        snapshot = await receive_json(ws)
        assert snapshot["data"]["items"] == []  # none set yet
        place = await api.ok("PUT", "/api/places/host", {"x": 19.2, "y": 0.8})
        assert place == {"name": "host", "x": 19.2, "y": 0.8}
        update = await receive_json(ws)
        assert update["data"] == {"kind": "upsert", "items": [place]}
        # Set again: the same place moved, not a second one.
        await api.ok("PUT", "/api/places/host", {"x": 18, "y": 1})
        assert (await receive_json(ws))["data"]["items"] == [{"name": "host", "x": 18.0,
                                                              "y": 1.0}]
    assert [tuple(row) for row in db_rows(server, "SELECT name, x, y FROM places")] == [
        ("host", 18.0, 1.0)]
    assert (await api.ok("GET", "/api/places"))["items"] == [{"name": "host", "x": 18.0,
                                                             "y": 1.0}]


async def test_places_refuse_other_names_bad_positions_and_other_roles(
    api: Api, server: TestServer
) -> None:
    assert_error(await api.call("PUT", "/api/places/kitchen", {"x": 1, "y": 1}), 404,
                 "not_found", names="kitchen")
    for body in ({"x": 1}, {"x": "1", "y": 2}, {"x": 1, "y": 2, "z": 3}, {"x": None, "y": 1},
                 {"x": 1e400, "y": 1}):
        assert_error(await api.call("PUT", "/api/places/dock", body), 400, "validation_error")
    for role in ("floor", "kitchen", "maintenance"):
        reply = await api.call("PUT", "/api/places/dock", {"x": 1, "y": 1},
                               token=f"{role}-token-test")
        assert_error(reply, 403, "forbidden")
    assert_error(await api.call("PUT", "/api/places/dock", {"x": 1, "y": 1}, token=None), 401,
                 "unauthorized")
    assert db_rows(server, "SELECT count(*) FROM places")[0][0] == 0
    # The floor and maintenance read where the places are; the kitchen has no use for them.
    for role, status in (("floor", 200), ("maintenance", 200), ("kitchen", 403)):
        assert (await api.call("GET", "/api/places", token=f"{role}-token-test")).status == status


async def test_commands_carry_the_positions_a_robot_drives_to(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(dispatch={"auto_deliver": True, "return_when_idle": True})
    api = Api(session, server)
    table = await api.ok("POST", "/api/tables", {"label": "T1", "seats": 4, "x": 6, "y": 2.5},
                         201)
    robot = await FloorRobot.join(server, "r1")
    # No dock set: a return says so with a null `to`.
    await api.ok("POST", "/api/tasks", {"kind": "summon", "table_id": table["id"]}, 201)
    command = await robot.command()
    assert command["stops"] == [{"table_id": table["id"], "order_ids": [], "x": 6.0,
                                 "y": 2.5}]
    assert "from" not in command and "to" not in command
    await robot.answer(command, "accepted")
    await robot.answer(command, "done")
    going_home = await robot.command()
    assert (going_home["command"], going_home["to"]) == ("return", None)
    await robot.answer(going_home, "accepted")
    await robot.answer(going_home, "done")
    # With the dock set, the next return names it; a staff command too.
    await api.ok("PUT", "/api/places/dock", {"x": 1.5, "y": 6})
    summon = await api.ok("POST", "/api/tasks", {"kind": "go_to", "table_id": table["id"]}, 201)
    command = await robot.command()
    assert command["task_id"] == summon["id"]
    await robot.answer(command, "accepted")
    await robot.answer(command, "done")
    going_home = await robot.command()
    assert going_home["to"] == {"x": 1.5, "y": 6.0}
    await robot.answer(going_home, "done")
    sent = await api.ok("POST", "/api/robots/r1/commands",
                        {"command": "go_to", "table_id": table["id"]}, 202)
    manual: dict[str, Any] = await robot.command()
    assert manual["id"] == sent["id"] and manual["stops"] == [
        {"table_id": table["id"], "order_ids": [], "x": 6.0, "y": 2.5}]
    sent = await api.ok("POST", "/api/robots/r1/commands", {"command": "charge"}, 202)
    assert (await robot.command())["to"] == {"x": 1.5, "y": 6.0}
    await robot.close()


async def test_a_place_another_program_wrote_is_seen_by_polling(
    api: Api, server: TestServer, session: aiohttp.ClientSession
) -> None:
    db_write(server, "INSERT INTO places (name, x, y, updated_at) VALUES ('pass', 2, 3, '')")
    parts = parts_of(server)
    assert "places" in await poll_once(parts.store, parts.hub, parts.status, parts.fleet)
    async with session.get(server.make_url("/api/places"),
                           headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert (await response.json())["items"] == [{"name": "pass", "x": 2.0, "y": 3.0}]

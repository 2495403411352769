"""`DELETE /api/robots/{id}` (SPEC §5, §10) through real sockets and a real SQLite file: an
admin removes a robot that is not connected, from the robots topic and the database, so a
ghost that fills tcp.max_robots can be cleared; 409 while it is connected, 404 unknown."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error
from ..support.robot_client import RobotClient
from ..support.server import MakeServer, db_rows, receive_json, ws_url
from ..support.wait import until


def robot_ids(server: TestServer) -> list[str]:
    return [row["id"] for row in db_rows(server, "SELECT id FROM robots ORDER BY id")]


def offline(server: TestServer, robot_id: str) -> bool:
    return bool(db_rows(server, "SELECT 1 FROM robots WHERE id = ? AND connected = 0",
                        robot_id))


async def test_a_ghost_filling_max_robots_is_removed_and_frees_its_slot(
        make_server: MakeServer, session: aiohttp.ClientSession) -> None:
    server = await make_server(tcp={"max_robots": 2})
    api = Api(session, server)
    ghosts = [await RobotClient.hello(server, f"ghost{n}") for n in (1, 2)]
    for ghost in ghosts:
        await ghost.close()
    await until(lambda: offline(server, "ghost1") and offline(server, "ghost2"))
    newcomer = await RobotClient.connect(server)
    await newcomer.send({"type": "hello", "token": "robot-token-test", "robot_id": "real"})
    assert (await newcomer.receive())["code"] == "forbidden"
    await newcomer.close()

    async with session.ws_connect(ws_url(server, "robots")) as ws:
        snapshot = await receive_json(ws)
        assert {r["id"] for r in snapshot["data"]["items"]} == {"ghost1", "ghost2"}
        reply = await api.call("DELETE", "/api/robots/ghost1")
        assert reply.status == 204, reply
        update = await receive_json(ws)
        assert update["data"]["kind"] == "delete" and update["data"]["ids"] == ["ghost1"]
    assert robot_ids(server) == ["ghost2"]
    listed = await api.ok("GET", "/api/robots")
    assert [r["id"] for r in listed["items"]] == ["ghost2"]

    real = await RobotClient.hello(server, "real")
    await real.close()


async def test_a_connected_robot_is_not_removed_and_an_unknown_one_is_not_found(
        server: TestServer, api: Api) -> None:
    robot = await RobotClient.hello(server, "r1")
    assert_error(await api.call("DELETE", "/api/robots/r1"), 409, "conflict", "connected")
    assert robot_ids(server) == ["r1"]
    assert_error(await api.call("DELETE", "/api/robots/nobody"), 404, "not_found", "nobody")
    await robot.close()
    await until(lambda: offline(server, "r1"))
    assert (await api.call("DELETE", "/api/robots/r1")).status == 204
    assert_error(await api.call("DELETE", "/api/robots/r1"), 404, "not_found")


async def test_only_an_admin_removes_a_robot(server: TestServer, api: Api) -> None:
    robot = await RobotClient.hello(server, "r1")
    await robot.close()
    await until(lambda: offline(server, "r1"))
    for token in ("floor-token-test", "maintenance-token-test", "kitchen-token-test"):
        assert_error(await api.call("DELETE", "/api/robots/r1", token=token), 403, "forbidden")
    assert_error(await api.call("DELETE", "/api/robots/r1", token="robot-token-test"), 403,
                 "forbidden")
    assert_error(await api.call("DELETE", "/api/robots/r1", token=None), 401, "unauthorized")
    assert robot_ids(server) == ["r1"]

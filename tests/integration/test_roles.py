"""Which role may read which topic and make which write, over REST and WebSockets.

The expectations are written out here from the Roles table of docs/protocol.md, not imported
from robodyne: a change to robodyne/core/roles.py that drifts from that table fails these tests.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.calls import CallKind

from ..support.server import receive_close, receive_json, ws_url
from ..support.robot_client import RobotClient
from ..support.server import db_rows, parts_of
from ..support.api_client import Api, assert_error
from ..support.wait import until

ROLES = ["admin", "kitchen", "floor", "maintenance", "robot"]
TOKEN = {role: f"{role}-token-test" for role in ROLES}
TOPICS = ["robots", "tables", "orders", "customers", "inventory", "video_streams", "tasks",
          "menu", "events", "systemlogs", "status", "visits", "calls", "places"]

# docs/protocol.md, "Roles", "may read topics".
READS = {
    "admin": set(TOPICS),
    "kitchen": {"orders", "tables", "inventory", "events", "status", "tasks", "menu"},
    "floor": {"robots", "tables", "orders", "customers", "events", "status", "video_streams",
              "tasks", "menu", "visits", "calls", "places"},
    "maintenance": {"robots", "events", "status", "systemlogs", "video_streams", "tasks",
                    "places"},
    "robot": set(),
}
# docs/protocol.md, "Roles", "may write".
WRITES = {
    "admin": {"orders", "order_prices", "tables", "customers", "inventory", "video_streams",
              "event_ack", "robot_commands", "tasks", "menu", "menu_available", "tokens",
              "table_links", "visits", "calls", "places", "robots",
              "floor_plan"},
    "kitchen": {"orders", "inventory", "event_ack", "menu_available"},
    "floor": {"orders", "order_prices", "tables", "customers", "event_ack", "robot_commands",
              "tasks", "visits", "calls"},
    "maintenance": {"video_streams", "event_ack"},
    "robot": set(),
}
SCOPES = ["orders", "order_prices", "tables", "customers", "inventory", "video_streams",
          "event_ack", "robot_commands", "tasks", "menu", "menu_available", "tokens", "table_links",
          "visits", "calls", "places", "robots",
          "floor_plan"]

# One representative write per scope: (method, path, body, success status); {table} (with an
# order, so an open visit), {free} (a table without one), {event} and {dish} are ids made
# before each test, "r1" a connected robot, "ghost" one that is not (for "robots" alone).
WRITE_CALLS: dict[str, tuple[str, str, Any, int]] = {
    "orders": ("POST", "/api/orders", {"table_id": "{table}", "items": [{"name": "Soup"}]}, 201),
    "order_prices": ("POST", "/api/orders", {"table_id": "{table}",
                                             "items": [{"name": "Corkage", "price": 20000}]}, 201),
    "tables": ("POST", "/api/tables", {"label": "New", "seats": 2}, 201),
    "customers": ("POST", "/api/customers", {"name": "Ada"}, 201),
    "inventory": ("POST", "/api/inventory", {"sku": "S", "name": "Salt", "quantity": 1}, 201),
    "video_streams": ("POST", "/api/video_streams", {"name": "Cam", "url": "rtsp://c"}, 201),
    "event_ack": ("POST", "/api/events/{event}/ack", None, 200),
    "robot_commands": ("POST", "/api/robots/r1/commands", {"command": "pause"}, 202),
    "tasks": ("POST", "/api/tasks", {"kind": "summon", "table_id": "{table}"}, 201),
    "menu": ("POST", "/api/menu", {"name": "Japchae", "station": "kitchen"}, 201),
    "menu_available": ("PATCH", "/api/menu/{dish}", {"available": False}, 200),
    "tokens": ("POST", "/api/pairing", {"role": "kitchen", "label": "grill"}, 201),
    "table_links": ("POST", "/api/tables/{table}/link", None, 200),
    "visits": ("POST", "/api/visits", {"table_id": "{free}", "party_size": 2}, 201),
    "calls": ("POST", "/api/calls/{call}/answer", None, 200),
    "places": ("PUT", "/api/places/host", {"x": 19.0, "y": 1.0}, 200),
    "robots": ("DELETE", "/api/robots/ghost", None, 204),
    "floor_plan": ("DELETE", "/api/tables/{free}", None, 204),
}
# What a refused write must leave untouched, read from the SQLite file.
WITNESS: dict[str, Any] = {
    "orders": "SELECT count(*) FROM orders",
    "order_prices": "SELECT count(*) FROM orders",
    "tables": "SELECT count(*) FROM dining_tables",
    "customers": "SELECT count(*) FROM customers",
    "inventory": "SELECT count(*) FROM inventory",
    "video_streams": "SELECT count(*) FROM video_streams",
    "event_ack": "SELECT count(*) FROM events WHERE acknowledged_at IS NOT NULL",
    "robot_commands": "SELECT count(*) FROM events WHERE type = 'command_result'",
    "tasks": "SELECT count(*) FROM tasks",
    "menu": "SELECT count(*) FROM menu",
    "menu_available": "SELECT count(*) FROM menu WHERE available = 0",
    "tokens": lambda server: parts_of(server).login.codes.live,
    "table_links": "SELECT count(*) FROM events WHERE type = 'table_link_rotated'",
    "visits": "SELECT count(*) FROM visits",
    "calls": "SELECT count(*) FROM calls WHERE status = 'answered'",
    "places": "SELECT count(*) FROM places",
    # A removal: the robots it has taken away, out of a hundred.
    "robots": "SELECT 100 - count(*) FROM robots",
    # One table fewer counts up by one.
    "floor_plan": "SELECT -count(*) FROM dining_tables",
}


def witness(server: TestServer, scope: str) -> int:
    """What the write changes: a count in the SQLite file, or the live pairing codes."""
    seen = WITNESS[scope]
    if callable(seen):
        return int(seen(server))
    return int(db_rows(server, seen)[0][0])


READ_CASES = [(role, topic) for role in ROLES for topic in TOPICS]
WRITE_CASES = [(role, scope) for role in ROLES for scope in SCOPES]


def test_the_tables_here_cover_every_role_topic_and_scope() -> None:
    assert set(READS) == set(WRITES) == set(ROLES)
    assert all(READS[role] <= set(TOPICS) and WRITES[role] <= set(SCOPES) for role in ROLES)
    assert set(WRITE_CALLS) == set(WITNESS) == set(SCOPES)
    assert len(READ_CASES) == 70 and len(WRITE_CASES) == 90


@pytest.mark.parametrize("role,topic", READ_CASES, ids=[f"{r}-{t}" for r, t in READ_CASES])
async def test_rest_read_is_allowed_exactly_as_the_role_table_says(
    api: Api, role: str, topic: str
) -> None:
    reply = await api.call("GET", f"/api/{topic}", token=TOKEN[role])
    if topic in READS[role]:
        assert reply.status == 200, reply
        assert set(reply.body) == {"items", "seq", "epoch"}
    else:
        assert_error(reply, 403, "forbidden", names=topic)


@pytest.mark.parametrize("role,topic", READ_CASES, ids=[f"{r}-{t}" for r, t in READ_CASES])
async def test_websocket_read_is_allowed_exactly_as_the_role_table_says(
    server: TestServer, session: aiohttp.ClientSession, role: str, topic: str
) -> None:
    async with session.ws_connect(ws_url(server, topic, TOKEN[role])) as ws:
        if topic in READS[role]:
            snapshot = await receive_json(ws)
            assert (snapshot["type"], snapshot["topic"], snapshot["data"]["kind"]) == (
                "update", topic, "snapshot")
        else:
            assert await receive_close(ws) == 4403


@pytest.mark.parametrize("role,scope", WRITE_CASES, ids=[f"{r}-{s}" for r, s in WRITE_CASES])
async def test_write_is_allowed_exactly_as_the_role_table_says(
    server: TestServer, api: Api, role: str, scope: str
) -> None:
    robot = await RobotClient.hello(server, "r1")
    if scope == "robots":
        ghost = await RobotClient.hello(server, "ghost")
        await ghost.close()
        await until(lambda: db_rows(server, "SELECT 1 FROM robots WHERE id = 'ghost'"
                                            " AND connected = 0"))
    table = await api.table()
    await api.order(table["id"])
    free = await api.table("Free")
    [event] = db_rows(server, "SELECT id FROM events WHERE type = 'order_placed'")
    dish = await api.ok("POST", "/api/menu", {"name": "Kimchi"}, 201)
    call, _ = await parts_of(server).calls.call(table["id"], None, CallKind.WATER)
    ids = {"table": table["id"], "free": free["id"], "event": event["id"], "dish": dish["id"],
           "call": call.id}
    method, path, body, success = WRITE_CALLS[scope]
    path = path.format(**ids)
    if body is not None:
        body = {k: ids[v[1:-1]] if isinstance(v, str) and v[1:-1] in ids else v
                for k, v in body.items()}
    before = witness(server, scope)

    reply = await api.call(method, path, body, token=TOKEN[role])
    if scope in WRITES[role]:
        assert reply.status == success, reply
        if scope == "robot_commands":
            command = await robot.receive()
            assert (command["type"], command["id"]) == ("command", reply.body["id"])
            await robot.send({"type": "command_result", "command_id": command["id"],
                              "status": "done", "id": 1})
            assert await robot.receive() == {"type": "ack", "id": 1}
        assert witness(server, scope) == before + 1
    else:
        assert_error(reply, 403, "forbidden", names=role)
        assert witness(server, scope) == before
    await robot.close()


@pytest.mark.parametrize("role", ROLES)
async def test_me_tells_a_role_what_it_may_do(api: Api, role: str) -> None:
    assert await api.ok("GET", "/api/me", token=TOKEN[role]) == {
        "role": role, "may_read": sorted(READS[role]), "may_write": sorted(WRITES[role]),
        "may_report": role == "admin"}


# ---- tokens ----


async def test_no_token_or_an_unknown_token_is_unauthorized(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    for token in (None, "", "admin-token-but-longer"):
        assert_error(await api.call("GET", "/api/orders", token=token), 401, "unauthorized")
        assert_error(await api.call("GET", "/api/me", token=token), 401, "unauthorized")
        assert_error(await api.call("POST", "/api/tables", {"label": "X", "seats": 1},
                                    token=token), 401, "unauthorized")
    assert db_rows(server, "SELECT * FROM dining_tables") == []
    async with session.ws_connect(ws_url(server, "orders", token=None)) as ws:
        assert await receive_close(ws) == 4401
    async with session.ws_connect(ws_url(server, "orders", token="wrong")) as ws:
        assert await receive_close(ws) == 4401


async def test_a_token_is_taken_from_the_header_the_query_or_the_cookie(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    by_header = await api.call("GET", "/api/orders", token="kitchen-token-test")
    by_query = await api.call("GET", "/api/orders?token=kitchen-token-test", token=None)
    by_cookie = await api.call("GET", "/api/orders", token=None,
                               cookies={"robodyne_token": "kitchen-token-test"})
    for reply in (by_header, by_query, by_cookie):
        assert reply.status == 200, reply
    # The role really comes from each: kitchen may not read customers, whichever way it came.
    for kwargs in ({"token": "kitchen-token-test"},
                   {"token": None, "params": {"token": "kitchen-token-test"}},
                   {"token": None, "cookies": {"robodyne_token": "kitchen-token-test"}}):
        assert_error(await api.call("GET", "/api/customers", **kwargs), 403, "forbidden")
    # Writes too, each way.
    await api.ok("POST", "/api/tables?token=floor-token-test", {"label": "Q", "seats": 2}, 201,
                 token=None)
    await api.ok("POST", "/api/tables", {"label": "C", "seats": 2}, 201, token=None,
                 cookies={"robodyne_token": "floor-token-test"})
    await api.ok("POST", "/api/tables", {"label": "H", "seats": 2}, 201, token="floor-token-test")
    assert [r["label"] for r in db_rows(server, "SELECT label FROM dining_tables")] == [
        "Q", "C", "H"]
    async with session.get(server.make_url("/api/orders"),
                           headers={"Authorization": "bearer admin-token-test"}) as response:
        assert response.status == 200, "the Bearer scheme is case-insensitive"
    async with session.get(server.make_url("/api/orders"),
                           headers={"Authorization": "Basic admin-token-test"}) as response:
        assert response.status == 401

"""Edges of the input the server takes over HTTP, WebSocket and TCP: long close reasons,
non-ASCII digits in URLs, stream URLs, control characters in names, and 405's Allow."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error, subscribed
from ..support.robot_client import RobotClient
from ..support.server import ADMIN, TOKENS, receive_close, receive_json, ws_url

ROBOT_TOKEN = next(token for token, role in TOKENS.items() if role == "robot")

# ---- a close reason over 123 bytes (RFC 6455: 125 for code and reason) ----


@pytest.mark.parametrize("topic", ["x" * 300, "주" * 100])
async def test_an_unknown_topic_with_a_long_name_is_closed_1003_not_1002(
    server: TestServer, session: aiohttp.ClientSession, topic: str
) -> None:
    async with session.ws_connect(ws_url(server, topic)) as ws:
        assert await receive_close(ws) == 1003
        assert ws.close_code == 1003
    # The server carries on.
    async with subscribed(session, server, "orders"):
        pass


# ---- ids in URLs are ASCII digits ----

@pytest.mark.parametrize("raw", ["١", "%D9%A1", "１", "+1", "%201", "1_0", "01%20"])
async def test_an_id_that_is_not_ascii_digits_addresses_no_row(api: Api, raw: str) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    assert order["id"] == 1
    for method, path, body in [
        ("PATCH", f"/api/orders/{raw}", {"status": "preparing"}),
        ("PATCH", f"/api/tables/{raw}", {"seats": 2}),
        ("POST", f"/api/events/{raw}/ack", None),
        ("POST", f"/api/tasks/{raw}/cancel", None),
    ]:
        assert_error(await api.call(method, path, body), 404, "not_found")
    assert (await api.ok("PATCH", "/api/orders/01", {"status": "preparing"}))["id"] == 1


async def test_a_resume_point_in_other_digits_gets_a_fresh_snapshot(
    server: TestServer, session: aiohttp.ClientSession, api: Api
) -> None:
    async with session.ws_connect(ws_url(server, "tables")) as ws:
        snapshot = await receive_json(ws)
    seq, epoch = snapshot["seq"], snapshot["data"]["epoch"]
    await api.table("T9")
    arabic = "".join(chr(0x0660 + int(d)) for d in str(seq))
    async with session.ws_connect(ws_url(server, "tables", since=arabic, epoch=epoch)) as ws:
        again = await receive_json(ws)
    assert again["data"]["kind"] == "snapshot"
    async with session.ws_connect(ws_url(server, "tables", since=seq, epoch=epoch)) as ws:
        missed = await receive_json(ws)
    assert (missed["seq"], missed["data"]["kind"]) == (seq + 1, "upsert")


# ---- video stream URLs ----

@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,x",
                                 "file:///etc/passwd", "http://", "camera.local/stream",
                                 "ws://cam/x", "rtsp://admin:secret@cam/1",
                                 "http://x;script-src*/", "http://cam/" + "x" * 1990])
async def test_a_video_stream_url_must_be_a_video_scheme_with_a_host(api: Api, url: str) -> None:
    assert_error(await api.call("POST", "/api/video_streams", {"name": "Cam", "url": url}),
                 400, "validation_error", "url")
    stream = await api.ok("POST", "/api/video_streams",
                          {"name": "Cam", "url": "rtsp://camera-1.local/stream"}, 201)
    assert_error(await api.call("PATCH", f"/api/video_streams/{stream['id']}", {"url": url}),
                 400, "validation_error", "url")


# ---- control and bidi-override characters in names ----

BAD = ["\x00", "\u202e", "\x1b[31m", "\u2066"]


def writes(bad: str, table_id: int, ids: dict[str, int]) -> list[tuple[str, str, Any, str]]:
    """Every write of a name-like field, with `bad` in it, and the field the error names."""
    name = f"Pizza{bad}"
    return [
        ("POST", "/api/orders", {"table_id": table_id, "items": [{"name": name}]},
         "items.0.name"),
        ("POST", "/api/orders", {"table_id": table_id,
                                 "items": [{"name": "Soup", "note": f"no{bad}ice"}]},
         "items.0.note"),
        ("POST", "/api/orders", {"table_id": table_id,
                                 "items": [{"name": "Soup", "modifiers": [name]}]},
         "items.0.modifiers.0"),
        ("POST", "/api/orders", {"table_id": table_id, "items": [{"name": "Soup"}],
                                 "note": f"birth{bad}day"}, "note"),
        ("POST", "/api/tables", {"label": f"T{bad}", "seats": 2}, "label"),
        ("PATCH", f"/api/tables/{table_id}", {"label": f"T{bad}"}, "label"),
        ("POST", "/api/customers", {"name": f"Kim{bad}"}, "name"),
        ("PATCH", f"/api/customers/{ids['customer']}", {"name": f"Kim{bad}"}, "name"),
        ("POST", "/api/menu", {"name": name}, "name"),
        ("PATCH", f"/api/menu/{ids['menu']}", {"name": name}, "name"),
        ("POST", "/api/inventory", {"sku": "FLOUR", "name": f"Flour{bad}", "quantity": 1},
         "name"),
        ("PATCH", f"/api/inventory/{ids['inventory']}", {"name": f"Flour{bad}"}, "name"),
        ("POST", "/api/video_streams", {"name": f"Cam{bad}", "url": "rtsp://cam/1"}, "name"),
        ("PATCH", f"/api/video_streams/{ids['stream']}", {"name": f"Cam{bad}"}, "name"),
    ]


@pytest.mark.parametrize("bad", BAD)
async def test_control_and_bidi_override_characters_are_refused_in_every_name(
    api: Api, bad: str
) -> None:
    table = await api.table()
    ids = {
        "customer": (await api.ok("POST", "/api/customers", {"name": "Kim"}, 201))["id"],
        "menu": (await api.ok("POST", "/api/menu", {"name": "Soup"}, 201))["id"],
        "inventory": (await api.ok("POST", "/api/inventory",
                                   {"sku": "SALT", "name": "Salt", "quantity": 1}, 201))["id"],
        "stream": (await api.ok("POST", "/api/video_streams",
                                {"name": "Cam", "url": "rtsp://cam/1"}, 201))["id"],
    }
    for method, path, body, field in writes(bad, table["id"], ids):
        reply = await api.call(method, path, body)
        message = assert_error(reply, 400, "validation_error")
        assert message.startswith(f"{field}: "), (path, body, message)
    # Nothing was written; names in any script, and notes over lines, still are.
    assert (await api.ok("GET", "/api/orders"))["items"] == []
    order = await api.ok("POST", "/api/orders", {
        "table_id": table["id"], "note": "birthday\n\tcake at 8",
        "items": [{"name": "비빔밥", "note": "no egg\nextra kimchi", "modifiers": ["شطة"]}]}, 201)
    assert order["items"][0]["name"] == "비빔밥"


@pytest.mark.parametrize("field", ["name", "model"])
async def test_a_robot_hello_with_a_control_character_in_its_name_is_refused(
    server: TestServer, field: str
) -> None:
    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": ROBOT_TOKEN, "robot_id": "r1",
                      field: "Rosie\u202e\x00", "id": 1})
    error = await robot.receive()
    assert (error["type"], error["code"], error["id"]) == ("error", "validation_error", 1)
    assert error["detail"].startswith(f"{field}: ")
    await robot.close()
    ok = await RobotClient.hello(server, "r1", name="로지", model="X1")
    await ok.close()


# ---- 405 keeps its Allow header ----

@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/orders/1", {"PATCH"}),
    ("PUT", "/api/orders", {"GET", "HEAD", "POST"}),  # GET /api/{topic} too
    ("GET", "/api/tasks/1/cancel", {"POST"}),
    ("POST", "/api/menu/1", {"PATCH", "DELETE"}),
])
async def test_a_method_the_api_route_does_not_take_is_405_with_allow(
    server: TestServer, session: aiohttp.ClientSession, api: Api, method: str, path: str,
    allowed: set[str]
) -> None:
    async with session.request(method, server.make_url(path),
                               headers={"Authorization": f"Bearer {ADMIN}"}) as reply:
        assert reply.status == 405
        assert set(reply.headers["Allow"].split(",")) == allowed, reply.headers
        body = await reply.json()
    assert body["error"]["code"] == "method_not_allowed"

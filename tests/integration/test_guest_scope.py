"""What a guest session may not do (SPEC §11.3, §6): every REST route of the table but its own
refuses it with 401, every topic but menu with 4401, and staff tokens do not open the guest
stream. The routes are read from the app's own table, so a route added later is covered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.topics import Topic
from robodyne.store.guests import SESSIONS_PER_TABLE
from robodyne.web.ws import GUEST_SOCKETS_PER_TABLE
from robodyne.web.needs import GUEST
from robodyne.web.routes import REST_ROUTES

from ..support.api_client import Api, assert_error
from ..support.guest_client import Phone, table_code
from ..support.server import ADMIN, MakeServer, db_rows, receive_close, receive_json, ws_url

# What a guest may use besides its own routes (GUEST): the menu, as REST and as a topic.
GUEST_READS = {"/api/menu"}


@pytest.fixture
async def phone(api: Api, server: TestServer) -> AsyncIterator[Phone]:
    table = await api.table()
    await api.order(table["id"])  # something any leak would show
    phone = Phone(server)
    assert await phone.open(await table_code(api.session, server, table["id"])) == 200
    yield phone
    await phone.close()


def concrete(path: str, topic: str = "orders") -> str:
    return path.replace("{id}", "1").replace("{topic}", topic).replace("{name}", "host")


async def test_every_route_but_a_guests_own_refuses_a_guest_with_401(
    server: TestServer, phone: Phone
) -> None:
    routes = server.app[REST_ROUTES].routes
    tried = 0
    for route in routes:
        if route.need is GUEST:
            continue
        topics = [str(t) for t in Topic] if "{topic}" in route.path else ["orders"]
        for topic in topics:
            path = concrete(route.path, topic)
            if path in GUEST_READS:
                continue
            body: Any = {} if route.method in ("POST", "PATCH") else None
            reply = await phone.call(route.method, path, body)
            assert reply.status == 401, (route.method, path, reply)
            tried += 1
    assert tried > len(routes)  # every topic of /api/{topic} too
    # Nothing a guest sent changed anything.
    assert db_rows(server, "SELECT COUNT(*) FROM orders")[0][0] == 1
    assert db_rows(server, "SELECT COUNT(*) FROM dining_tables")[0][0] == 1
    assert db_rows(server, "SELECT COUNT(*) FROM tasks")[0][0] == 0


async def test_a_guest_reads_the_menu_and_no_other_topic(
    api: Api, server: TestServer, phone: Phone
) -> None:
    await api.ok("POST", "/api/menu", {"name": "Tea", "price": 3000}, 201)
    menu = await phone.call("GET", "/api/menu")
    assert menu.status == 200 and [d["name"] for d in menu.body["items"]] == ["Tea"]
    async with phone.stream() as ws:  # its own stream opens
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    for topic in Topic:
        url = phone.url(f"/ws/{topic}")
        async with phone.session.ws_connect(url) as ws:
            if topic is Topic.MENU:
                first = await receive_json(ws)
                assert first["data"]["items"][0]["name"] == "Tea"
            else:
                assert await receive_close(ws) == 4401, topic


async def test_staff_tokens_and_strangers_do_not_open_the_guest_stream(
    server: TestServer, api: Api
) -> None:
    assert_error(await api.call("GET", "/api/guest"), 401, "unauthorized")
    async with aiohttp.ClientSession() as session:
        for token in (ADMIN, "floor-token-test", None):
            async with session.ws_connect(ws_url(server, "guest", token)) as ws:
                assert await receive_close(ws) == 4401
        cookie = {"Cookie": "robodyne_guest=forged-session-value"}
        async with session.ws_connect(server.make_url("/ws/guest"), headers=cookie) as ws:
            assert await receive_close(ws) == 4401
    for method, path in (("POST", "/api/guest/orders"), ("POST", "/api/guest/calls"),
                         ("POST", "/api/guest/orders/1/cancel")):
        assert_error(await api.call(method, path, {}), 401, "unauthorized")


async def test_a_guest_write_from_another_origin_is_refused_before_anything_is_read(
    api: Api, server: TestServer, phone: Phone
) -> None:
    dish = await api.ok("POST", "/api/menu", {"name": "Tea", "price": 3000}, 201)
    line = {"items": [{"menu_id": dish["id"], "qty": 1}]}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:1"}):
        reply = await phone.call("POST", "/api/guest/orders", line, headers=headers)
        assert_error(reply, 403, "forbidden", "cross-origin")
    reply = await phone.call("POST", "/api/guest/calls", {"kind": "water"},
                             headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"})
    assert_error(reply, 403, "forbidden")
    assert db_rows(server, "SELECT COUNT(*) FROM calls")[0][0] == 0


async def test_guests_sockets_count_by_table_and_never_against_the_staffs_topic_limit(
    make_server: MakeServer
) -> None:
    server = await make_server(websocket={"max_connections_per_topic": 2})
    async with aiohttp.ClientSession() as session:
        api = Api(session, server)
        table = await api.table()
        code = await table_code(session, server, table["id"])
        phones = [Phone(server) for _ in range(GUEST_SOCKETS_PER_TABLE // 2 + 1)]
        try:
            async with AsyncExitStack() as stack:
                for phone in phones[:-1]:  # two sockets a phone, each phone its own session
                    assert await phone.open(code) == 200
                    for topic in ("guest", "menu"):
                        ws = await stack.enter_async_context(
                            phone.session.ws_connect(phone.url(f"/ws/{topic}")))
                        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
                # The table's guests are at their limit, whatever new session they make ...
                assert await phones[-1].open(code) == 200
                async with phones[-1].stream() as ws:
                    assert await receive_close(ws) == 1008
                # ... and the staff's menu is theirs still (its limit is 2 clients).
                kitchen = await stack.enter_async_context(session.ws_connect(
                    ws_url(server, "menu", "kitchen-token-test")))
                assert (await receive_json(kitchen))["data"]["kind"] == "snapshot"
        finally:
            for phone in phones:
                await phone.close()


async def test_a_table_keeps_its_newest_sessions_only(server: TestServer, api: Api) -> None:
    table = await api.table()
    code = await table_code(api.session, server, table["id"])
    first = Phone(server)
    try:
        assert await first.open(code) == 200
        for _ in range(SESSIONS_PER_TABLE):
            async with aiohttp.ClientSession() as stranger:
                async with stranger.get(server.make_url(f"/t/{code}")) as page:
                    assert page.status == 200
        assert db_rows(server, "SELECT COUNT(*) FROM guest_sessions")[0][0] == SESSIONS_PER_TABLE
        assert_error(await first.call("GET", "/api/guest"), 401, "unauthorized")
    finally:
        await first.close()

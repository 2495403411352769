"""The handshake checks (docs/protocol.md): each close code in its own test, tokens and Origin."""

from __future__ import annotations

import aiohttp
import pytest


from ..support.server import MakeServer, receive_close, receive_json, ws_url, parts_of


async def test_unknown_topic_closes_1003(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, "menus")) as ws:
        assert await receive_close(ws) == 1003


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_missing_or_unknown_token_closes_4401(
    make_server: MakeServer, session: aiohttp.ClientSession, token: str | None
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, "orders", token=token)) as ws:
        assert await receive_close(ws) == 4401


async def test_unknown_topic_is_checked_before_the_token(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, "menus", token=None)) as ws:
        assert await receive_close(ws) == 1003


@pytest.mark.parametrize("token,topic", [
    ("kitchen-token-test", "robots"),
    ("kitchen-token-test", "systemlogs"),
    ("floor-token-test", "systemlogs"),
    ("maintenance-token-test", "orders"),
    ("robot-token-test", "robots"),
])
async def test_role_that_may_not_read_closes_4403(
    make_server: MakeServer, session: aiohttp.ClientSession, token: str, topic: str
) -> None:
    server = await make_server()
    async with session.ws_connect(ws_url(server, topic, token=token)) as ws:
        assert await receive_close(ws) == 4403


async def test_shutting_down_closes_1001(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    parts_of(server).websockets.shutting_down = True
    async with session.ws_connect(ws_url(server, "orders")) as ws:
        assert await receive_close(ws) == 1001


async def test_full_topic_closes_1008_and_frees_a_place_on_close(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"max_connections_per_topic": 2})
    first = await session.ws_connect(ws_url(server, "orders"))
    second = await session.ws_connect(ws_url(server, "orders"))
    for ws in (first, second):
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    async with session.ws_connect(ws_url(server, "orders")) as third:
        assert await receive_close(third) == 1008
    async with session.ws_connect(ws_url(server, "tables")) as other_topic:
        assert (await receive_json(other_topic))["data"]["kind"] == "snapshot"
    await first.close()
    async with session.ws_connect(ws_url(server, "orders")) as again:
        assert (await receive_json(again))["data"]["kind"] == "snapshot"
    await second.close()


async def test_token_from_bearer_header_and_cookie(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    headers = {"Authorization": "Bearer kitchen-token-test"}
    async with session.ws_connect(ws_url(server, "orders", token=None), headers=headers) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    cookies = {"robodyne_token": "kitchen-token-test"}
    async with aiohttp.ClientSession(cookies=cookies) as cookie_session:
        async with cookie_session.ws_connect(ws_url(server, "orders", token=None)) as ws:
            assert (await receive_json(ws))["data"]["kind"] == "snapshot"
        async with cookie_session.ws_connect(ws_url(server, "robots", token=None)) as ws:
            assert await receive_close(ws) == 4403


async def test_foreign_origin_is_refused_403_before_upgrade(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(auth={"allowed_origins": ["http://tablet.local:8080"]})
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(ws_url(server, "orders"), origin="http://evil.example")
    assert refused.value.status == 403
    own = f"http://{server.host}:{server.port}"
    for origin in (own, "http://tablet.local:8080"):
        async with session.ws_connect(ws_url(server, "orders"), origin=origin) as ws:
            assert (await receive_json(ws))["data"]["kind"] == "snapshot"


async def test_healthz(make_server: MakeServer, session: aiohttp.ClientSession) -> None:
    server = await make_server()
    async with session.get(server.make_url("/healthz")) as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}

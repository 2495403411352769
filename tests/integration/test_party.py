"""A waiting party's page session (SPEC §12.4, docs/protocol.md, "The party stream"): the link
sets its cookie, which opens GET /api/party and /ws/party and nothing else; its view moves
live with the parties ahead; the session ends when the party leaves, never comes, or sat down
10 minutes ago."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.topics import Topic
from robodyne.domain import party, party_views
from robodyne.web.needs import PARTY
from robodyne.web.routes import REST_ROUTES

from ..support.api_client import Api, assert_error
from ..support.guest_client import Phone, table_code
from ..support.party_client import PartyPhone, next_party_view
from ..support.server import ADMIN, db_rows, receive_close, receive_json, ws_url


async def join(api: Api, name: str, size: int = 2) -> dict[str, Any]:
    body: dict[str, Any] = await api.ok("POST", "/api/customers",
                                        {"name": name, "party_size": size}, 201)
    return body


@pytest.fixture
async def phones(server: TestServer) -> AsyncIterator[list[PartyPhone]]:
    made: list[PartyPhone] = []
    yield made
    for phone in made:
        await phone.close()


async def opened(server: TestServer, phones: list[PartyPhone], link: str) -> PartyPhone:
    phone = PartyPhone(server)
    phones.append(phone)
    assert await phone.open(link) == 200
    return phone


async def test_the_link_sets_a_strict_http_only_cookie_and_an_unknown_one_is_a_404_page(
    api: Api, server: TestServer
) -> None:
    kim = await join(api, "Kim")
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url(kim["link"])) as response:
            assert response.status == 200 and response.content_type == "text/html"
            cookie = response.cookies["robodyne_party"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert response.headers["Cache-Control"] == "no-store"
        async with session.get(server.make_url("/w/" + "x" * 22)) as response:
            assert response.status == 404 and "robodyne_party" not in response.cookies


async def test_the_party_reads_its_own_view(
    api: Api, server: TestServer, phones: list[PartyPhone]
) -> None:
    await api.table("T1", 2)
    await join(api, "Lee")
    kim = await join(api, "Kim", 2)
    phone = await opened(server, phones, kim["link"])
    reply = await phone.call("GET", "/api/party")
    assert reply.status == 200 and set(reply.body) == {"items", "seq", "epoch"}
    assert reply.body["items"] == [{
        "id": kim["id"], "name": "Kim", "party_size": 2, "status": "waiting", "position": 2,
        "quoted_wait_s": 0, "called_at": None, "table": None, "robot": None}]


async def test_the_view_moves_live_with_the_parties_ahead_and_its_own_changes(
    api: Api, server: TestServer, phones: list[PartyPhone]
) -> None:
    table = await api.table("T7", 4)
    lee = await join(api, "Lee")
    kim = await join(api, "Kim")
    phone = await opened(server, phones, kim["link"])
    async with phone.stream() as ws:
        snapshot = await receive_json(ws)
        assert snapshot["topic"] == "party" and snapshot["data"]["kind"] == "snapshot"
        assert snapshot["data"]["items"][0]["position"] == 2
        await api.ok("PATCH", f"/api/customers/{lee['id']}", {"status": "no_show"})
        _, view = await next_party_view(ws)
        assert view["position"] == 1
        await api.ok("POST", f"/api/customers/{kim['id']}/call")
        _, view = await next_party_view(ws)
        assert view["status"] == "called" and view["called_at"]
        await api.ok("POST", f"/api/customers/{kim['id']}/seat", {"table_id": table["id"]})
        while view["status"] != "seated":
            _, view = await next_party_view(ws)
        assert view["table"] == {"id": table["id"], "label": "T7"} and view["position"] is None
        assert view["robot"] is None


@pytest.mark.parametrize("status", ["left", "no_show"])
async def test_leaving_shows_the_final_view_then_ends_the_session(
    api: Api, server: TestServer, phones: list[PartyPhone], status: str
) -> None:
    kim = await join(api, "Kim")
    phone = await opened(server, phones, kim["link"])
    async with phone.stream() as ws:
        await receive_json(ws)
        await api.ok("PATCH", f"/api/customers/{kim['id']}", {"status": status})
        _, view = await next_party_view(ws)
        assert view["status"] == status
        assert await receive_close(ws) == 4401
    assert_error(await phone.call("GET", "/api/party"), 401, "unauthorized")
    async with phone.stream() as ws:
        assert await receive_close(ws) == 4401
    assert await phone.open(kim["link"]) == 404


async def test_a_seated_partys_session_ends_after_its_time(
    api: Api, server: TestServer, phones: list[PartyPhone], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(party, "SEATED_KEPT", timedelta(seconds=1))
    monkeypatch.setattr(party_views, "SWEEP_S", 0.1)
    table = await api.table("T1", 2)
    kim = await join(api, "Kim")
    phone = await opened(server, phones, kim["link"])
    async with phone.stream() as ws:
        await receive_json(ws)
        await api.ok("POST", f"/api/customers/{kim['id']}/seat", {"table_id": table["id"]})
        assert (await phone.view())["status"] == "seated"  # still open right after
        # By the sweep: its loop started with the server, its first sleep the full 5 s
        # before the test made SWEEP_S short.
        assert await receive_close(ws, timeout=10) == 4401
    assert_error(await phone.call("GET", "/api/party"), 401, "unauthorized")


async def test_every_route_and_topic_but_the_partys_own_refuses_its_cookie(
    api: Api, server: TestServer, phones: list[PartyPhone]
) -> None:
    table = await api.table("T1", 2)
    await api.order(table["id"])
    kim = await join(api, "Kim")
    phone = await opened(server, phones, kim["link"])
    routes = server.app[REST_ROUTES].routes
    tried = 0
    for route in routes:
        if route.need is PARTY:
            continue
        topics = [str(t) for t in Topic] if "{topic}" in route.path else ["orders"]
        for topic in topics:
            path = route.path.replace("{id}", str(kim["id"])).replace(
                "{topic}", topic).replace("{name}", "host")
            body: Any = {} if route.method in ("POST", "PATCH") else None
            reply = await phone.call(route.method, path, body)
            assert reply.status == 401, (route.method, path, reply)
            tried += 1
    assert tried > len(routes)
    for topic in [*Topic, "guest"]:
        async with phone.session.ws_connect(phone.url(f"/ws/{topic}")) as ws:
            assert await receive_close(ws) == 4401, topic
    # Nothing it sent changed anything.
    assert db_rows(server, "SELECT status FROM customers")[0][0] == "waiting"
    assert db_rows(server, "SELECT COUNT(*) FROM orders")[0][0] == 1


async def test_staff_tokens_guests_and_strangers_do_not_open_the_party_stream(
    api: Api, server: TestServer, phones: list[PartyPhone]
) -> None:
    table = await api.table("T1", 2)
    await join(api, "Kim")
    assert_error(await api.call("GET", "/api/party"), 401, "unauthorized")
    async with aiohttp.ClientSession() as session:
        for token in (ADMIN, "floor-token-test", None):
            async with session.ws_connect(ws_url(server, "party", token)) as ws:
                assert await receive_close(ws) == 4401
        forged = {"Cookie": "robodyne_party=" + "A" * 22}
        async with session.ws_connect(server.make_url("/ws/party"), headers=forged) as ws:
            assert await receive_close(ws) == 4401
    guest = Phone(server)
    try:
        assert await guest.open(await table_code(api.session, server, table["id"])) == 200
        assert_error(await guest.call("GET", "/api/party"), 401, "unauthorized")
        async with guest.session.ws_connect(guest.url("/ws/party")) as ws:
            assert await receive_close(ws) == 4401
    finally:
        await guest.close()

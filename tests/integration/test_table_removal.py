"""DELETE /api/tables/{id} (SPEC §13 "Floor"): a table taken off the floor through the REST
API, seen on the tables topic and in the SQLite file; refused with a party at it."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error
from ..support.guest_client import Phone, table_code
from ..support.server import db_rows, receive_json, ws_url


async def test_a_table_removed_is_gone_from_the_topic_the_file_and_its_link(
    api: Api, server: TestServer, session: aiohttp.ClientSession
) -> None:
    table = await api.table("Patio 1")
    code = await table_code(session, server, table["id"])
    async with session.ws_connect(ws_url(server, "tables")) as ws:
        await receive_json(ws)  # the snapshot
        reply = await api.call("DELETE", f"/api/tables/{table['id']}")
        assert reply.status == 204
        update = await receive_json(ws)
        assert update["data"] == {"kind": "delete", "items": [], "ids": [table["id"]]}
    assert db_rows(server, "SELECT count(*) FROM dining_tables")[0][0] == 0
    assert db_rows(server, "SELECT count(*) FROM table_links")[0][0] == 0
    assert (await api.ok("GET", "/api/tables"))["items"] == []
    # Its printed card opens nothing now.
    phone = Phone(server)
    try:
        assert await phone.open(code) == 404
    finally:
        await phone.close()
    assert_error(await api.call("DELETE", f"/api/tables/{table['id']}"), 404, "not_found",
                 names=str(table["id"]))


async def test_a_phone_of_a_removed_table_never_opens_the_next_table_given_its_id(
    api: Api, server: TestServer, session: aiohttp.ClientSession
) -> None:
    table = await api.table("T9")
    phone = Phone(server)
    try:
        visit = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
        assert await phone.open(await table_code(session, server, table["id"])) == 200
        await api.ok("POST", f"/api/visits/{visit['id']}/close")
        assert (await api.call("DELETE", f"/api/tables/{table['id']}")).status == 204
        again = await api.table("T10")
        assert again["id"] == table["id"]  # SQLite gave the id again
        assert db_rows(server, "SELECT count(*) FROM guest_sessions")[0][0] == 0
        assert (await phone.call("GET", "/api/guest")).status == 401
    finally:
        await phone.close()


async def test_a_table_with_an_open_visit_is_refused_and_kept(
    api: Api, server: TestServer
) -> None:
    table = await api.table("T1")
    await api.ok("POST", "/api/visits", {"table_id": table["id"], "party_size": 2}, 201)
    message = assert_error(await api.call("DELETE", f"/api/tables/{table['id']}"), 409,
                           "conflict", names="open visit")
    assert str(table["id"]) in message
    assert [row[0] for row in db_rows(server, "SELECT label FROM dining_tables")] == ["T1"]


async def test_only_the_admin_removes_a_table(api: Api, server: TestServer) -> None:
    table = await api.table("T1")
    for role in ("floor", "kitchen", "maintenance"):
        assert_error(await api.call("DELETE", f"/api/tables/{table['id']}",
                                    token=f"{role}-token-test"), 403, "forbidden",
                     names="floor_plan")
    assert_error(await api.call("DELETE", f"/api/tables/{table['id']}", token=None), 401,
                 "unauthorized")
    assert_error(await api.call("DELETE", "/api/tables/abc"), 404, "not_found")
    assert db_rows(server, "SELECT count(*) FROM dining_tables")[0][0] == 1

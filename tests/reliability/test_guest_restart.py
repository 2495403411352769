"""A guest rides through a killed server (SPEC §11.3, docs/guests.md): the session's cookie
still opens its table's stream after `kill -9` and a start, with the order placed before, and
the next order joins the same visit."""

from __future__ import annotations

from typing import Any

import aiohttp

from ..support.guest_client import Phone, next_view
from ..support.reliability import AUTH, RestartableServer
from ..support.server import receive_json


async def admin(session: aiohttp.ClientSession, server: RestartableServer, method: str,
                path: str, body: Any = None) -> Any:
    async with session.request(method, f"{server.base_url}{path}", json=body,
                               headers=AUTH) as reply:
        assert reply.status in (200, 201), await reply.text()
        return await reply.json()


async def test_a_guest_session_and_its_visit_survive_kill_9(
    server: RestartableServer, session: aiohttp.ClientSession
) -> None:
    await server.start()
    table = await admin(session, server, "POST", "/api/tables", {"label": "T1", "seats": 2})
    dish = await admin(session, server, "POST", "/api/menu", {"name": "Tea", "price": 3000})
    link = await admin(session, server, "GET", f"/api/tables/{table['id']}/link")
    phone = Phone(server.base_url)
    try:
        assert await phone.open(link["code"]) == 200
        placed = await phone.order({"menu_id": dish["id"], "qty": 1})
        assert placed.status == 201, placed
        await server.kill_9()
        await server.start()
        async with phone.stream() as ws:
            snapshot = await receive_json(ws)
            [view] = snapshot["data"]["items"]
            assert [order["id"] for order in view["orders"]] == [placed.body["id"]]
            assert view["visit"]["id"] == placed.body["visit_id"]
            again = await phone.order({"menu_id": dish["id"], "qty": 2})
            assert again.status == 201 and again.body["visit_id"] == placed.body["visit_id"]
            while True:
                _, view = await next_view(ws)
                if len(view["orders"]) == 2 and view["check"]["total"] == 9000:
                    break
    finally:
        await phone.close()

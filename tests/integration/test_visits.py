"""Visits through the real server (SPEC §12.1): POST /api/visits and its refusals, staff orders
opening and joining visits, the visits topic live over /ws/visits with its check, who may read
and write them, and an Idempotency-Key retry."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, already_sent, assert_error, subscribed
from ..support.browser import place_order
from ..support.server import db_rows, receive_close, receive_json, ws_url

FLOOR, KITCHEN, MAINTENANCE = "floor-token-test", "kitchen-token-test", "maintenance-token-test"


async def _dishes(api: Api) -> None:
    await api.ok("POST", "/api/menu", {"name": "Bibimbap", "price": 11000}, 201)
    await api.ok("POST", "/api/menu", {"name": "Kimchi", "price": 3000}, 201)


async def _order(api: Api, table_id: int, *lines: tuple[str, int]) -> dict[str, Any]:
    """A floor tablet's order for the table."""
    return await place_order(api.session, api.server, table_id, list(lines), token=FLOOR)


async def test_seating_a_party_is_committed_and_broadcast_on_visits_and_tables(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table("T5")
    async with subscribed(session, server, "visits", "tables", token=FLOOR) as (visits, tables):
        visit = await api.ok("POST", "/api/visits", {"table_id": table["id"], "party_size": 4},
                             201, token=FLOOR)
        assert (await already_sent(visits))["data"] == {"kind": "upsert", "items": [visit]}
        occupied = (await already_sent(tables))["data"]["items"][0]
    assert set(visit) == {"id", "table_id", "customer_id", "party_size", "status", "opened_at",
                          "closed_at", "order_ids", "check", "payments"}
    assert (visit["table_id"], visit["party_size"], visit["customer_id"], visit["status"],
            visit["order_ids"], visit["payments"]) == (table["id"], 4, None, "open", [], [])
    assert visit["check"] == {"lines": [], "subtotal": 0, "service_charge": 0, "tax": 0,
                              "total": 0, "paid": 0, "due": 0, "currency": "KRW"}
    assert (occupied["id"], occupied["status"]) == (table["id"], "occupied")
    [row] = db_rows(server, "SELECT table_id, party_size, status FROM visits")
    assert tuple(row) == (table["id"], 4, "open")
    got = await api.ok("GET", "/api/visits", token=FLOOR)
    assert got["items"] == [visit] and set(got) == {"items", "seq", "epoch"}


async def test_a_second_visit_on_a_table_is_409_and_out_of_service_is_table_closed(
    server: TestServer, api: Api
) -> None:
    table = await api.table("T1")
    await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
    assert_error(await api.call("POST", "/api/visits", {"table_id": table["id"]}), 409,
                 "conflict", names="open visit")
    broken = await api.table("T2")
    await api.ok("PATCH", f"/api/tables/{broken['id']}", {"status": "out_of_service"})
    assert_error(await api.call("POST", "/api/visits", {"table_id": broken["id"]}), 409,
                 "table_closed", names="out_of_service")
    assert_error(await api.call("POST", "/api/orders", {
        "table_id": broken["id"], "items": [{"name": "Soup"}]}), 409, "table_closed")
    assert db_rows(server, "SELECT count(*) FROM visits")[0][0] == 1
    assert db_rows(server, "SELECT count(*) FROM orders")[0][0] == 0


async def test_a_body_naming_nothing_or_out_of_range_is_400_and_writes_nothing(
    server: TestServer, api: Api
) -> None:
    table = await api.table()
    for body, names in (({"table_id": 9999}, "table_id"),
                        ({"table_id": table["id"], "customer_id": 9999}, "customer_id"),
                        ({"table_id": table["id"], "party_size": 0}, "party_size"),
                        ({"table_id": table["id"], "party_size": "four"}, "party_size"),
                        ({"party_size": 2}, "table_id"),
                        ({"table_id": table["id"], "colour": "red"}, "colour")):
        assert_error(await api.call("POST", "/api/visits", body), 400, "validation_error",
                     names=names)
    assert db_rows(server, "SELECT count(*) FROM visits")[0][0] == 0
    assert (await api.ok("GET", "/api/tables"))["items"][0]["status"] == "available"


async def test_visits_are_read_and_written_by_admin_and_floor_only(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    for token in (KITCHEN, MAINTENANCE, "robot-token-test"):
        assert_error(await api.call("GET", "/api/visits", token=token), 403, "forbidden")
        assert_error(await api.call("POST", "/api/visits", {"table_id": table["id"]},
                                    token=token), 403, "forbidden")
        async with session.ws_connect(ws_url(server, "visits", token)) as ws:
            assert await receive_close(ws) == 4403
    assert_error(await api.call("POST", "/api/visits", {"table_id": table["id"]}, token=None),
                 401, "unauthorized")
    assert db_rows(server, "SELECT count(*) FROM visits")[0][0] == 0
    for token in ("admin-token-test", FLOOR):
        assert (await api.ok("GET", "/api/visits", token=token))["items"] == []


async def test_staff_orders_open_a_visit_join_it_and_its_check_follows_them_live(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    await _dishes(api)
    table = await api.table("T5")
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "needs_cleaning"})
    async with subscribed(session, server, "visits", token=FLOOR) as (visits,):
        first = await _order(api, table["id"], ("Bibimbap", 2))
        opened = (await already_sent(visits))["data"]["items"][0]
        listed = (await already_sent(visits))["data"]["items"][0]
        assert (opened["party_size"], opened["order_ids"]) == (None, [])
        assert first["visit_id"] == opened["id"] == listed["id"]
        assert listed["order_ids"] == [first["id"]]
        assert listed["check"] == {
            "lines": [{"order_id": first["id"], "index": 0, "name": "Bibimbap", "qty": 2,
                       "price": 11000, "amount": 22000}],
            "subtotal": 22000, "service_charge": 0, "tax": 2000, "total": 22000, "paid": 0,
            "due": 22000, "currency": "KRW"}

        second = await _order(api, table["id"], ("Kimchi", 1))
        assert second["visit_id"] == opened["id"]
        joined = (await already_sent(visits))["data"]["items"][0]
        assert joined["order_ids"] == [first["id"], second["id"]]
        assert (joined["check"]["total"], joined["check"]["tax"]) == (25000, 2273)

        await api.move(second["id"], "cancelled")
        cancelled = (await already_sent(visits))["data"]["items"][0]
        assert cancelled["order_ids"] == [first["id"], second["id"]]
        assert (cancelled["check"]["total"], cancelled["check"]["due"]) == (22000, 22000)
        assert [line["order_id"] for line in cancelled["check"]["lines"]] == [first["id"]]
    assert (await api.ok("GET", "/api/tables"))["items"][0]["status"] == "occupied"
    assert (await api.ok("GET", "/api/visits"))["items"] == [cancelled]
    [row] = db_rows(server, "SELECT visit_id FROM orders WHERE id = ?", second["id"])
    assert row[0] == opened["id"]


async def test_a_subscriber_gets_the_open_visits_in_its_snapshot(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    visit = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
    async with session.ws_connect(ws_url(server, "visits", FLOOR)) as ws:
        snapshot = await receive_json(ws)
    assert (snapshot["topic"], snapshot["data"]["kind"], snapshot["data"]["items"]) == (
        "visits", "snapshot", [visit])


async def test_a_retry_with_its_idempotency_key_gets_the_first_visit(
    server: TestServer, api: Api
) -> None:
    table = await api.table()
    headers = {"Idempotency-Key": "seat-t1-once"}
    first = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201, headers=headers)
    again = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201, headers=headers)
    assert again == first
    assert db_rows(server, "SELECT count(*) FROM visits")[0][0] == 1

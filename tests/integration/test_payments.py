"""Payments and closing a visit, through HTTP (SPEC §12.3, docs/api.md "Payments"): recorded
payments up to what is owed, the split that adds up, closing against the check, the table
left to clean and bussed, and staff unable to free a table that still owes."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error
from ..support.guest_client import Phone, table_code
from ..support.refusal import refused_from
from ..support.server import MakeServer, db_rows, store_of


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


async def owing(api: Api, total_of: int = 22000) -> tuple[dict[str, Any], dict[str, Any]]:
    """A table with a visit owing `total_of` (one dish at that price)."""
    table = await api.table()
    dish = await api.ok("POST", "/api/menu", {"name": "Galbi", "price": total_of}, 201)
    order = await api.ok("POST", "/api/orders", {"table_id": table["id"],
                                                 "items": [{"menu_id": dish["id"]}]}, 201)
    visit = await api.ok("GET", "/api/visits")
    [held] = [v for v in visit["items"] if v["id"] == order["visit_id"]]
    assert held["check"]["due"] == total_of
    return table, held


async def test_payments_up_to_what_is_owed_and_the_check_follows(
    server: TestServer, api: Api
) -> None:
    _, visit = await owing(api)
    first = await api.ok("POST", f"/api/visits/{visit['id']}/payments",
                         {"amount": 10000, "method": "cash"}, 201)
    assert (first["amount"], first["method"], first["reference"]) == (10000, "cash", "")
    assert first["id"] and first["created_at"]
    assert_error(await api.call("POST", f"/api/visits/{visit['id']}/payments",
                                {"amount": 12001, "method": "card"}), 409, "overpaid", "12000")
    for bad in ({"amount": 0, "method": "cash"}, {"amount": 5, "method": "bitcoin"},
                {"amount": 5}, {"amount": 5, "method": "card", "reference": "x" * 101},
                {"amount": 5, "method": "card", "tip": 1}):
        assert_error(await api.call("POST", f"/api/visits/{visit['id']}/payments", bad),
                     400, "validation_error")
    assert_error(await api.call("POST", "/api/visits/999/payments",
                                {"amount": 1, "method": "cash"}), 404, "not_found")
    assert_error(await api.call("POST", f"/api/visits/{visit['id']}/payments",
                                {"amount": 1, "method": "cash"}, token="kitchen-token-test"),
                 403, "forbidden")
    second = await api.ok("POST", f"/api/visits/{visit['id']}/payments",
                          {"amount": 12000, "method": "card", "reference": "slip 0042"},
                          token="floor-token-test", status=201)
    [now] = [v for v in (await api.ok("GET", "/api/visits"))["items"] if v["id"] == visit["id"]]
    assert [p["id"] for p in now["payments"]] == [first["id"], second["id"]]
    assert now["payments"][1]["reference"] == "slip 0042"
    assert (now["check"]["paid"], now["check"]["due"]) == (22000, 0)
    assert_error(await api.call("POST", f"/api/visits/{visit['id']}/payments",
                                {"amount": 1, "method": "cash"}), 409, "overpaid")


async def test_a_retried_payment_with_its_key_is_recorded_once(
    server: TestServer, api: Api
) -> None:
    _, visit = await owing(api)
    path = f"/api/visits/{visit['id']}/payments"
    body = {"amount": 5000, "method": "card"}
    first = await api.call("POST", path, body, headers={"Idempotency-Key": "pay-1"})
    again = await api.call("POST", path, body, headers={"Idempotency-Key": "pay-1"})
    assert first.status == again.status == 201 and first.body == again.body
    assert db_rows(server, "SELECT COUNT(*) FROM payments")[0][0] == 1


async def test_a_split_adds_up_to_the_due_exactly(server: TestServer, api: Api) -> None:
    _, visit = await owing(api)
    split = await api.ok("GET", f"/api/visits/{visit['id']}/split?ways=3")
    assert split == {"shares": [7334, 7333, 7333]}
    await api.ok("POST", f"/api/visits/{visit['id']}/payments",
                 {"amount": 1001, "method": "cash"}, 201)
    for ways in range(2, 21):
        shares = (await api.ok("GET", f"/api/visits/{visit['id']}/split?ways={ways}"))["shares"]
        assert len(shares) == ways and sum(shares) == 20999 and max(shares) - min(shares) <= 1
    for bad in ("1", "21", "abc", "", "٣"):
        assert_error(await api.call("GET", f"/api/visits/{visit['id']}/split?ways={bad}"), 400,
                     "validation_error", "ways")
    assert_error(await api.call("GET", "/api/visits/999/split?ways=2"), 404, "not_found")
    assert_error(await api.call("GET", f"/api/visits/{visit['id']}/split?ways=2",
                                token="kitchen-token-test"), 403, "forbidden")


async def test_closing_needs_the_check_paid_and_leaves_the_table_to_clean_and_bus(
    server: TestServer, api: Api
) -> None:
    table, visit = await owing(api)
    phone = Phone(server)
    try:
        assert await phone.open(await table_code(api.session, server, table["id"])) == 200
        assert (await phone.call("POST", "/api/guest/calls", {"kind": "water"})).status == 201
        assert_error(await api.call("POST", f"/api/visits/{visit['id']}/close"), 409,
                     "check_open", "22000")
        await api.ok("POST", f"/api/visits/{visit['id']}/payments",
                     {"amount": 22000, "method": "card"}, 201)
        closed = await api.ok("POST", f"/api/visits/{visit['id']}/close",
                              token="floor-token-test")
        assert closed["status"] == "closed" and closed["closed_at"]
        assert closed["check"]["paid"] == 22000
        tables = (await api.ok("GET", "/api/tables"))["items"]
        assert [t["status"] for t in tables if t["id"] == table["id"]] == ["needs_cleaning"]
        calls = (await api.ok("GET", "/api/calls"))["items"]
        assert [c["status"] for c in calls] == ["cancelled"]
        tasks = (await api.ok("GET", "/api/tasks"))["items"]
        assert [(t["kind"], t["source"], t["stops"][0]["table_id"]) for t in tasks] == [
            ("bus", "auto", table["id"])]
        assert_error(await phone.call("POST", "/api/guest/calls", {"kind": "water"}), 403,
                     "visit_closed")
        assert_error(await api.call("POST", f"/api/visits/{visit['id']}/close"), 409,
                     "conflict")
        assert_error(await api.call("POST", f"/api/visits/{visit['id']}/payments",
                                    {"amount": 1, "method": "cash"}), 409, "conflict")
    finally:
        await phone.close()


async def test_a_visit_that_cost_nothing_closes_and_bussing_can_be_off(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(dispatch={"bus_on_close": False})
    api = Api(session, server)
    table = await api.table()
    visit = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
    closed = await api.ok("POST", f"/api/visits/{visit['id']}/close")
    assert closed["status"] == "closed"
    assert (await api.ok("GET", "/api/tasks"))["items"] == []


async def test_staff_cannot_free_a_table_that_owes_and_only_a_dirty_one_is_bussed(
    server: TestServer, api: Api
) -> None:
    table, visit = await owing(api)
    for status in ("available", "needs_cleaning"):
        assert_error(await api.call("PATCH", f"/api/tables/{table['id']}", {"status": status}),
                     409, "check_open")
    tables = (await api.ok("GET", "/api/tables"))["items"]
    assert [t["status"] for t in tables] == ["occupied"]
    await api.ok("POST", f"/api/visits/{visit['id']}/payments",
                 {"amount": 22000, "method": "cash"}, 201)
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "available"})
    assert (await api.ok("GET", "/api/tasks"))["items"] == []  # a table left clean: no bus
    second = await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "needs_cleaning"})
    [bus] = (await api.ok("GET", "/api/tasks"))["items"]
    assert bus["kind"] == "bus" and second["id"] != visit["id"]


async def test_a_payment_answered_503_after_its_commit_is_not_paid_again_by_its_retry(
    server: TestServer, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payment is committed, then the database refuses the check's save (SQLite refusing
    for real: query_only from that write on): 503. The retry under the same key gets that
    payment, and a new key cannot pay what is already paid."""
    _, visit = await owing(api)
    path, full = f"/api/visits/{visit['id']}/payments", {"amount": 22000, "method": "card"}
    key = {"Idempotency-Key": "pay-once"}
    async with refused_from(store_of(server), monkeypatch, "update_visit"):
        assert_error(await api.call("POST", path, full, headers=key), 503, "unavailable")
    [paid] = db_rows(server, "SELECT id, amount FROM payments")
    again = await api.call("POST", path, full, headers=key)
    assert (again.status, again.body["id"], again.body["amount"]) == (201, paid["id"], 22000)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert_error(await api.call("POST", path, full, headers={"Idempotency-Key": "another"}),
                 409, "overpaid", "owes 0")
    assert len(db_rows(server, "SELECT id FROM payments")) == 1

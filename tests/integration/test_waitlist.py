"""The waitlist through real HTTP (SPEC §12.4, docs/api.md, "Waitlist"): a party joins with a
quote and its page's link, is called, seated with a new visit, or leaves or never comes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import PARTS
from robodyne.core import orders
from robodyne.core.links import CODE_PATTERN
from robodyne.core.models import iso

from ..support.api_client import Api, assert_error
from ..support.server import db_rows, db_write, receive_json, ws_url

FLOOR = "floor-token-test"
KITCHEN = "kitchen-token-test"


async def join(api: Api, name: str = "Kim", size: int = 2, **extra: object) -> dict[str, object]:
    body: dict[str, object] = await api.ok(
        "POST", "/api/customers", {"name": name, "party_size": size, **extra}, 201)
    return body


async def test_a_party_joins_waiting_with_a_quote_and_its_own_link(
    api: Api, server: TestServer
) -> None:
    await api.table("T1", 2)
    party = await join(api, phone="010-1234", note="high chair")
    assert party["status"] == "waiting" and party["note"] == "high chair"
    assert party["quoted_wait_s"] == 0  # a fitting table is free now
    link = str(party["link"])
    assert link.startswith("/w/") and CODE_PATTERN.fullmatch(link[3:])
    for field in ("called_at", "seated_at", "visit_id", "table_id"):
        assert party[field] is None
    listed = (await api.ok("GET", "/api/customers"))["items"]
    assert listed == [party]  # the link is on the (staff-only) item


async def test_the_quote_counts_the_parties_ahead_and_the_tables_visits(
    api: Api, server: TestServer
) -> None:
    table = await api.table("T1", 4)
    await api.ok("POST", "/api/visits", {"table_id": table["id"], "party_size": 4}, 201)
    # The visit opened 30 minutes ago; with no history the turn is 45 minutes.
    db_write(server, "UPDATE visits SET opened_at = ?",
             iso(datetime.now(timezone.utc) - timedelta(minutes=30)))
    first = await join(api, "Kim", 2)
    assert 14 * 60 <= int(str(first["quoted_wait_s"])) <= 15 * 60
    second = await join(api, "Lee", 3)  # behind Kim: the table's next turn
    assert 59 * 60 <= int(str(second["quoted_wait_s"])) <= 60 * 60
    too_big = await join(api, "Park", 9)
    assert too_big["quoted_wait_s"] is None  # no table seats nine


async def test_a_called_party_is_seated_with_a_new_visit_at_a_free_table(
    api: Api, server: TestServer
) -> None:
    table = await api.table("T5", 4)
    party = await join(api, "Kim", 3)
    called = await api.ok("POST", f"/api/customers/{party['id']}/call", token=FLOOR)
    assert called["status"] == "called" and called["called_at"]
    seated = await api.ok("POST", f"/api/customers/{party['id']}/seat",
                          {"table_id": table["id"]}, token=FLOOR)
    assert seated["status"] == "seated" and seated["seated_at"]
    assert seated["table_id"] == table["id"]
    visit = await api.ok("GET", "/api/visits")
    [opened] = visit["items"]
    assert seated["visit_id"] == opened["id"]
    assert (opened["party_size"], opened["customer_id"], opened["status"]) == (
        3, party["id"], "open")
    tables = (await api.ok("GET", "/api/tables"))["items"]
    assert (tables[0]["status"], tables[0]["customer_id"]) == ("occupied", party["id"])
    # Seated already: neither called nor seated again.
    assert_error(await api.call("POST", f"/api/customers/{party['id']}/call"), 409, "conflict")
    other = await api.table("T6", 4)
    assert_error(await api.call("POST", f"/api/customers/{party['id']}/seat",
                                {"table_id": other["id"]}), 409, "conflict")


async def test_a_table_that_is_not_available_is_refused_and_nothing_changes(
    api: Api, server: TestServer
) -> None:
    busy = await api.table("T1", 4)
    await api.ok("POST", "/api/visits", {"table_id": busy["id"]}, 201)
    dirty = await api.table("T2", 4)
    await api.ok("PATCH", f"/api/tables/{dirty['id']}", {"status": "needs_cleaning"})
    party = await join(api)
    for table in (busy, dirty):
        reply = await api.call("POST", f"/api/customers/{party['id']}/seat",
                               {"table_id": table["id"]})
        assert_error(reply, 409, "conflict")
    assert_error(await api.call("POST", f"/api/customers/{party['id']}/seat",
                                {"table_id": 999}), 400, "validation_error")
    assert_error(await api.call("POST", "/api/customers/999/seat", {"table_id": busy["id"]}),
                 404, "not_found")
    assert db_rows(server, "SELECT status FROM customers")[0][0] == "waiting"
    assert db_rows(server, "SELECT COUNT(*) FROM visits")[0][0] == 1


async def test_a_party_leaves_or_never_comes(api: Api, server: TestServer) -> None:
    gone = await join(api, "Kim")
    missing = await join(api, "Lee")
    left = await api.ok("PATCH", f"/api/customers/{gone['id']}", {"status": "left"})
    assert left["status"] == "left"
    no_show = await api.ok("PATCH", f"/api/customers/{missing['id']}", {"status": "no_show"},
                           token=FLOOR)
    assert no_show["status"] == "no_show"
    assert_error(await api.call("POST", f"/api/customers/{missing['id']}/call"), 409,
                 "conflict")


async def test_the_waitlist_is_admin_and_floor_only(api: Api, server: TestServer) -> None:
    party = await join(api)
    for method, path, body in (("POST", "/api/customers", {"name": "X", "party_size": 2}),
                               ("POST", f"/api/customers/{party['id']}/call", None),
                               ("POST", f"/api/customers/{party['id']}/seat", {"table_id": 1}),
                               ("PATCH", f"/api/customers/{party['id']}", {"status": "left"})):
        assert_error(await api.call(method, path, body, token=KITCHEN), 403, "forbidden")


async def test_every_change_is_on_the_customers_topic(api: Api, server: TestServer) -> None:
    table = await api.table("T1", 2)
    async with api.session.ws_connect(ws_url(server, "customers")) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
        party = await join(api)
        assert (await receive_json(ws))["data"]["items"][0]["status"] == "waiting"
        await api.ok("POST", f"/api/customers/{party['id']}/call")
        assert (await receive_json(ws))["data"]["items"][0]["status"] == "called"
        await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table["id"]})
        while True:
            item = (await receive_json(ws))["data"]["items"][0]
            if item["status"] == "seated":
                break
        assert item["visit_id"] is not None and item["link"] == party["link"]


async def test_the_snapshot_keeps_parties_in_line_and_others_for_the_closed_window(
    api: Api, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    kim = await join(api, "Kim")
    lee = await join(api, "Lee")
    await api.ok("POST", f"/api/customers/{kim['id']}/call")
    left = await api.ok("PATCH", f"/api/customers/{lee['id']}", {"status": "left"})
    assert left["updated_at"] > lee["updated_at"]
    names = [item["name"] for item in (await api.ok("GET", "/api/customers"))["items"]]
    assert names == ["Kim", "Lee"]
    # The window (an hour) made a second: Lee, out of line, has left the snapshot, Kim stays.
    monkeypatch.setattr(orders, "CLOSED_ORDER_WINDOW_S", 1)
    await asyncio.sleep(1.1)
    names = [item["name"] for item in (await api.ok("GET", "/api/customers"))["items"]]
    assert names == ["Kim"]
    assert [c.name for c in await server.app[PARTS].store.customers()] == ["Kim"]


async def test_a_customer_recorded_seated_is_not_in_line_and_has_no_link(
    api: Api, server: TestServer
) -> None:
    table = await api.table("T1", 4)
    seated = await join(api, "Kim", 2, status="seated", table_id=table["id"])
    assert seated["status"] == "seated" and seated["seated_at"]
    assert seated["link"] is None and seated["quoted_wait_s"] is None
    tables = (await api.ok("GET", "/api/tables"))["items"]
    assert (tables[0]["status"], tables[0]["customer_id"]) == ("occupied", seated["id"])

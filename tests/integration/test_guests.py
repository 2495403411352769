"""A guest at a table, through real HTTP and WebSocket clients (SPEC §11.3–§11.5,
docs/guests.md): the session a table link makes, the guest stream, orders with their limits,
cancels, calls, and the ends of a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error
from ..support.guest_client import Phone, next_view, table_code, view_until
from ..support.server import MakeServer, db_rows, db_write, events_of, receive_close, receive_json
from ..support.wait import until

DISHES = [
    {"name": "Bibimbap", "price": 11000, "names": {"ko": "비빔밥", "en": "Bibimbap"},
     "options": [{"name": "Extra egg", "price": 1000}]},
    {"name": "Tea", "price": 3000, "names": {"ja": "お茶"}},
]


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


@pytest.fixture
async def phones(server: TestServer) -> AsyncIterator[list[Phone]]:
    """Phones made by the test, closed after it."""
    made: list[Phone] = []
    yield made
    for phone in made:
        await phone.close()


@pytest.fixture
async def menu(api: Api) -> dict[str, int]:
    """The dishes' ids by name."""
    return {dish["name"]: (await api.ok("POST", "/api/menu", dish, 201))["id"]
            for dish in DISHES}


async def seated(api: Api, server: TestServer, phones: list[Phone], label: str = "T1",
                 **table: Any) -> tuple[dict[str, Any], Phone]:
    """A table and a phone that opened its link."""
    made = await api.ok("POST", "/api/tables", {"label": label, "seats": 4, **table}, 201)
    phone = Phone(server)
    phones.append(phone)
    assert await phone.open(await table_code(api.session, server, made["id"])) == 200
    return made, phone


async def test_a_link_makes_a_session_of_its_table_and_a_guest_order_reaches_the_kitchen(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    table, phone = await seated(api, server, phones)
    assert phone.cookie  # HttpOnly, so only the jar sees it
    view = await phone.view()
    assert view["table"] == {"id": table["id"], "label": "T1"}
    assert view["visit"] is None and view["check"] is None and view["orders"] == []
    async with aiohttp.ClientSession() as kitchen_session:
        async with kitchen_session.ws_connect(
                server.make_url("/ws/orders").with_query(token="kitchen-token-test")) as kitchen:
            assert (await receive_json(kitchen))["data"]["kind"] == "snapshot"
            reply = await phone.order(
                {"menu_id": menu["Bibimbap"], "qty": 2, "options": ["extra EGG"],
                 "note": "no chilli"}, {"menu_id": menu["Tea"], "qty": 1})
            assert reply.status == 201, reply
            order = reply.body
            assert order["source"] == "guest" and order["table_id"] == table["id"]
            assert [(i["name"], i["price"], i["options"]) for i in order["items"]] == [
                ("Bibimbap", 12000, ["Extra egg"]), ("Tea", 3000, [])]
            assert order["total"] == 2 * 12000 + 3000 and order["visit_id"] is not None
            seen = await receive_json(kitchen)
            assert seen["data"]["items"][0]["id"] == order["id"]
    view = await phone.view()
    assert view["visit"]["id"] == order["visit_id"] and view["visit"]["status"] == "open"
    assert [o["id"] for o in view["orders"]] == [order["id"]]
    assert view["orders"][0]["items"][0]["names"] == {"ko": "비빔밥", "en": "Bibimbap"}
    assert view["check"] == {"total": 27000, "paid": 0, "due": 27000, "currency": "KRW"}
    assert events_of(server, "order_placed")
    table_now = await api.ok("GET", "/api/tables")
    assert table_now["items"][0]["status"] == "occupied"


async def test_an_unknown_or_malformed_code_is_a_404_page_and_makes_no_session(
    server: TestServer, phones: list[Phone]
) -> None:
    phone = Phone(server)
    phones.append(phone)
    for code in ("A" * 22, "short", "x" * 200, "%3Cscript%3E"):
        assert await phone.open(code) == 404
    assert phone.cookie is None
    assert db_rows(server, "SELECT COUNT(*) FROM guest_sessions")[0][0] == 0


async def test_every_limit_of_a_guest_order_is_refused_and_costs_nothing(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    _, phone = await seated(api, server, phones)
    dish = menu["Bibimbap"]
    refusals = [
        ({"menu_id": dish, "qty": 0}, 400, "validation_error"),
        ({"menu_id": dish, "qty": 21}, 400, "validation_error"),
        ({"menu_id": dish, "qty": 1, "note": "x" * 141}, 400, "validation_error"),
        ({"menu_id": dish, "qty": 1, "note": "bidi \u202e"}, 400, "validation_error"),
        ({"menu_id": 999, "qty": 1}, 400, "validation_error"),
        ({"menu_id": dish, "qty": 1, "options": ["Truffle"]}, 400, "validation_error"),
        ({"name": "Lobster", "qty": 1}, 400, "validation_error"),
        ({"menu_id": dish, "qty": 1, "price": 0}, 400, "validation_error"),
    ]
    for item, status, code in refusals:
        assert_error(await phone.order(item), status, code)
    too_many = [{"menu_id": dish, "qty": 1}] * 21
    assert_error(await phone.order(*too_many), 400, "validation_error", "at most 20")
    assert_error(await phone.order({"menu_id": dish, "qty": 1}, note="n" * 141), 400,
                 "validation_error")
    await api.ok("PATCH", f"/api/menu/{menu['Tea']}", {"available": False})
    assert_error(await phone.order({"menu_id": menu["Tea"], "qty": 1}), 409, "conflict", "Tea")
    assert db_rows(server, "SELECT COUNT(*) FROM orders")[0][0] == 0
    assert (await phone.order(*[{"menu_id": dish, "qty": 20}] * 20)).status == 201


async def test_the_rate_holds_per_visit_across_phones_and_new_sessions(
    make_server: MakeServer, phones: list[Phone]
) -> None:
    server = await make_server(guest={"max_orders_per_10min": 3})
    async with aiohttp.ClientSession() as session:
        api = Api(session, server)
        dish = (await api.ok("POST", "/api/menu", DISHES[1], 201))["id"]
        table, first = await seated(api, server, phones)
        code = await table_code(session, server, table["id"])
        second = Phone(server)
        phones.append(second)
        assert await second.open(code) == 200
        line = {"menu_id": dish, "qty": 1}
        assert (await first.order(line)).status == 201
        assert (await second.order(line)).status == 201
        # Staff orders do not count.
        await api.ok("POST", "/api/orders", {"table_id": table["id"],
                                             "items": [{"name": "Tea"}]}, 201)
        assert (await first.order(line)).status == 201
        assert_error(await second.order(line), 429, "rate_limited")
        third = Phone(server)  # a new session of the same visit
        phones.append(third)
        assert await third.open(code) == 200
        assert_error(await third.order(line, key="later"), 429, "rate_limited")
        # An order placed well over ten minutes ago no longer counts; the refused cart, sent
        # again with its key, is placed (a 429 is not the key's answer for good).
        db_write(server, "UPDATE orders SET created_at = '2000-01-01T00:00:00.000Z'"
                         " WHERE id = (SELECT MIN(id) FROM orders)")
        assert (await third.order(line, key="later")).status == 201


async def test_an_idempotency_key_places_one_order_whichever_phone_retries_it(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    _, phone = await seated(api, server, phones)
    line = {"menu_id": menu["Tea"], "qty": 1}
    first = await phone.order(line, key="cart-1")
    again = await phone.order(line, key="cart-1")
    assert first.status == again.status == 201 and first.body == again.body
    assert_error(await phone.order({**line, "qty": 2}, key="cart-1"), 409, "conflict")
    assert db_rows(server, "SELECT COUNT(*) FROM orders")[0][0] == 1


async def test_a_guest_cancels_only_an_untouched_order_of_their_own_visit(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    table, phone = await seated(api, server, phones)
    _, other = await seated(api, server, phones, "T2")
    line = {"menu_id": menu["Tea"], "qty": 1}
    mine = (await phone.order(line, line)).body
    theirs = (await other.order(line)).body
    assert_error(await phone.call("POST", f"/api/guest/orders/{theirs['id']}/cancel"), 404,
                 "not_found")
    assert_error(await phone.call("POST", "/api/guest/orders/99999/cancel"), 404, "not_found")
    await api.ok("PATCH", f"/api/orders/{mine['id']}", {"items": [{"index": 0, "done": True}]})
    assert_error(await phone.call("POST", f"/api/guest/orders/{mine['id']}/cancel"), 409,
                 "conflict")
    again = (await phone.order(line)).body
    cancelled = await phone.call("POST", f"/api/guest/orders/{again['id']}/cancel")
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    assert_error(await phone.call("POST", f"/api/guest/orders/{again['id']}/cancel"), 409,
                 "conflict")
    assert (await phone.view())["check"]["total"] == 3000 * 2
    assert table["id"] != theirs["table_id"]


async def test_without_self_seating_a_guest_waits_for_staff_to_seat_the_table(
    make_server: MakeServer, phones: list[Phone]
) -> None:
    server = await make_server(guest={"self_seat": False})
    async with aiohttp.ClientSession() as session:
        api = Api(session, server)
        dish = (await api.ok("POST", "/api/menu", DISHES[1], 201))["id"]
        table, phone = await seated(api, server, phones)
        line = {"menu_id": dish, "qty": 1}
        assert_error(await phone.order(line), 409, "table_closed", "staff")
        await api.ok("POST", "/api/visits", {"table_id": table["id"]}, 201)
        assert (await phone.order(line)).status == 201


async def test_a_guest_seats_themselves_only_at_an_available_table(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    for status in ("needs_cleaning", "reserved", "out_of_service"):
        _, phone = await seated(api, server, phones, f"T-{status}", status=status)
        assert_error(await phone.order({"menu_id": menu["Tea"], "qty": 1}), 409,
                     "table_closed")
    assert db_rows(server, "SELECT COUNT(*) FROM visits")[0][0] == 0


async def test_two_tables_never_see_each_others_orders(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    _, one = await seated(api, server, phones, "T1")
    _, two = await seated(api, server, phones, "T2")
    async with one.stream() as ws_one, two.stream() as ws_two:
        await receive_json(ws_one)
        await receive_json(ws_two)
        ordered = (await one.order({"menu_id": menu["Tea"], "qty": 1})).body
        view = await view_until(ws_one, lambda view: view["check"] is not None
                                and view["check"]["total"] == 3000)
        assert [o["id"] for o in view["orders"]] == [ordered["id"]]
        await api.ok("PATCH", f"/api/orders/{ordered['id']}", {"status": "preparing"})
        _, view = await next_view(ws_one)
        assert view["orders"][0]["status"] == "preparing"
        with pytest.raises(TimeoutError):
            await next_view(ws_two, timeout=0.3)
    assert (await two.view())["orders"] == []


async def test_a_guest_stream_resumes_from_its_own_seq_without_a_gap(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    _, phone = await seated(api, server, phones)
    async with phone.stream() as ws:
        snapshot = await receive_json(ws)
        assert snapshot["data"]["kind"] == "snapshot" and len(snapshot["data"]["items"]) == 1
        epoch, seq = snapshot["data"]["epoch"], snapshot["seq"]
    order = (await phone.order({"menu_id": menu["Tea"], "qty": 1})).body
    await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": "preparing"})
    async with phone.stream(since=seq, epoch=epoch) as ws:
        seqs, view = [], None
        while view is None or not view["orders"] or view["orders"][0]["status"] != "preparing":
            got, view = await next_view(ws)
            seqs.append(got)
        assert seqs == list(range(seq + 1, seq + 1 + len(seqs)))


async def test_closing_the_visit_sends_the_final_view_then_4401_and_writes_are_403(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    table, phone = await seated(api, server, phones)
    order = (await phone.order({"menu_id": menu["Tea"], "qty": 1})).body
    async with phone.stream() as ws:
        epoch = (await receive_json(ws))["data"]["epoch"]
        await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": "cancelled"})
        await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "available"})
        last = None
        while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
            last = msg.json()
        assert last is not None and last["data"]["items"][0]["visit"]["status"] == "closed"
        assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4401,
                                                   "visit_closed")
    assert_error(await phone.order({"menu_id": menu["Tea"], "qty": 1}), 403, "visit_closed")
    assert_error(await phone.call("POST", "/api/guest/calls", {"kind": "water"}), 403,
                 "visit_closed")
    async with phone.stream() as ws:
        assert await receive_close(ws) == 4401
    # Opening the link again (a reload) keeps the ended session: a phone of the party that
    # left never joins the next one by chance. Starting anew is asked for (?new=1): a new
    # session, which sees nothing of the party before, nor can resume into it.
    code = await table_code(api.session, server, table["id"])
    assert await phone.open(code) == 200
    assert_error(await phone.call("GET", "/api/guest"), 403, "visit_closed")
    assert await phone.open(f"{code}?new=1") == 200
    view = await phone.view()
    assert view["visit"] is None and view["orders"] == []
    async with phone.stream(since=0, epoch=epoch) as ws:
        snapshot = await receive_json(ws)
        assert snapshot["data"]["kind"] == "snapshot" and snapshot["seq"] == 0


async def test_the_final_view_of_a_closed_visit_comes_once_then_a_clean_4401(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    """The view queued when the visit closes goes out once (the writer and the close both sent
    it, under one seq), and the close handshake completes (it was cut to 1006 at times)."""
    table, phone = await seated(api, server, phones)
    order = (await phone.order({"menu_id": menu["Tea"], "qty": 1})).body
    async with phone.stream() as ws:
        seqs = [(await receive_json(ws))["seq"]]
        await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": "cancelled"})
        await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "available"})
        while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
            seqs.append(msg.json()["seq"])
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4401)


async def test_a_rotated_link_ends_its_sessions_with_401_and_4401(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    table, phone = await seated(api, server, phones)
    async with phone.stream() as ws:
        await receive_json(ws)
        await api.ok("POST", f"/api/tables/{table['id']}/link")
        assert await receive_close(ws) == 4401
    assert_error(await phone.order({"menu_id": menu["Tea"], "qty": 1}), 401, "unauthorized")
    assert_error(await phone.call("GET", "/api/guest"), 401, "unauthorized")


async def test_a_call_is_one_per_kind_raises_an_event_and_staff_answer_it(
    api: Api, server: TestServer, phones: list[Phone]
) -> None:
    table, phone = await seated(api, server, phones)
    made = await phone.call("POST", "/api/guest/calls", {"kind": "water"})
    assert made.status == 201 and made.body["visit_id"] is None
    again = await phone.call("POST", "/api/guest/calls", {"kind": "water"})
    assert again.status == 200 and again.body["id"] == made.body["id"]
    assert_error(await phone.call("POST", "/api/guest/calls", {"kind": "cake"}), 400,
                 "validation_error")
    assert len(events_of(server, "guest_call")) == 1
    calls = await api.ok("GET", "/api/calls")
    assert [c["id"] for c in calls["items"]] == [made.body["id"]]
    assert (await phone.view())["calls"][0]["status"] == "open"
    assert_error(await api.call("POST", f"/api/calls/{made.body['id']}/answer",
                                token="kitchen-token-test"), 403, "forbidden")
    answered = await api.ok("POST", f"/api/calls/{made.body['id']}/answer",
                            token="floor-token-test")
    assert answered["status"] == "answered" and answered["answered_at"]
    assert_error(await api.call("POST", f"/api/calls/{made.body['id']}/answer"), 409, "conflict")
    assert_error(await api.call("POST", "/api/calls/999/answer"), 404, "not_found")
    assert (await phone.call("POST", "/api/guest/calls", {"kind": "water"})).status == 201
    assert table["id"] == answered["table_id"]


async def test_a_robot_call_is_a_guest_summon_task_answered_when_it_completes(
    api: Api, server: TestServer, phones: list[Phone]
) -> None:
    table, phone = await seated(api, server, phones, x=4, y=6)
    call = (await phone.call("POST", "/api/guest/calls", {"kind": "robot"})).body
    task = await api.ok("GET", "/api/tasks")
    summon = next(t for t in task["items"] if t["id"] == call["task_id"])
    assert summon["kind"] == "summon" and summon["source"] == "guest"
    assert summon["stops"][0]["table_id"] == table["id"]
    await api.ok("POST", f"/api/tasks/{summon['id']}/cancel")
    await until(lambda: db_rows(server, "SELECT status FROM calls")[0][0] == "cancelled")


async def test_closing_a_visit_cancels_its_open_calls(
    api: Api, server: TestServer, phones: list[Phone], menu: dict[str, int]
) -> None:
    table, phone = await seated(api, server, phones)
    await phone.call("POST", "/api/guest/calls", {"kind": "bill"})
    await phone.order({"menu_id": menu["Tea"], "qty": 1})
    await phone.call("POST", "/api/guest/calls", {"kind": "staff"})
    order_id = db_rows(server, "SELECT id FROM orders")[0][0]
    await api.ok("PATCH", f"/api/orders/{order_id}", {"status": "cancelled"})
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "needs_cleaning"})
    await until(lambda: [r[0] for r in db_rows(server, "SELECT status FROM calls")]
                == ["cancelled", "cancelled"])

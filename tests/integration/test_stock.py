"""Stock (SPEC §13, docs/api.md "Stock") through the real REST API and topics: staff moves and
their list, recipes, what orders take and cancels give back, and sold out as the kitchen,
the menu topic and a guest see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, already_sent, assert_error, subscribed
from ..support.guest_client import Phone, table_code
from ..support.server import MakeServer, db_rows, db_write, events_of, receive_json
from ..support.stock import dish, line, tofu_soup

KITCHEN = "kitchen-token-test"
FLOOR = "floor-token-test"
MAINTENANCE = "maintenance-token-test"


async def adjust(api: Api, item_id: int, body: dict[str, Any], token: str = KITCHEN
                 ) -> dict[str, Any]:
    item: dict[str, Any] = await api.ok("POST", f"/api/inventory/{item_id}/adjust", body,
                                        token=token)
    return item


async def moves(api: Api, item_id: int) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await api.ok("GET", f"/api/inventory/{item_id}/moves",
                                                 token=KITCHEN))["items"]
    return listed


def quantity(server: TestServer, item_id: int) -> float:
    return float(db_rows(server, "SELECT quantity FROM inventory WHERE id = ?", item_id)[0][0])


async def test_each_staff_move_changes_the_quantity_and_is_listed_newest_first(
    api: Api, server: TestServer
) -> None:
    tofu = await line(api, "TOFU", 10)
    assert (await adjust(api, tofu["id"], {"reason": "received", "delta": 5,
                                           "note": "Monday's delivery"}))["quantity"] == 15
    assert (await adjust(api, tofu["id"], {"reason": "waste", "delta": -2.5}))["quantity"] == 12.5
    assert (await adjust(api, tofu["id"], {"reason": "correction", "delta": -0.5},
                         token="admin-token-test"))["quantity"] == 12
    counted = await adjust(api, tofu["id"], {"reason": "count", "quantity": 9})
    assert counted["quantity"] == 9 and counted["status"] == "in_stock"
    listed = await moves(api, tofu["id"])
    assert [(m["reason"], m["delta"], m["quantity_after"]) for m in listed] == [
        ("count", -3, 9), ("correction", -0.5, 12), ("waste", -2.5, 12.5),
        ("received", 5, 15)]
    assert listed[-1]["note"] == "Monday's delivery" and listed[-1]["order_id"] is None
    assert set(listed[0]) == {"id", "inventory_id", "delta", "reason", "order_id", "note",
                              "quantity_after", "created_at"}
    assert quantity(server, tofu["id"]) == 9
    # A PATCH of the quantity is a correction too: every change of it is a move.
    await api.ok("PATCH", f"/api/inventory/{tofu['id']}", {"quantity": 20})
    await api.ok("PATCH", f"/api/inventory/{tofu['id']}", {"delta": -1})
    assert [(m["reason"], m["delta"]) for m in (await moves(api, tofu["id"]))[:2]] == [
        ("correction", -1), ("correction", 11)]


async def test_the_moves_list_holds_the_last_100(api: Api) -> None:
    salt = await line(api, "SALT", 0)
    for n in range(105):
        await adjust(api, salt["id"], {"reason": "received", "delta": n + 1})
    listed = await moves(api, salt["id"])
    assert len(listed) == 100
    assert [m["delta"] for m in listed] == [float(n) for n in range(105, 5, -1)]


@pytest.mark.parametrize("body", [
    {"reason": "received", "delta": 0},
    {"reason": "received", "delta": -1},
    {"reason": "waste", "delta": 1},
    {"reason": "correction", "delta": 0},
    {"reason": "count"},
    {"reason": "count", "quantity": -1},
    {"reason": "count", "quantity": 3, "delta": 1},
    {"reason": "received", "quantity": 3},
    {"reason": "received"},
    {"reason": "order", "delta": -1},
    {"reason": "order_cancelled", "delta": 1},
    {"reason": "received", "delta": 1, "note": "x" * 141},
    {"reason": "received", "delta": 1, "note": "a\u0000b"},
    {"reason": "received", "delta": 1e308},
    {"reason": "received", "delta": 1, "extra": True},
])
async def test_a_move_that_breaks_its_rules_is_refused_400_and_moves_nothing(
    api: Api, server: TestServer, body: dict[str, Any]
) -> None:
    tofu = await line(api, "TOFU", 1e308 if body.get("delta") == 1e308 else 10)
    reply = await api.call("POST", f"/api/inventory/{tofu['id']}/adjust", body, token=KITCHEN)
    assert_error(reply, 400, "validation_error")
    assert db_rows(server, "SELECT 1 FROM inventory_moves") == []
    assert quantity(server, tofu["id"]) == tofu["quantity"]


async def test_stock_never_goes_below_zero_and_other_refusals(
    api: Api, server: TestServer
) -> None:
    tofu = await line(api, "TOFU", 3)
    path = f"/api/inventory/{tofu['id']}/adjust"
    assert_error(await api.call("POST", path, {"reason": "waste", "delta": -3.5}, token=KITCHEN),
                 409, "conflict", names="TOFU")
    assert_error(await api.call("PATCH", f"/api/inventory/{tofu['id']}", {"delta": -4}),
                 409, "conflict")
    for token in (FLOOR, MAINTENANCE):
        assert_error(await api.call("POST", path, {"reason": "waste", "delta": -1},
                                    token=token), 403, "forbidden")
        assert_error(await api.call("GET", f"/api/inventory/{tofu['id']}/moves", token=token),
                     403, "forbidden")
    assert_error(await api.call("POST", path, {"reason": "waste", "delta": -1}, token=None),
                 401, "unauthorized")
    for path in ("/api/inventory/999/adjust", "/api/inventory/x/adjust"):
        assert_error(await api.call("POST", path, {"reason": "received", "delta": 1}),
                     404, "not_found")
    assert_error(await api.call("GET", "/api/inventory/999/moves"), 404, "not_found")
    reply = await api.call("POST", f"/api/inventory/{tofu['id']}/adjust", data=b"delta=1",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(reply, 415, "unsupported_media_type")
    assert quantity(server, tofu["id"]) == 3
    assert db_rows(server, "SELECT 1 FROM inventory_moves") == []
    # Down to exactly zero is fine: out of stock, raised once.
    assert (await adjust(api, tofu["id"], {"reason": "waste", "delta": -3}))["status"] == (
        "out_of_stock")
    assert len(events_of(server, "inventory_out")) == 1


async def test_a_recipe_is_set_shown_and_cleared_and_refused_when_wrong(
    api: Api, session: aiohttp.ClientSession, server: TestServer
) -> None:
    await line(api, "TOFU", 10)
    await line(api, "RICE", 10)
    soup = await dish(api, "Soup")
    path = f"/api/menu/{soup['id']}/recipe"
    recipe = [{"sku": "TOFU", "qty": 0.25}, {"sku": "RICE", "qty": 1}]
    async with subscribed(session, server, "menu") as (menu,):
        set_ = await api.ok("PUT", path, {"ingredients": recipe})
        assert set_["recipe"] == recipe and set_["sold_out"] is False
        assert (await already_sent(menu))["data"]["items"] == [set_]
    assert [d["recipe"] for d in (await api.ok("GET", "/api/menu"))["items"]] == [recipe]
    for body in ({"ingredients": [{"sku": "NOPE", "qty": 1}]},
                 {"ingredients": [{"sku": "TOFU", "qty": 0}]},
                 {"ingredients": [{"sku": "TOFU", "qty": -1}]},
                 {"ingredients": [{"sku": "", "qty": 1}]},
                 {"ingredients": [{"sku": "TOFU", "qty": 1, "per": "kg"}]},
                 {"ingredients": [{"sku": "TOFU", "qty": 1}, {"sku": "TOFU", "qty": 2}]},
                 {"ingredients": [{"sku": "TOFU"}]},
                 {"ingredients": [{"sku": "TOFU", "qty": 1}] * 51},
                 {"ingredients": None}, {}):
        assert_error(await api.call("PUT", path, body), 400, "validation_error")
    assert_error(await api.call("PUT", path, {"ingredients": []}, token=KITCHEN),
                 403, "forbidden")
    for body in ({"ingredients": []}, {"ingredients": [{"sku": "NOPE", "qty": 1}]}):
        assert_error(await api.call("PUT", "/api/menu/999/recipe", body), 404, "not_found")
    assert (await api.ok("GET", "/api/menu"))["items"][0]["recipe"] == recipe
    assert (await api.ok("PUT", path, {"ingredients": []}))["recipe"] == []


async def test_an_order_takes_its_portions_and_a_cancel_before_cooking_gives_them_back(
    api: Api, server: TestServer
) -> None:
    tofu = await line(api, "TOFU", 10)
    rice = await line(api, "RICE", 5)
    soup = await dish(api, "Soup", ("TOFU", 0.5), ("RICE", 0.2))
    bowl = await dish(api, "Bowl", ("RICE", 1))
    tea = await dish(api, "Tea")
    table = await api.table()
    placed = await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"], "qty": 2}, {"menu_id": bowl["id"]}, {"menu_id": tea["id"]},
        {"menu_id": soup["id"], "qty": 1, "note": "no chilli"}]}, 201)
    assert quantity(server, tofu["id"]) == 8.5 and quantity(server, rice["id"]) == 3.4
    [taken] = await moves(api, tofu["id"])
    assert (taken["reason"], taken["delta"], taken["order_id"]) == ("order", -1.5, placed["id"])
    await api.move(placed["id"], "cancelled")
    assert quantity(server, tofu["id"]) == 10 and quantity(server, rice["id"]) == 5
    given = (await moves(api, rice["id"]))[0]
    assert (given["reason"], given["delta"], given["order_id"], given["quantity_after"]) == (
        "order_cancelled", 1.6, placed["id"], 5)

    # One of its items done: something was cooked, nothing goes back.
    cooked = await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"]}, {"menu_id": bowl["id"]}]}, 201)
    done = {"items": [{"index": 0, "done": True}]}
    await api.ok("PATCH", f"/api/orders/{cooked['id']}", done)
    await api.move(cooked["id"], "cancelled")
    assert quantity(server, tofu["id"]) == 9.5 and quantity(server, rice["id"]) == 3.8
    assert [m["reason"] for m in await moves(api, rice["id"])][:2] == ["order",
                                                                       "order_cancelled"]


async def test_the_last_portion_sells_a_dish_out_on_the_menu_topic_and_restock_brings_it_back(
    api: Api, session: aiohttp.ClientSession, server: TestServer
) -> None:
    tofu = await line(api, "TOFU", 2)
    await line(api, "RICE", 100)
    soup = await dish(api, "Tofu soup", ("RICE", 1), ("TOFU", 1))
    other = await dish(api, "Rice bowl", ("RICE", 1))
    table = await api.table()
    async with subscribed(session, server, "menu") as (menu,):
        await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
            {"menu_id": soup["id"]}, {"menu_id": other["id"]}]}, 201)
        # A portion left: nothing of the menu changed, so nothing is published.
        await api.ok("PATCH", f"/api/menu/{other['id']}", {"position": 1})
        assert [d["id"] for d in (await receive_json(menu))["data"]["items"]] == [other["id"]]

        await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
            {"menu_id": soup["id"]}]}, 201)
        update = (await already_sent(menu))["data"]
        assert update["kind"] == "upsert" and [d["id"] for d in update["items"]] == [soup["id"]]
        assert update["items"][0]["sold_out"] is True
        assert update["items"][0]["sold_out_reason"] == "out of Tofu"
        assert update["items"][0]["available"] is True  # the kitchen's 86 is its own
        [event] = events_of(server, "menu_item_unavailable")
        assert "Tofu soup" in event["message"] and "out of Tofu" in event["message"]

        reply = await api.call("POST", "/api/orders", {"table_id": table["id"], "items": [
            {"menu_id": other["id"]}, {"menu_id": soup["id"]}]})
        assert_error(reply, 409, "sold_out", names="Tofu soup")
        assert "out of Tofu" in reply.body["error"]["message"]
        assert len(db_rows(server, "SELECT 1 FROM orders")) == 2

        await adjust(api, tofu["id"], {"reason": "received", "delta": 1})
        back = (await already_sent(menu))["data"]["items"]
        assert [(d["id"], d["sold_out"], d["sold_out_reason"]) for d in back] == [
            (soup["id"], False, None)]
        [available] = events_of(server, "menu_item_available")
        assert "Tofu soup" in available["message"]
    await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"]}]}, 201)


async def test_an_order_for_more_portions_than_are_left_says_how_many_and_takes_nothing(
    api: Api, server: TestServer
) -> None:
    tofu, soup, table = await tofu_soup(api, 2.5)
    reply = await api.call("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"], "qty": 2}, {"menu_id": soup["id"], "qty": 1}]})
    message = assert_error(reply, 409, "sold_out", names="Tofu soup")
    assert "only 2 portions" in message
    assert quantity(server, tofu["id"]) == 2.5
    assert db_rows(server, "SELECT 1 FROM orders") == []
    assert db_rows(server, "SELECT 1 FROM inventory_moves") == []
    # Refused before the order's visit would open: the table is as it was.
    assert db_rows(server, "SELECT 1 FROM visits") == []


async def test_restocking_never_brings_back_a_dish_the_kitchen_86d(
    api: Api, server: TestServer
) -> None:
    tofu, soup, table = await tofu_soup(api, 1)
    await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"]}]}, 201)
    await api.ok("PATCH", f"/api/menu/{soup['id']}", {"available": False}, token=KITCHEN)
    await adjust(api, tofu["id"], {"reason": "received", "delta": 5})
    [now] = (await api.ok("GET", "/api/menu"))["items"]
    assert (now["available"], now["sold_out"]) == (False, False)
    assert_error(await api.call("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": soup["id"]}]}), 409, "conflict", names="86")


async def test_a_guest_sees_a_dish_sold_out_and_cannot_order_it(
    api: Api, server: TestServer
) -> None:
    await line(api, "TOFU", 0)
    soup = await dish(api, "Tofu soup", ("TOFU", 1))
    table = await api.table()
    phone = Phone(server)
    try:
        assert await phone.open(await table_code(api.session, server, table["id"])) == 200
        menu = await phone.call("GET", "/api/menu")
        [shown] = menu.body["items"]
        assert (shown["sold_out"], shown["sold_out_reason"]) == (True, "out of Tofu")
        reply = await phone.order({"menu_id": soup["id"], "qty": 1})
        assert_error(reply, 409, "sold_out", names="Tofu soup")
    finally:
        await phone.close()


async def test_a_retried_move_with_its_idempotency_key_is_made_once_even_after_a_crash(
    make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    server = await make_server()
    api = Api(session, server)
    tofu = await line(api, "TOFU", 1)
    path = f"/api/inventory/{tofu['id']}/adjust"
    body = {"reason": "received", "delta": 4}
    key = {"Idempotency-Key": "delivery-7"}
    first = await api.call("POST", path, body, headers=key)
    again = await api.call("POST", path, body, headers=key)
    assert (first.status, again.status) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body and first.body["quantity"] == 5
    await server.close()
    # What a kill -9 after the move's commit and before the answer was kept leaves: the key's
    # record knows the line the move changed (same transaction), not the answer.
    db_write(tmp_path / "robodyne.db",
             "UPDATE idempotency_keys SET status = NULL, content_type = NULL, body = NULL")
    server = await make_server()
    api = Api(session, server)
    retried = await api.call("POST", path, body, headers=key)
    assert retried.status == 200 and retried.body["quantity"] == 5
    assert len(await moves(api, tofu["id"])) == 1
    assert quantity(server, tofu["id"]) == 5

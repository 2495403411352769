"""Priced orders (docs/api.md, "Orders" and "Prices") through the real REST API, topics and
SQLite file: a dish's price and options taken at placement and never changed after."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, already_sent, assert_error, subscribed
from ..support.server import MakeServer, db_rows

Restaurant = tuple[TestServer, Api, dict[str, Any], dict[str, Any]]


@pytest.fixture
async def restaurant(make_server: MakeServer, session: aiohttp.ClientSession) -> Restaurant:
    """A server with a table and a dish with options on its menu."""
    server = await make_server()
    api = Api(session, server)
    table = await api.table()
    dish = await api.ok("POST", "/api/menu", {
        "name": "Bibimbap", "price": 11000,
        "options": [{"name": "Extra egg", "price": 1000}, {"name": "Large", "price": 3000},
                    {"name": "No chili", "price": 0}]}, 201)
    return server, api, table, dish


def _order(table: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    return {"table_id": table["id"], "items": list(lines)}


async def test_a_staff_order_takes_each_dishs_price_with_its_options_and_totals_it(
    restaurant: Restaurant, session: aiohttp.ClientSession
) -> None:
    server, api, table, dish = restaurant
    async with subscribed(session, server, "orders") as (orders,):
        order = await api.ok("POST", "/api/orders", _order(
            table,
            {"name": "BIBIMBAP", "qty": 2, "options": ["extra egg", "Large"],
             "modifiers": ["no sesame"]},
            {"menu_id": dish["id"], "options": ["No chili"]},
            {"name": "Birthday candle", "qty": 3, "price": 500},
            {"name": "Water"}), 201)
        assert (await already_sent(orders))["data"]["items"] == [order]
    first, second, candle, water = order["items"]
    assert (first["name"], first["menu_id"], first["price"], first["options"]) == (
        "BIBIMBAP", dish["id"], 15000, ["Extra egg", "Large"])
    assert first["modifiers"] == ["Extra egg", "Large", "no sesame"]  # the kitchen sees both
    assert (second["name"], second["price"], second["modifiers"]) == (
        "Bibimbap", 11000, ["No chili"])
    assert (candle["menu_id"], candle["price"], candle["options"]) == (None, 500, [])
    assert (water["menu_id"], water["price"]) == (None, 0)
    assert order["total"] == 2 * 15000 + 11000 + 3 * 500 + 0
    # The table had no visit: the order opened one (SPEC §12.1).
    [visit] = (await api.ok("GET", "/api/visits"))["items"]
    assert (order["source"], order["visit_id"]) == ("staff", visit["id"])
    [row] = db_rows(server, "SELECT source, visit_id, total FROM orders")
    assert tuple(row) == ("staff", visit["id"], 42500)
    assert (await api.ok("GET", "/api/orders"))["items"] == [order]


async def test_a_placed_order_keeps_its_prices_whatever_the_menu_does_after(
    restaurant: Restaurant
) -> None:
    server, api, table, dish = restaurant
    order = await api.ok("POST", "/api/orders", _order(
        table, {"menu_id": dish["id"], "options": ["Extra egg"]}), 201)
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {
        "price": 99000, "options": [{"name": "Extra egg", "price": 5000}], "name": "Bowl"})
    await api.ok("PATCH", f"/api/orders/{order['id']}", {"items": [{"index": 0, "done": True}]})
    after = await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": "ready"})
    assert (after["items"][0]["price"], after["items"][0]["name"], after["total"]) == (
        12000, "Bibimbap", 12000)
    assert (await api.call("DELETE", f"/api/menu/{dish['id']}")).status == 204
    [kept] = (await api.ok("GET", "/api/orders"))["items"]
    assert (kept["items"][0]["price"], kept["items"][0]["menu_id"], kept["total"]) == (
        12000, dish["id"], 12000)
    [row] = db_rows(server, "SELECT total FROM orders")
    assert row["total"] == 12000


@pytest.mark.parametrize("token", ["admin-token-test", "floor-token-test"])
async def test_admin_and_floor_may_price_a_line_not_on_the_menu(
    restaurant: Restaurant, token: str
) -> None:
    _, api, table, _ = restaurant
    order = await api.ok("POST", "/api/orders", _order(
        table, {"name": "Corkage", "price": 20000}), 201, token=token)
    assert order["total"] == 20000


async def test_the_kitchen_may_place_an_order_but_not_price_a_line(restaurant: Restaurant
                                                                   ) -> None:
    server, api, table, dish = restaurant
    reply = await api.call("POST", "/api/orders", _order(
        table, {"menu_id": dish["id"]}, {"name": "Corkage", "price": 20000}),
        token="kitchen-token-test")
    assert_error(reply, 403, "forbidden", names="order_prices")
    assert db_rows(server, "SELECT 1 FROM orders") == []
    order = await api.ok("POST", "/api/orders", _order(table, {"menu_id": dish["id"]}, {
        "name": "Corkage"}), 201, token="kitchen-token-test")
    assert order["total"] == 11000


@pytest.mark.parametrize(("line", "names"), [
    ({"name": "Bibimbap", "options": ["Extra cheese"]}, "Extra cheese"),
    ({"name": "Bibimbap", "options": ["Large", "large"]}, "twice"),
    ({"name": "Tea", "options": ["Large"]}, "not on the menu"),
    ({"menu_id": 999}, "items.0.menu_id"),
    ({"menu_id": "{dish}", "name": "Kimchi"}, "items.0.name"),
    ({"name": "Bibimbap", "price": 500}, "items.0.price"),
    ({"menu_id": "{dish}", "price": 0}, "items.0.price"),
    ({"qty": 2}, "menu_id"),
    ({"name": " "}, "menu_id"),
    ({"name": "Tea", "price": -1}, "items.0.price"),
    ({"name": "Tea", "price": 1_000_000_001}, "items.0.price"),
    ({"name": "Tea", "price": 1.5}, "items.0.price"),
    ({"name": "Tea", "options": ["x"] * 21}, "items.0.options"),
])
async def test_a_line_the_menu_cannot_price_is_refused_and_makes_nothing(
    restaurant: Restaurant, line: dict[str, Any], names: str
) -> None:
    server, api, table, dish = restaurant
    line = {key: dish["id"] if value == "{dish}" else value for key, value in line.items()}
    reply = await api.call("POST", "/api/orders", _order(table, {"name": "Soup"}, line))
    assert_error(reply, 400, "validation_error", names=names.replace("items.0", "items.1"))
    assert db_rows(server, "SELECT 1 FROM orders") == []


async def test_a_dish_that_is_86_refuses_the_order_by_menu_id_too(restaurant: Restaurant
                                                                  ) -> None:
    server, api, table, dish = restaurant
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {"available": False},
                 token="kitchen-token-test")
    assert_error(await api.call("POST", "/api/orders", _order(table, {"menu_id": dish["id"]})),
                 409, "conflict", names="Bibimbap")
    assert db_rows(server, "SELECT 1 FROM orders") == []


async def test_a_dish_named_in_any_case_or_unicode_form_is_that_dish_at_its_price(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    api = Api(session, server)
    table = await api.table()
    dish = await api.ok("POST", "/api/menu", {"name": "Crème brûlée", "price": 7000}, 201)
    decomposed = "Cre\u0300me bru\u0302le\u0301e"
    for spelling in ("CRÈME BRÛLÉE", decomposed):
        order = await api.ok("POST", "/api/orders", _order(table, {"name": spelling}), 201,
                             token="kitchen-token-test")
        [item] = order["items"]
        assert (item["menu_id"], item["price"]) == (dish["id"], 7000), spelling
    # Neither spelling is a second dish, nor a way round the 86.
    for spelling in ("CRÈME BRÛLÉE", decomposed):
        assert_error(await api.call("POST", "/api/menu", {"name": spelling}), 409, "conflict")
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {"available": False},
                 token="kitchen-token-test")
    assert_error(await api.call("POST", "/api/orders", _order(table, {"name": decomposed}),
                                token="kitchen-token-test"), 409, "conflict")

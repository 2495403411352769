"""The menu and kitchen stations (docs/api.md, "Menu") through the real REST API and topics."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api, already_sent, assert_error, subscribed
from ..support.server import MakeServer, db_rows, events_of

STATIONS = {"stations": ["grill", "fry", "cold", "bar"], "default_station": "grill"}


Kitchen = tuple[TestServer, Api]


@pytest.fixture
async def kitchen(make_server: MakeServer, session: aiohttp.ClientSession) -> Kitchen:
    server = await make_server(kitchen=STATIONS)
    return server, Api(session, server)


async def _dish(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    dish: dict[str, Any] = await api.ok("POST", "/api/menu", {"name": name, **fields}, 201)
    return dish


async def test_a_dish_is_committed_and_on_the_menu_topic_before_the_response(
    kitchen: Kitchen, session: aiohttp.ClientSession
) -> None:
    server, api = kitchen
    async with subscribed(session, server, "menu") as (menu,):
        dish = await _dish(api, "Bulgogi", category="mains", station="grill", prep_target_s=420)
        assert (await already_sent(menu))["data"] == {"kind": "upsert", "items": [dish]}
    assert dish == {"id": dish["id"], "name": "Bulgogi", "category": "mains",
                    "station": "grill", "prep_target_s": 420.0, "available": True}
    [row] = db_rows(server, "SELECT name, station FROM menu")
    assert (row["name"], row["station"]) == ("Bulgogi", "grill")
    assert (await api.ok("GET", "/api/menu"))["items"] == [dish]


async def test_an_order_item_takes_its_station_from_the_menu_by_name_in_any_case(
    kitchen: Kitchen
) -> None:
    server, api = kitchen
    await _dish(api, "Kimchi fries", station="fry")
    await _dish(api, "Soju", station="bar")
    await _dish(api, "Rice")  # on the menu without a station
    table = await api.table()
    order = await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"name": "KIMCHI FRIES"}, {"name": "soju", "qty": 2}, {"name": "Rice"},
        {"name": "Not on the menu"}]}, 201)
    assert [item["station"] for item in order["items"]] == ["fry", "bar", "grill", "grill"]


async def test_an_order_naming_a_dish_that_is_86_is_refused_and_nothing_is_made(
    kitchen: Kitchen
) -> None:
    server, api = kitchen
    dish = await _dish(api, "Naengmyeon", station="cold")
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {"available": False},
                 token="kitchen-token-test")
    [event] = events_of(server, "menu_item_unavailable")
    assert event["severity"] == "warning" and "Naengmyeon" in event["message"]
    table = await api.table()
    reply = await api.call("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"name": "Soup"}, {"name": "naengmyeon"}]})
    assert_error(reply, 409, "conflict", names="Naengmyeon")
    assert db_rows(server, "SELECT 1 FROM orders") == []
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {"available": True},
                 token="kitchen-token-test")
    await api.ok("POST", "/api/orders", {"table_id": table["id"],
                                         "items": [{"name": "naengmyeon"}]}, 201)
    assert len(events_of(server, "menu_item_unavailable")) == 1  # only on the way off


@pytest.mark.parametrize(("token", "body", "allowed"), [
    ("kitchen-token-test", {"available": False}, True),
    ("kitchen-token-test", {"station": "fry"}, False),
    ("kitchen-token-test", {"available": False, "name": "Other"}, False),
    ("floor-token-test", {"available": False}, False),
    ("admin-token-test", {"station": "fry", "prep_target_s": None}, True),
])
async def test_the_kitchen_may_change_only_whether_a_dish_is_available(
    kitchen: Kitchen, token: str, body: dict[str, Any], allowed: bool
) -> None:
    server, api = kitchen
    dish = await _dish(api, "Tteokbokki", station="grill", prep_target_s=300)
    reply = await api.call("PATCH", f"/api/menu/{dish['id']}", body, token=token)
    [row] = db_rows(server, "SELECT * FROM menu")
    if allowed:
        assert reply.status == 200 and all(reply.body[k] == v for k, v in body.items())
    else:
        assert_error(reply, 403, "forbidden")
        assert (row["available"], row["station"], row["name"]) == (1, "grill", "Tteokbokki")
    assert_error(await api.call("POST", "/api/menu", {"name": "X"}, token="kitchen-token-test"),
                 403, "forbidden")


@pytest.mark.parametrize(("body", "status", "code", "names"), [
    ({"name": "Pajeon", "station": "wok"}, 400, "validation_error", "wok"),
    ({"name": "bibimbap"}, 409, "conflict", "bibimbap"),
    ({"name": ""}, 400, "validation_error", "name"),
    ({"name": "Mandu", "prep_target_s": 0}, 400, "validation_error", "prep_target_s"),
])
async def test_bad_dishes_are_refused_and_change_nothing(
    kitchen: Kitchen, body: dict[str, Any], status: int, code: str, names: str
) -> None:
    server, api = kitchen
    await _dish(api, "Bibimbap", station="grill")
    assert_error(await api.call("POST", "/api/menu", body), status, code, names=names)
    assert len(db_rows(server, "SELECT 1 FROM menu")) == 1


async def test_a_patch_may_not_null_what_cannot_be_cleared_and_unknown_dishes_are_404(
    kitchen: Kitchen
) -> None:
    _, api = kitchen
    dish = await _dish(api, "Japchae", station="grill")
    assert_error(await api.call("PATCH", f"/api/menu/{dish['id']}", {"available": None}),
                 400, "validation_error", names="available")
    assert_error(await api.call("PATCH", "/api/menu/999", {"available": False}), 404,
                 "not_found")
    assert_error(await api.call("DELETE", "/api/menu/999"), 404, "not_found")


async def test_a_dish_taken_off_the_menu_leaves_the_topic(
    kitchen: Kitchen, session: aiohttp.ClientSession
) -> None:
    server, api = kitchen
    dish = await _dish(api, "Hotteok", station="cold")
    async with subscribed(session, server, "menu") as (menu,):
        assert (await api.call("DELETE", f"/api/menu/{dish['id']}")).status == 204
        assert (await already_sent(menu))["data"] == {"kind": "delete", "items": [],
                                                      "ids": [dish["id"]]}


async def test_a_rush_order_is_marked_and_its_trip_rides_first(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(dispatch={"auto_deliver": True})
    api = Api(session, server)
    table = await api.table()
    normal = await api.order(table["id"])
    rush = await api.ok("POST", "/api/orders", {"table_id": table["id"], "priority": "rush",
                                                "items": [{"name": "Soup"}]}, 201)
    assert (normal["priority"], rush["priority"]) == ("normal", "rush")
    other = await api.table("T2")
    late = await api.order(other["id"])
    await api.ok("PATCH", f"/api/orders/{late['id']}", {"priority": "rush"})
    await api.move(late["id"], "preparing", "ready")
    [task] = (await api.ok("GET", "/api/tasks"))["items"]
    assert task["priority"] > 0
    assert_error(await api.call("PATCH", f"/api/orders/{late['id']}", {"priority": "asap"}),
                 400, "validation_error", names="priority")


async def test_todays_prep_times_per_station_for_the_expo(kitchen: Kitchen) -> None:
    server, api = kitchen
    await _dish(api, "Soju", station="bar")
    table = await api.table()
    order = await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"name": "Steak"}, {"name": "Soju"}]}, 201)
    await api.ok("PATCH", f"/api/orders/{order['id']}", {"items": [{"index": 1, "done": True}]})
    times = await api.ok("GET", "/api/kitchen/prep_times", token="kitchen-token-test")
    assert set(times["stations"]) == {"grill", "fry", "cold", "bar"}
    bar = times["stations"]["bar"]
    assert bar["count"] == 1 and 0 <= bar["median_s"] == bar["p90_s"] < 5
    assert times["stations"]["grill"] == {"count": 0, "median_s": None, "p90_s": None}
    assert_error(await api.call("GET", "/api/kitchen/prep_times", token="maintenance-token-test"),
                 403, "forbidden")

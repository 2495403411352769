"""The menu, as the kitchen and guests see it, and kitchen stations (docs/api.md, "Menu")
through the real REST API and topics."""

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
        data = (await already_sent(menu))["data"]
        assert (data["kind"], data["items"]) == ("upsert", [dish])
    assert dish == {"id": dish["id"], "name": "Bulgogi", "category": "mains",
                    "station": "grill", "prep_target_s": 420.0, "available": True,
                    "price": 0, "names": {}, "descriptions": {}, "allergens": [],
                    "options": [], "image": None, "position": 0, "recipe": [],
                    "sold_out": False, "sold_out_reason": None}
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
    ("kitchen-token-test", {"price": 100}, False),
    ("kitchen-token-test", {"available": False, "options": []}, False),
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
        assert (row["available"], row["station"], row["name"], row["price"], row["options"]
                ) == (1, "grill", "Tteokbokki", 0, "[]")
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
        data = (await already_sent(menu))["data"]
        assert (data["kind"], data["ids"]) == ("delete", [dish["id"]])


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


BIBIMBAP: dict[str, Any] = {
    "name": "Bibimbap", "category": "mains", "station": "grill", "price": 11000,
    "names": {"ko": "비빔밥", "en": "Bibimbap", "zh": "拌饭", "ja": "ビビンバ"},
    "descriptions": {"ko": "밥 위에 나물과 고추장", "en": "Rice, vegetables, chili paste"},
    "allergens": ["eggs", "soybeans", "sesame"],
    "options": [{"name": "Extra egg", "names": {"ko": "계란 추가"}, "price": 1000},
                {"name": "Large", "price": 3000}],
    "position": 3,
}


async def test_a_dish_says_its_price_names_allergens_and_options_to_guests(
    kitchen: Kitchen, session: aiohttp.ClientSession
) -> None:
    server, api = kitchen
    dish = await _dish(api, **BIBIMBAP)
    assert {key: dish[key] for key in BIBIMBAP} == {
        **BIBIMBAP, "options": [{"name": "Extra egg", "names": {"ko": "계란 추가"}, "price": 1000},
                                {"name": "Large", "names": {}, "price": 3000}]}
    assert dish["image"] is None
    assert (await api.ok("GET", "/api/menu"))["items"] == [dish]
    [row] = db_rows(server, "SELECT price, allergens, position FROM menu")
    assert tuple(row) == (11000, '["eggs","soybeans","sesame"]', 3)
    # The menu topic, as a guest page would hold it, and the admin's changes of every field.
    changes = {"price": 12000, "names": {"en": "Bibimbap bowl"}, "descriptions": {},
               "allergens": ["eggs"], "options": [], "position": 1}
    async with subscribed(session, server, "menu", token="kitchen-token-test") as (menu,):
        changed = await api.ok("PATCH", f"/api/menu/{dish['id']}", changes)
        assert {key: changed[key] for key in changes} == changes
        assert (await already_sent(menu))["data"]["items"] == [changed]


LONG = "가" * 81


@pytest.mark.parametrize(("fields", "names"), [
    ({"allergens": ["nuts"]}, "allergens.0"),
    ({"allergens": ["eggs", "eggs"]}, "allergens"),
    ({"names": {"fr": "Bibimbap"}}, "names.fr"),
    ({"names": {"en": LONG}}, "names.en"),
    ({"names": {"en": ""}}, "names.en"),
    ({"descriptions": {"ko": "가" * 501}}, "descriptions.ko"),
    ({"descriptions": {"en": "Rice\u202ebowl"}}, "U+202E"),
    ({"descriptions": {"en": "Rice\nbowl"}}, "U+000A"),
    ({"names": {"en": "Bibim\u0000bap"}}, "U+0000"),
    ({"price": -1}, "price"),
    ({"price": 1.5}, "price"),
    ({"price": 1_000_000_001}, "price"),
    ({"options": [{"name": f"Topping {n}", "price": 100} for n in range(21)]}, "options"),
    ({"options": [{"name": "Egg", "price": -100}]}, "options.0.price"),
    ({"options": [{"name": "", "price": 100}]}, "options.0.name"),
    ({"options": [{"name": "Egg"}, {"name": "EGG"}]}, "EGG"),
    ({"options": [{"name": "Egg", "names": {"de": "Ei"}}]}, "options.0.names"),
    ({"options": [{"name": "Egg", "extra": 1}]}, "options.0.extra"),
    ({"image": "/photos/bibimbap.jpg"}, "image"),
    ({"position": "first"}, "position"),
])
async def test_bad_guest_fields_of_a_dish_are_refused_on_post_and_patch_and_change_nothing(
    kitchen: Kitchen, fields: dict[str, Any], names: str
) -> None:
    server, api = kitchen
    dish = await _dish(api, "Kimbap", price=5000)
    before = db_rows(server, "SELECT * FROM menu")
    assert_error(await api.call("POST", "/api/menu", {"name": "Other", **fields}), 400,
                 "validation_error", names=names)
    assert_error(await api.call("PATCH", f"/api/menu/{dish['id']}", fields), 400,
                 "validation_error", names=names)
    assert [tuple(row) for row in db_rows(server, "SELECT * FROM menu")] == [
        tuple(row) for row in before]


async def test_twenty_options_and_every_listed_allergen_are_taken(kitchen: Kitchen) -> None:
    _, api = kitchen
    allergens = ["eggs", "milk", "buckwheat", "peanuts", "soybeans", "wheat", "gluten",
                 "mackerel", "fish", "crab", "shrimp", "crustaceans", "molluscs", "shellfish",
                 "squid", "pork", "beef", "chicken", "peach", "tomato", "sulphites", "walnuts",
                 "pine_nuts", "tree_nuts", "celery", "mustard", "sesame", "lupin"]
    options = [{"name": f"Topping {n}", "price": n * 100} for n in range(20)]
    dish = await _dish(api, "Everything", allergens=allergens, options=options,
                       names={"en": "E" * 80}, descriptions={"en": "D" * 500})
    assert dish["allergens"] == allergens and len(dish["options"]) == 20


async def test_the_menu_comes_in_the_guests_order_and_a_move_republishes_it_whole(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(restaurant={"categories": ["starters", "mains"]})
    api = Api(session, server)
    made = {name: (await _dish(api, name, category=category, position=position))["id"]
            for name, category, position in [
                ("Soju", "drinks", 0), ("Galbi", "mains", 2), ("Kimchi", "sides", 0),
                ("Bulgogi", "mains", 1), ("Pajeon", "starters", 0), ("Sikhye", "drinks", -1)]}

    async def order() -> list[str]:
        return [dish["name"] for dish in (await api.ok("GET", "/api/menu"))["items"]]
    assert await order() == ["Pajeon", "Bulgogi", "Galbi", "Sikhye", "Soju", "Kimchi"]
    async with subscribed(session, server, "menu") as (menu,):
        await api.ok("PATCH", f"/api/menu/{made['Galbi']}", {"position": 0})
        moved = (await already_sent(menu))["data"]
        assert moved["kind"] == "snapshot"
        assert [dish["name"] for dish in moved["items"]] == await order() == [
            "Pajeon", "Galbi", "Bulgogi", "Sikhye", "Soju", "Kimchi"]
        # 86 moves nothing: one dish, upserted in place.
        await api.ok("PATCH", f"/api/menu/{made['Soju']}", {"available": False},
                     token="kitchen-token-test")
        data = (await already_sent(menu))["data"]
        assert (data["kind"], [dish["name"] for dish in data["items"]]) == ("upsert", ["Soju"])
        # A dish that comes last in that order is an upsert; one that comes before others is
        # the whole menu again, in order.
        await _dish(api, "Tteokbokki", category="sides", position=1)
        data = (await already_sent(menu))["data"]
        assert (data["kind"], [dish["name"] for dish in data["items"]]) == (
            "upsert", ["Tteokbokki"])
        await _dish(api, "Japchae", category="starters", position=1)
        data = (await already_sent(menu))["data"]
        assert data["kind"] == "snapshot"
        assert [dish["name"] for dish in data["items"]] == await order() == [
            "Pajeon", "Japchae", "Galbi", "Bulgogi", "Sikhye", "Soju", "Kimchi", "Tteokbokki"]

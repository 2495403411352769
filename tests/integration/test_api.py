"""docs/api.md through the real REST API, real WebSocket subscribers and real robots over TCP.

Every write is checked where a client would see it: the HTTP answer, the topic's WebSocket
stream (already in flight when the answer arrives) and the SQLite file, read through a
separate connection so that only committed rows are visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer


from ..support.api_client import (Api, already_sent, assert_error, robot_offline, subscribed)
from ..support.server import db_rows, events_of, receive_json, ws_url
from ..support.mirror import TopicMirror
from ..support.robot_client import RobotClient

# ---- committed and broadcast before the response (docs/api.md, "Conventions") ----


async def test_order_writes_are_committed_and_broadcast_before_the_response(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    topics = subscribed(session, server, "orders", "tables", "events")
    async with topics as (orders, tables, events):
        order = await api.ok("POST", "/api/orders", {
            "table_id": table["id"], "note": "window seat",
            "items": [{"name": "Pizza", "qty": 2, "note": "well done", "modifiers": ["basil"]}]},
            201)
        update = await already_sent(orders)
        assert update["data"] == {"kind": "upsert", "items": [order]}
        [row] = db_rows(server, "SELECT * FROM orders WHERE id = ?", order["id"])
        assert (row["status"], row["table_id"], row["note"]) == ("placed", table["id"],
                                                                 "window seat")
        assert orjson.loads(row["items"]) == [{"name": "Pizza", "qty": 2, "note": "well done",
                                               "modifiers": ["basil"], "done": False,
                                               "station": "kitchen", "done_at": None,
                                               "menu_id": None, "price": 0, "options": []}]
        [table_now] = (await already_sent(tables))["data"]["items"]
        assert table_now["open_order_ids"] == [order["id"]]
        [placed] = (await already_sent(events))["data"]["items"]
        assert placed["type"] == "order_placed" and placed["data"]["order_id"] == order["id"]
        assert events_of(server, "order_placed")[0]["id"] == placed["id"]

        changed = await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": "preparing"})
        assert (await already_sent(orders))["data"]["items"] == [changed]
        [row] = db_rows(server, "SELECT status, updated_at FROM orders WHERE id = ?", order["id"])
        assert (row["status"], row["updated_at"]) == ("preparing", changed["updated_at"])


async def test_inventory_writes_are_committed_and_broadcast_before_the_response(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    async with subscribed(session, server, "inventory") as (inventory,):
        item = await api.ok("POST", "/api/inventory", {
            "sku": "FLOUR", "name": "Flour", "quantity": 20, "unit": "kg", "low_threshold": 5},
            201)
        assert (await already_sent(inventory))["data"] == {"kind": "upsert", "items": [item]}
        [row] = db_rows(server, "SELECT * FROM inventory WHERE id = ?", item["id"])
        assert (row["sku"], row["quantity"], row["low_threshold"]) == ("FLOUR", 20, 5)

        changed = await api.ok("PATCH", f"/api/inventory/{item['id']}", {"delta": -4.5})
        assert changed["quantity"] == 15.5
        assert (await already_sent(inventory))["data"]["items"] == [changed]
        [row] = db_rows(server, "SELECT quantity FROM inventory WHERE id = ?", item["id"])
        assert row["quantity"] == 15.5


async def test_table_writes_are_committed_and_broadcast_before_the_response(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    async with subscribed(session, server, "tables") as (tables,):
        table = await api.ok("POST", "/api/tables", {"label": "Patio 1", "seats": 6, "x": 1.5,
                                                     "y": 2.0}, 201)
        assert table["status"] == "available" and table["open_order_ids"] == []
        assert (await already_sent(tables))["data"] == {"kind": "upsert", "items": [table]}
        [row] = db_rows(server, "SELECT * FROM dining_tables WHERE id = ?", table["id"])
        assert (row["label"], row["seats"], row["x"]) == ("Patio 1", 6, 1.5)

        changed = await api.ok("PATCH", f"/api/tables/{table['id']}",
                               {"status": "reserved", "seats": 8})
        assert (changed["status"], changed["seats"]) == ("reserved", 8)
        assert (await already_sent(tables))["data"]["items"] == [changed]
        [row] = db_rows(server, "SELECT status, seats FROM dining_tables WHERE id = ?",
                        table["id"])
        assert (row["status"], row["seats"]) == ("reserved", 8)


# ---- every endpoint's error codes ----

# (method, path, a valid body or None, the success status). {table}, {order}, ... are ids of rows
# made before each test; "r1" is a connected robot.
ENDPOINTS = [
    ("POST", "/api/orders", {"table_id": "{table}", "items": [{"name": "Soup"}]}, 201),
    ("PATCH", "/api/orders/{order}", {"status": "preparing"}, 200),
    ("POST", "/api/tables", {"label": "T9", "seats": 2}, 201),
    ("PATCH", "/api/tables/{table}", {"status": "reserved"}, 200),
    ("POST", "/api/customers", {"name": "Ada", "party_size": 2}, 201),
    ("PATCH", "/api/customers/{customer}", {"phone": "555-0100"}, 200),
    ("DELETE", "/api/customers/{customer}", None, 204),
    ("POST", "/api/inventory", {"sku": "NEW", "name": "New", "quantity": 1}, 201),
    ("PATCH", "/api/inventory/{inventory}", {"quantity": 3}, 200),
    ("POST", "/api/video_streams", {"name": "Cam", "url": "rtsp://cam/1"}, 201),
    ("PATCH", "/api/video_streams/{stream}", {"status": "active"}, 200),
    ("DELETE", "/api/video_streams/{stream}", None, 204),
    ("POST", "/api/events/{event}/ack", None, 200),
    ("POST", "/api/robots/r1/commands", {"command": "go_to", "table_id": "{table}"}, 202),
    ("POST", "/api/visits", {"table_id": "{free}", "party_size": 2}, 201),
]


async def seed(api: Api) -> dict[str, int]:
    """One row of every kind, for the endpoints that address one (a table with an order, so an
    open visit, and a free one)."""
    table = await api.table()
    order = await api.order(table["id"])
    free = await api.table("Free")
    customer = await api.ok("POST", "/api/customers", {"name": "Bo"}, 201)
    inventory = await api.ok("POST", "/api/inventory",
                             {"sku": "EGG", "name": "Eggs", "quantity": 30}, 201)
    stream = await api.ok("POST", "/api/video_streams", {"name": "Door", "url": "rtsp://d"}, 201)
    [event] = events_of(api.server, "order_placed")
    return {"table": table["id"], "free": free["id"], "order": order["id"],
            "customer": customer["id"], "inventory": inventory["id"], "stream": stream["id"],
            "event": event["id"]}


def fill(template: Any, ids: dict[str, int]) -> Any:
    """Put the seeded ids into a path or a body."""
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in ids:
            return ids[template[1:-1]]
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, ids) for value in template]
    return template


def unknown_id(path: str) -> str | None:
    """The path with its id replaced by one nobody has, or None when it addresses no row."""
    parts = path.split("/")
    if len(parts) < 4:
        return None
    parts[3] = "ghost" if parts[2] == "robots" else "9999"
    return "/".join(parts)


@pytest.mark.parametrize("method,path,body,success", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
async def test_endpoint_answers_each_error_in_the_error_shape_and_succeeds_when_valid(
    server: TestServer, api: Api, method: str, path: str, body: Any, success: int
) -> None:
    robot = await RobotClient.hello(server, "r1")  # held: a dropped client goes offline
    ids = await seed(api)
    path, body = fill(path, ids), fill(body, ids)

    assert_error(await api.call(method, path, body, token=None), 401, "unauthorized")
    assert_error(await api.call(method, path, body, token="not-a-token"), 401, "unauthorized")
    assert_error(await api.call(method, path, body, token="robot-token-test"), 403, "forbidden")
    if body is not None:
        as_text = await api.call(method, path, data=orjson.dumps(body),
                                 headers={"Content-Type": "text/plain"})
        assert_error(as_text, 415, "unsupported_media_type")
        as_form = await api.call(method, path, data={"field": "value"})
        assert_error(as_form, 415, "unsupported_media_type")
        huge = {**body, "padding": "x" * (64 * 1024)}
        assert_error(await api.call(method, path, huge), 413, "too_large")
        broken = await api.call(method, path, data=b'{"oops',
                                headers={"Content-Type": "application/json"})
        assert_error(broken, 400, "validation_error", names="JSON")
        assert_error(await api.call(method, path, {**body, "colour": "red"}), 400,
                     "validation_error", names="colour")
    missing = unknown_id(path)
    if missing is not None:
        assert_error(await api.call(method, missing, body), 404, "not_found")
    for bad_id in ("abc", "1.5", str(2**63), "9" * 30):  # not ids, or beyond SQLite's integers
        if missing is not None and "/robots/" not in path:
            assert_error(await api.call(method, path.replace(str(path.split("/")[3]), bad_id),
                                        body), 404, "not_found")

    reply = await api.call(method, path, body)
    assert reply.status == success, reply
    if success == 204:
        assert reply.body == b""
    await robot.close()


async def test_unknown_paths_and_methods_answer_in_the_error_shape(api: Api) -> None:
    assert_error(await api.call("GET", "/api/nothing"), 404, "not_found", names="nothing")
    assert_error(await api.call("GET", "/api/orders/1/extra"), 404, "not_found")
    assert_error(await api.call("DELETE", "/api/orders/1"), 405, "method_not_allowed")
    assert_error(await api.call("GET", "/api/orders", token=None), 401, "unauthorized")


async def test_a_chunked_body_over_64_kib_is_too_large(api: Api) -> None:
    table = await api.table()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"table_id": %d, "items": [{"name": "Soup"}], "note": "' % table["id"]
        for _ in range(10):
            yield b"x" * 8000
        yield b'"}'

    reply = await api.call("POST", "/api/orders", data=chunks(),
                           headers={"Content-Type": "application/json"})
    assert_error(reply, 413, "too_large")
    assert db_rows(api.server, "SELECT * FROM orders") == []


@pytest.mark.parametrize("body,field", [
    ({"table_id": "{table}"}, "items"),
    ({"items": [{"name": "Soup"}]}, "table_id"),
    ({"table_id": "{table}", "items": []}, "items"),
    ({"table_id": "{table}", "items": [{"name": "Soup", "qty": 0}]}, "items.0.qty"),
    ({"table_id": "{table}", "items": [{"name": "Soup"}, {"name": "Tea", "qty": "two"}]},
     "items.1.qty"),
    ({"table_id": "{table}", "items": [{"name": "Soup", "qty": 1000}]}, "items.0.qty"),
    ({"table_id": "{table}", "items": [{"qty": 1}]}, "items.0"),  # no name, no menu_id
    ({"table_id": "{table}", "items": [{"name": "Soup", "modifiers": "salt"}]},
     "items.0.modifiers"),
    ({"table_id": 424242, "items": [{"name": "Soup"}]}, "table_id"),
    ({"table_id": 2**63, "items": [{"name": "Soup"}]}, "table_id"),
    ({"table_id": 2**64 - 1, "items": [{"name": "Soup"}]}, "table_id"),
    ([{"name": "Soup"}], "body"),
])
async def test_a_bad_order_is_refused_naming_the_field_and_nothing_is_written(
    api: Api, body: Any, field: str
) -> None:
    table = await api.table()
    reply = await api.call("POST", "/api/orders", fill(body, {"table": table["id"]}))
    message = assert_error(reply, 400, "validation_error")
    assert message.startswith(f"{field}:"), message
    assert db_rows(api.server, "SELECT * FROM orders") == []
    assert events_of(api.server, "order_placed") == []


# ---- the order lifecycle (docs/api.md, "The order state machine") ----

ALLOWED = {
    "placed": {"preparing", "cancelled"},
    "preparing": {"ready", "placed", "cancelled"},
    "ready": {"delivering", "served", "preparing", "cancelled"},
    "delivering": {"served", "ready", "cancelled"},
    "served": set(),
    "cancelled": set(),
}
# How an order placed just now gets to each status.
PATH_TO = {
    "placed": [],
    "preparing": ["preparing"],
    "ready": ["preparing", "ready"],
    "delivering": ["preparing", "ready", "delivering"],
    "served": ["preparing", "ready", "served"],
    "cancelled": ["cancelled"],
}
MOVES = sorted((src, dst) for src, targets in ALLOWED.items() for dst in targets)
REFUSED = sorted((src, dst) for src in ALLOWED for dst in ALLOWED
                 if dst not in ALLOWED[src] and (dst != src or not ALLOWED[src]))


def test_the_move_tables_cover_the_spec() -> None:
    assert len(MOVES) == 12
    assert ("placed", "ready") in REFUSED and ("served", "placed") in REFUSED
    assert ("cancelled", "cancelled") in REFUSED and ("served", "served") in REFUSED
    assert len(REFUSED) == 6 * 6 - 12 - 4  # same-status on an open order is a no-op, not a move


@pytest.mark.parametrize("src,dst", MOVES, ids=[f"{s}->{d}" for s, d in MOVES])
async def test_every_allowed_move_succeeds(api: Api, src: str, dst: str) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    await api.move(order["id"], *PATH_TO[src])
    moved = await api.ok("PATCH", f"/api/orders/{order['id']}", {"status": dst})
    assert moved["status"] == dst
    [row] = db_rows(api.server, "SELECT status FROM orders WHERE id = ?", order["id"])
    assert row["status"] == dst


@pytest.mark.parametrize("src,dst", REFUSED, ids=[f"{s}->{d}" for s, d in REFUSED])
async def test_every_other_move_is_a_conflict_and_changes_nothing(
    api: Api, src: str, dst: str
) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    before = await api.move(order["id"], *PATH_TO[src]) or order
    reply = await api.call("PATCH", f"/api/orders/{order['id']}", {"status": dst})
    assert_error(reply, 409, "conflict", names=str(order["id"]))
    [row] = db_rows(api.server, "SELECT status, updated_at FROM orders WHERE id = ?", order["id"])
    assert (row["status"], row["updated_at"]) == (src, before["updated_at"])


async def test_two_tablets_closing_one_order_at_once_cannot_both_win(
    server: TestServer, api: Api
) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    await api.move(order["id"], "preparing", "ready")
    path = f"/api/orders/{order['id']}"
    served, cancelled = await asyncio.gather(api.call("PATCH", path, {"status": "served"}),
                                             api.call("PATCH", path, {"status": "cancelled"}))
    assert sorted([served.status, cancelled.status]) == [200, 409], (served, cancelled)
    winner = served if served.status == 200 else cancelled
    [row] = db_rows(server, "SELECT status, served_at FROM orders")
    assert row["status"] == winner.body["status"]
    assert (row["served_at"] is not None) == (row["status"] == "served")
    assert len(events_of(server, "order_served")) == (row["status"] == "served")


@pytest.mark.parametrize("final", ["served", "cancelled"])
async def test_a_closed_order_refuses_every_change(api: Api, final: str) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    await api.move(order["id"], *PATH_TO[final])
    for change in ({"items": [{"index": 0, "done": True}]}, {"robot_id": None}, {"status": final}):
        assert_error(await api.call("PATCH", f"/api/orders/{order['id']}", change), 409,
                     "conflict", names=final)
    [row] = db_rows(api.server, "SELECT items, robot_id FROM orders WHERE id = ?", order["id"])
    assert orjson.loads(row["items"])[0]["done"] is False


async def test_ready_and_served_are_stamped_and_a_recall_clears_ready(api: Api) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    assert (order["ready_at"], order["served_at"]) == (None, None)
    assert order["created_at"].endswith("Z") and order["created_at"] == order["updated_at"]
    ready = await api.move(order["id"], "preparing", "ready")
    assert ready["ready_at"] and ready["ready_at"].endswith("Z") and ready["served_at"] is None
    assert ready["ready_at"] >= order["created_at"]
    recalled = await api.move(order["id"], "preparing")
    assert recalled["ready_at"] is None
    again = await api.move(order["id"], "ready")
    assert again["ready_at"] >= ready["ready_at"]
    served = await api.move(order["id"], "served")
    assert served["served_at"] and served["served_at"] >= again["ready_at"]
    assert served["ready_at"] == again["ready_at"]
    [row] = db_rows(api.server, "SELECT ready_at, served_at FROM orders WHERE id = ?",
                    order["id"])
    assert (row["ready_at"], row["served_at"]) == (served["ready_at"], served["served_at"])
    assert [e["type"] for e in db_rows(api.server, "SELECT type FROM events ORDER BY id")] == [
        "order_placed", "order_ready", "order_ready", "order_served"]


async def test_items_are_marked_done_one_by_one(api: Api) -> None:
    table = await api.table()
    order = await api.order(table["id"], "Soup", "Bread", "Tea")
    path = f"/api/orders/{order['id']}"
    marked = await api.ok("PATCH", path, {"items": [{"index": 0, "done": True},
                                                    {"index": 2, "done": True}]})
    assert [item["done"] for item in marked["items"]] == [True, False, True]
    assert marked["status"] == "preparing"  # the first item done starts the ticket
    stamps = [item["done_at"] for item in marked["items"]]
    assert stamps[0] is not None and stamps[0] == stamps[2] and stamps[1] is None
    unmarked = await api.ok("PATCH", path, {"items": [{"index": 0, "done": False}]})
    assert [item["done"] for item in unmarked["items"]] == [False, False, True]
    assert unmarked["items"][0]["done_at"] is None and unmarked["status"] == "preparing"
    assert_error(await api.call("PATCH", path, {"items": [{"index": 3, "done": True}]}), 400,
                 "validation_error", names="items")
    assert_error(await api.call("PATCH", path, {"items": [{"index": 0}]}), 400,
                 "validation_error", names="items.0.done")
    [row] = db_rows(api.server, "SELECT items FROM orders WHERE id = ?", order["id"])
    assert [item["done"] for item in orjson.loads(row["items"])] == [False, False, True]


async def test_an_order_is_assigned_to_a_known_robot_only(server: TestServer, api: Api) -> None:
    table = await api.table()
    order = await api.order(table["id"])
    path = f"/api/orders/{order['id']}"
    assert_error(await api.call("PATCH", path, {"robot_id": "nobody"}), 400, "validation_error",
                 names="robot_id")
    robot = await RobotClient.hello(server, "r7")
    assert (await api.ok("PATCH", path, {"robot_id": "r7"}))["robot_id"] == "r7"
    assert (await api.ok("PATCH", path, {"robot_id": None}))["robot_id"] is None
    [row] = db_rows(server, "SELECT robot_id FROM orders WHERE id = ?", order["id"])
    assert row["robot_id"] is None
    await robot.close()


async def test_a_tables_open_orders_follow_its_orders(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    async with subscribed(session, server, "tables") as (tables,):
        first = await api.order(table["id"])
        assert (await already_sent(tables))["data"]["items"][0]["open_order_ids"] == [first["id"]]
        second = await api.order(table["id"])
        assert (await already_sent(tables))["data"]["items"][0]["open_order_ids"] == [
            first["id"], second["id"]]
        await api.move(first["id"], "preparing", "ready", "served")
        assert (await already_sent(tables))["data"]["items"][0]["open_order_ids"] == [
            second["id"]]
        await api.move(second["id"], "cancelled")
        assert (await already_sent(tables))["data"]["items"][0]["open_order_ids"] == []
    [now] = (await api.ok("GET", "/api/tables"))["items"]
    assert now["open_order_ids"] == []


async def test_an_order_lives_from_placed_to_served_by_a_robot(
    server: TestServer, api: Api
) -> None:
    robot = await RobotClient.hello(server, "r1")
    table = await api.table()
    order = await api.order(table["id"], "Pasta", "Water")
    path = f"/api/orders/{order['id']}"
    await api.move(order["id"], "preparing")
    await api.ok("PATCH", path, {"items": [{"index": 0, "done": True},
                                           {"index": 1, "done": True}]})
    await api.move(order["id"], "ready")
    on_its_way = await api.ok("PATCH", path, {"status": "delivering", "robot_id": "r1"})
    assert (on_its_way["status"], on_its_way["robot_id"]) == ("delivering", "r1")

    await robot.send({"type": "event", "event": "delivered", "order_id": order["id"], "id": 1})
    assert await robot.receive() == {"type": "ack", "id": 1}
    [row] = db_rows(server, "SELECT * FROM orders WHERE id = ?", order["id"])
    assert (row["status"], row["robot_id"]) == ("served", "r1")
    assert row["served_at"] and row["ready_at"]
    for kind in ("order_placed", "order_ready", "order_served"):
        [event] = events_of(server, kind)
        assert orjson.loads(event["data"])["order_id"] == order["id"], kind
    assert orjson.loads(events_of(server, "order_served")[0]["data"])["robot_id"] == "r1"
    [delivered] = events_of(server, "delivered")
    assert delivered["source"] == "robot:r1"
    served = (await api.ok("GET", "/api/orders"))["items"]
    assert [(o["id"], o["status"]) for o in served] == [(order["id"], "served")]
    assert (await api.ok("GET", "/api/tables"))["items"][0]["open_order_ids"] == []
    assert_error(await api.call("PATCH", path, {"status": "ready"}), 409, "conflict")

    # Delivered twice: the order stays served and is not served again.
    await robot.send({"type": "event", "event": "delivered", "order_id": order["id"], "id": 2})
    assert await robot.receive() == {"type": "ack", "id": 2}
    assert len(events_of(server, "order_served")) == 1
    await robot.close()


# ---- inventory ----


async def test_inventory_status_is_derived_from_quantity(api: Api) -> None:
    expected = {0: "out_of_stock", 2: "low_stock", 5: "low_stock", 5.5: "in_stock",
                100: "in_stock"}
    for n, (quantity, status) in enumerate(expected.items()):
        item = await api.ok("POST", "/api/inventory", {
            "sku": f"S{n}", "name": f"thing {n}", "quantity": quantity, "low_threshold": 5}, 201)
        assert (item["quantity"], item["status"]) == (quantity, status)
    listed = (await api.ok("GET", "/api/inventory"))["items"]
    assert [i["status"] for i in listed] == list(expected.values())
    item = listed[-1]
    path = f"/api/inventory/{item['id']}"
    assert (await api.ok("PATCH", path, {"low_threshold": 200}))["status"] == "low_stock"
    assert (await api.ok("PATCH", path, {"quantity": 0}))["status"] == "out_of_stock"
    assert (await api.ok("PATCH", path, {"delta": 250}))["status"] == "in_stock"


async def test_inventory_takes_a_delta_or_a_quantity_and_never_goes_below_zero(
    server: TestServer, api: Api
) -> None:
    item = await api.ok("POST", "/api/inventory",
                        {"sku": "MILK", "name": "Milk", "quantity": 10, "unit": "l"}, 201)
    path = f"/api/inventory/{item['id']}"
    assert (await api.ok("PATCH", path, {"delta": -3}))["quantity"] == 7
    assert (await api.ok("PATCH", path, {"delta": 1.5}))["quantity"] == 8.5
    assert (await api.ok("PATCH", path, {"quantity": 4}))["quantity"] == 4
    assert_error(await api.call("PATCH", path, {"quantity": 1, "delta": 1}), 400,
                 "validation_error", names="delta")
    assert_error(await api.call("PATCH", path, {"delta": -5}), 409, "conflict", names="MILK")
    assert_error(await api.call("PATCH", path, {"quantity": -1}), 400, "validation_error",
                 names="quantity")
    assert_error(await api.call("PATCH", path, {"delta": "lots"}), 400, "validation_error",
                 names="delta")
    assert_error(await api.call("PATCH", "/api/inventory/9999", {"delta": 1}), 404, "not_found")
    [row] = db_rows(server, "SELECT quantity FROM inventory WHERE id = ?", item["id"])
    assert row["quantity"] == 4
    assert (await api.ok("PATCH", path, {"delta": -4}))["quantity"] == 0
    await api.ok("PATCH", path, {"quantity": 1e308})
    assert_error(await api.call("PATCH", path, {"delta": 1e308}), 400, "validation_error",
                 names="delta")
    [row] = db_rows(server, "SELECT quantity FROM inventory WHERE id = ?", item["id"])
    assert row["quantity"] == 1e308


async def test_stock_events_are_raised_once_per_crossing(server: TestServer, api: Api) -> None:
    item = await api.ok("POST", "/api/inventory", {
        "sku": "BASIL", "name": "Basil", "quantity": 10, "unit": "bunch", "low_threshold": 3},
        201)
    path = f"/api/inventory/{item['id']}"

    def counts() -> tuple[int, int]:
        return len(events_of(server, "inventory_low")), len(events_of(server, "inventory_out"))

    for delta, expected in [(-6, (0, 0)), (-1, (1, 0)), (-1, (1, 0)), (-1, (1, 0)),
                            (-1, (1, 1)), (0, (1, 1))]:
        await api.ok("PATCH", path, {"delta": delta})
        assert counts() == expected, (delta, counts())
    await api.ok("PATCH", path, {"quantity": 0})
    await api.ok("PATCH", path, {"low_threshold": 4})
    assert counts() == (1, 1), "still out: nothing new"
    await api.ok("PATCH", path, {"quantity": 10})
    await api.ok("PATCH", path, {"quantity": 2})
    assert counts() == (2, 1), "restocked, then low again: a new crossing"
    [low, _] = events_of(server, "inventory_low")
    assert low["severity"] == "warning" and orjson.loads(low["data"])["sku"] == "BASIL"
    [out] = events_of(server, "inventory_out")
    assert out["severity"] == "error" and orjson.loads(out["data"])["inventory_id"] == item["id"]


async def test_a_duplicate_sku_is_a_conflict(server: TestServer, api: Api) -> None:
    await api.ok("POST", "/api/inventory", {"sku": "OIL", "name": "Oil", "quantity": 5}, 201)
    reply = await api.call("POST", "/api/inventory", {"sku": "OIL", "name": "Olive oil",
                                                      "quantity": 1})
    assert_error(reply, 409, "conflict", names="OIL")
    assert [r["name"] for r in db_rows(server, "SELECT name FROM inventory")] == ["Oil"]
    assert_error(await api.call("POST", "/api/inventory", {"sku": "X", "name": "X"}), 400,
                 "validation_error", names="quantity")


async def test_concurrent_deltas_are_all_counted_and_stop_at_zero(
    server: TestServer, api: Api
) -> None:
    item = await api.ok("POST", "/api/inventory",
                        {"sku": "CUP", "name": "Cups", "quantity": 100, "low_threshold": 10}, 201)
    path = f"/api/inventory/{item['id']}"
    replies = await asyncio.gather(*(api.call("PATCH", path, {"delta": -1}) for _ in range(20)))
    assert [r.status for r in replies] == [200] * 20
    assert db_rows(server, "SELECT quantity FROM inventory")[0]["quantity"] == 80
    await api.ok("PATCH", path, {"quantity": 5})
    replies = await asyncio.gather(*(api.call("PATCH", path, {"delta": -1}) for _ in range(8)))
    assert sorted(r.status for r in replies) == [200] * 5 + [409] * 3
    assert db_rows(server, "SELECT quantity FROM inventory")[0]["quantity"] == 0
    assert (len(events_of(server, "inventory_low")), len(events_of(server, "inventory_out"))) == (
        1, 1)


# ---- tables, customers, video streams ----


async def test_tables_are_created_and_changed(server: TestServer, api: Api) -> None:
    table = await api.table("A1", 2)
    path = f"/api/tables/{table['id']}"
    assert_error(await api.call("POST", "/api/tables", {"label": "A2", "seats": 0}), 400,
                 "validation_error", names="seats")
    assert_error(await api.call("POST", "/api/tables", {"seats": 2}), 400, "validation_error",
                 names="label")
    assert_error(await api.call("PATCH", path, {"status": "dirty"}), 400, "validation_error",
                 names="status")
    assert_error(await api.call("PATCH", path, {"customer_id": 77}), 400, "validation_error",
                 names="customer_id")
    assert_error(await api.call("PATCH", path, {"customer_id": 2**63}), 400,
                 "validation_error", names="customer_id")
    assert_error(await api.call("PATCH", "/api/tables/9999", {"seats": 3}), 404, "not_found")
    changed = await api.ok("PATCH", path, {"label": "A1b", "status": "out_of_service"})
    assert (changed["label"], changed["status"], changed["seats"]) == ("A1b", "out_of_service", 2)
    assert changed["updated_at"] >= table["updated_at"]
    [row] = db_rows(server, "SELECT label, status FROM dining_tables")
    assert tuple(row) == ("A1b", "out_of_service")


async def test_customers_seat_and_leave_tables(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    async with subscribed(session, server, "customers", "tables") as (customers, tables):
        guest = await api.ok("POST", "/api/customers",
                             {"name": "Ada", "phone": "555-0199", "party_size": 3}, 201)
        assert (guest["status"], guest["table_id"], guest["party_size"]) == ("waiting", None, 3)
        assert (await already_sent(customers))["data"]["items"] == [guest]
        path = f"/api/customers/{guest['id']}"

        seated = await api.ok("PATCH", path, {"status": "seated", "table_id": table["id"]})
        assert (seated["status"], seated["table_id"]) == ("seated", table["id"])
        assert (await already_sent(customers))["data"]["items"] == [seated]
        [occupied] = (await already_sent(tables))["data"]["items"]
        assert (occupied["status"], occupied["customer_id"]) == ("occupied", guest["id"])
        [row] = db_rows(server, "SELECT status, customer_id FROM dining_tables")
        assert tuple(row) == ("occupied", guest["id"])

        left = await api.ok("PATCH", path, {"status": "left"})
        assert left["status"] == "left"
        await already_sent(customers)
        [cleaning] = (await already_sent(tables))["data"]["items"]
        assert (cleaning["status"], cleaning["customer_id"]) == ("needs_cleaning", None)
        [row] = db_rows(server, "SELECT status, customer_id FROM dining_tables")
        assert tuple(row) == ("needs_cleaning", None)

        reply = await api.call("DELETE", path)
        assert (reply.status, reply.body) == (204, b"")
        assert (await already_sent(customers))["data"] == {"kind": "delete", "items": [],
                                                           "ids": [guest["id"]]}
        assert db_rows(server, "SELECT * FROM customers") == []
        assert_error(await api.call("DELETE", path), 404, "not_found")
        assert_error(await api.call("PATCH", path, {"name": "Eve"}), 404, "not_found")


async def test_a_customer_seated_on_arrival_and_deleted_frees_the_table(
    server: TestServer, api: Api
) -> None:
    table = await api.table()
    guest = await api.ok("POST", "/api/customers", {"name": "Lin", "status": "seated",
                                                    "table_id": table["id"]}, 201)
    [row] = db_rows(server, "SELECT status, customer_id FROM dining_tables")
    assert tuple(row) == ("occupied", guest["id"])
    await api.ok("DELETE", f"/api/customers/{guest['id']}", status=204)
    [row] = db_rows(server, "SELECT status, customer_id FROM dining_tables")
    assert tuple(row) == ("needs_cleaning", None)
    assert_error(await api.call("POST", "/api/customers", {"name": "Max", "table_id": 999}), 400,
                 "validation_error", names="table_id")
    assert_error(await api.call("POST", "/api/customers", {"name": "Max", "table_id": 2**63}),
                 400, "validation_error", names="table_id")
    assert_error(await api.call("POST", "/api/customers", {"name": "Max", "party_size": 0}), 400,
                 "validation_error", names="party_size")
    assert_error(await api.call("POST", "/api/customers", {"party_size": 2}), 400,
                 "validation_error", names="name")
    assert db_rows(server, "SELECT * FROM customers") == []


async def test_moving_a_seated_customer_frees_the_table_they_left(
    server: TestServer, api: Api
) -> None:
    first, second = await api.table("A"), await api.table("B")
    guest = await api.ok("POST", "/api/customers", {"name": "Kim", "status": "seated",
                                                    "table_id": first["id"]}, 201)
    path = f"/api/customers/{guest['id']}"
    await api.ok("PATCH", path, {"table_id": second["id"]})
    tables = {t["id"]: t for t in (await api.ok("GET", "/api/tables"))["items"]}
    assert (tables[first["id"]]["status"], tables[first["id"]]["customer_id"]) == (
        "needs_cleaning", None)
    assert (tables[second["id"]]["status"], tables[second["id"]]["customer_id"]) == (
        "occupied", guest["id"])
    await api.ok("PATCH", path, {"status": "waiting"})
    rows = db_rows(server, "SELECT status, customer_id FROM dining_tables ORDER BY id")
    assert [tuple(r) for r in rows] == [("needs_cleaning", None), ("needs_cleaning", None)]


async def test_video_streams_are_created_changed_and_deleted(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    async with subscribed(session, server, "video_streams") as (streams,):
        stream = await api.ok("POST", "/api/video_streams",
                              {"name": "Pass", "url": "rtsp://cam-2/s", "robot_id": "r3"}, 201)
        assert (stream["status"], stream["robot_id"]) == ("inactive", "r3")
        assert (await already_sent(streams))["data"]["items"] == [stream]
        path = f"/api/video_streams/{stream['id']}"
        live = await api.ok("PATCH", path, {"status": "active", "url": "rtsp://cam-2/hd"})
        assert (live["status"], live["url"]) == ("active", "rtsp://cam-2/hd")
        assert (await already_sent(streams))["data"]["items"] == [live]
        [row] = db_rows(server, "SELECT status, url FROM video_streams")
        assert tuple(row) == ("active", "rtsp://cam-2/hd")
        assert_error(await api.call("PATCH", path, {"status": "broken"}), 400,
                     "validation_error", names="status")
        assert_error(await api.call("POST", "/api/video_streams", {"name": "No url"}), 400,
                     "validation_error", names="url")

        assert (await api.call("DELETE", path)).status == 204
        assert (await already_sent(streams))["data"] == {"kind": "delete", "items": [],
                                                         "ids": [stream["id"]]}
        assert db_rows(server, "SELECT * FROM video_streams") == []
        assert_error(await api.call("DELETE", path), 404, "not_found")
        assert_error(await api.call("PATCH", path, {"status": "active"}), 404, "not_found")


# ---- events and robot commands ----


async def test_acknowledging_an_event_is_stamped_and_broadcast(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    await api.order(table["id"])
    [placed] = events_of(server, "order_placed")
    assert placed["acknowledged_at"] is None
    async with subscribed(session, server, "events") as (events,):
        acked = await api.ok("POST", f"/api/events/{placed['id']}/ack")
        assert acked["id"] == placed["id"] and acked["type"] == "order_placed"
        assert acked["acknowledged_at"] and acked["acknowledged_at"].endswith("Z")
        assert (await already_sent(events))["data"] == {"kind": "upsert", "items": [acked]}
        [row] = db_rows(server, "SELECT acknowledged_at FROM events WHERE id = ?", placed["id"])
        assert row["acknowledged_at"] == acked["acknowledged_at"]
        again = await api.ok("POST", f"/api/events/{placed['id']}/ack")
        assert again["acknowledged_at"] == acked["acknowledged_at"], "the first stamp stays"
    snapshot = (await api.ok("GET", "/api/events"))["items"]
    assert [e["acknowledged_at"] for e in snapshot] == [acked["acknowledged_at"]]
    assert_error(await api.call("POST", "/api/events/9999/ack"), 404, "not_found")


async def test_a_command_reaches_the_robot_and_its_result_becomes_an_event(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    robot = await RobotClient.hello(server, "r1")
    table = await api.table()
    order = await api.order(table["id"])
    reply = await api.call("POST", "/api/robots/r1/commands",
                           {"command": "deliver", "table_id": table["id"],
                            "order_id": order["id"]})
    assert reply.status == 202 and set(reply.body) == {"id"}, reply
    command_id = reply.body["id"]
    # Its one stop as a task's command has it, with the table's position (none set here).
    assert await robot.receive() == {"type": "command", "id": command_id, "command": "deliver",
                                     "table_id": table["id"], "order_id": order["id"],
                                     "stops": [{"table_id": table["id"],
                                                "order_ids": [order["id"]],
                                                "x": None, "y": None}]}

    async with subscribed(session, server, "events") as (events,):
        await robot.send({"type": "command_result", "command_id": command_id,
                          "status": "rejected", "detail": "door closed", "id": 5})
        assert await robot.receive() == {"type": "ack", "id": 5}
        [result] = (await receive_json(events))["data"]["items"]
    assert result["type"] == "command_result" and result["severity"] == "warning"
    assert result["data"] == {"robot_id": "r1", "command_id": command_id, "status": "rejected",
                              "detail": "door closed"}
    assert [e["id"] for e in events_of(server, "command_result")] == [result["id"]]

    plain = await api.ok("POST", "/api/robots/r1/commands", {"command": "charge"}, 202)
    # A charge names the dock it drives to: null while the dock is not set.
    assert await robot.receive() == {"type": "command", "id": plain["id"], "command": "charge",
                                     "to": None}
    assert plain["id"] != command_id
    await robot.close()


async def test_commands_are_refused_for_robots_that_cannot_take_them(
    server: TestServer, api: Api
) -> None:
    robot = await RobotClient.hello(server, "r1")
    assert_error(await api.call("POST", "/api/robots/ghost/commands", {"command": "pause"}), 404,
                 "not_found", names="ghost")
    assert_error(await api.call("POST", "/api/robots/r1/commands", {"command": "fly"}), 400,
                 "validation_error", names="command")
    assert_error(await api.call("POST", "/api/robots/r1/commands", {}), 400,
                 "validation_error", names="command")
    assert_error(await api.call("POST", "/api/robots/r1/commands",
                                {"command": "go_to", "table_id": 404}), 400,
                 "validation_error", names="table_id")
    assert_error(await api.call("POST", "/api/robots/r1/commands",
                                {"command": "deliver", "order_id": 404}), 400,
                 "validation_error", names="order_id")
    assert_error(await api.call("POST", "/api/robots/r1/commands",
                                {"command": "deliver", "order_id": 2**63}), 400,
                 "validation_error", names="order_id")
    await robot_offline(server, "r2")
    assert_error(await api.call("POST", "/api/robots/r2/commands", {"command": "resume"}), 409,
                 "conflict", names="r2")
    # None of the refused commands reached the connected robot: the next line it gets is ours.
    sent = await api.ok("POST", "/api/robots/r1/commands", {"command": "return"}, 202)
    assert await robot.receive() == {"type": "command", "id": sent["id"], "command": "return",
                                     "to": None}
    await robot.close()


# ---- reads ----

TOPICS = ["robots", "tables", "orders", "customers", "inventory", "video_streams", "events",
          "systemlogs", "status", "visits"]


@pytest.mark.parametrize("topic", TOPICS)
async def test_get_topic_holds_what_a_websocket_snapshot_holds(
    server: TestServer, api: Api, session: aiohttp.ClientSession, topic: str
) -> None:
    robot = await RobotClient.hello(server, "r1")
    await robot.send({"type": "log", "level": "ERROR", "message": "bumper stuck", "id": 1})
    await robot.receive()
    ids = await seed(api)
    await api.ok("PATCH", f"/api/orders/{ids['order']}", {"status": "preparing"})
    await api.ok("POST", f"/api/events/{ids['event']}/ack")
    await api.ok("PATCH", f"/api/inventory/{ids['inventory']}", {"quantity": 0})

    async with session.ws_connect(ws_url(server, topic)) as ws:
        snapshot = await receive_json(ws)
        reply = await api.ok("GET", f"/api/{topic}")
        assert set(reply) == {"items", "seq", "epoch"}
        assert reply["epoch"] == snapshot["data"]["epoch"]
        # The status item may be republished between the two reads: follow the stream to the
        # seq the GET saw, as a client would.
        mirror = TopicMirror(topic)
        assert mirror.apply(snapshot) is None
        while (mirror.seq or 0) < reply["seq"]:
            update = await receive_json(ws)
            if update["type"] == "update":
                assert mirror.apply(update) is None
        assert mirror.seq == reply["seq"]
        assert reply["items"] == list(mirror.items.values())
    assert reply["items"], f"{topic} should hold something after the writes above"
    await robot.close()

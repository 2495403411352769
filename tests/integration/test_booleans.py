"""`true` where a number is expected is a 400 naming the field, not the number 1
(core/numbers.py): through real HTTP to a real server, nothing written."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from ..support.api_client import Api, assert_error
from ..support.server import db_rows


async def test_priority_true_is_refused_and_priority_one_is_taken(server: TestServer,
                                                                  api: Api) -> None:
    table = await api.table()
    body = {"kind": "go_to", "table_id": table["id"]}
    assert_error(await api.call("POST", "/api/tasks", {**body, "priority": True}), 400,
                 "validation_error", "priority")
    assert db_rows(server, "SELECT 1 FROM tasks") == []
    task = await api.ok("POST", "/api/tasks", {**body, "priority": 1}, 201)
    assert task["priority"] == 1
    assert_error(await api.call("PATCH", f"/api/tasks/{task['id']}", {"priority": False}), 400,
                 "validation_error", "priority")


async def test_true_for_a_count_an_id_or_a_price_is_refused(server: TestServer,
                                                            api: Api) -> None:
    assert_error(await api.call("POST", "/api/tables", {"label": "T9", "seats": True}), 400,
                 "validation_error", "seats")
    table = await api.table()
    for item in ({"name": "Soup", "qty": True}, {"menu_id": True},
                 {"name": "Off menu", "price": True}):
        assert_error(await api.call("POST", "/api/orders",
                                    {"table_id": table["id"], "items": [item]}), 400,
                     "validation_error")
    assert_error(await api.call("POST", "/api/orders", {"table_id": True, "items": [
        {"name": "Soup"}]}), 400, "validation_error", "table_id")
    assert db_rows(server, "SELECT 1 FROM orders") == []

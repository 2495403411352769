"""Stock under pressure (SPEC §13 "Stock"): orders racing for the last portions, staff moves
racing orders, and kill -9 while orders and cancels pour in. What must never happen: two
orders sold the last portion, a quantity below zero, an order whose ingredients were not
taken (or a cancel whose were not given back), a move without its order."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.api_client import Api
from ..support.reliability import AUTH, RestartableServer, integrity
from ..support.server import MakeServer, db_path, db_rows, db_write
from ..support.stock import tofu_soup

KITCHEN = "kitchen-token-test"
# Binary fractions: every sum of them is exact, so the books must balance to the last bit.
RECIPES = {"Tofu soup": {"TOFU": 0.5, "RICE": 0.25}, "Rice bowl": {"RICE": 1.0},
           "Tea": {}}
START = {"TOFU": 100_000.0, "RICE": 100_000.0}


async def _setup(post: Any) -> dict[str, int]:
    """The lines of START, the dishes of RECIPES; the dishes' ids by name."""
    for sku, quantity in START.items():
        await post("/api/inventory", {"sku": sku, "name": sku.title(), "quantity": quantity})
    dishes = {}
    for name, recipe in RECIPES.items():
        dish = await post("/api/menu", {"name": name})
        await post(f"/api/menu/{dish['id']}/recipe", {"ingredients": [
            {"sku": sku, "qty": qty} for sku, qty in recipe.items()]}, method="PUT")
        dishes[name] = dish["id"]
    return dishes


Served = tuple[TestServer, Api]


@pytest.fixture
async def served(make_server: MakeServer, session: aiohttp.ClientSession) -> Served:
    """An in-process server (the races need no process to kill) and its REST client."""
    server = await make_server()
    return server, Api(session, server)


async def test_ten_orders_racing_for_the_last_portion_sell_it_once(
    served: Served
) -> None:
    server, api = served
    tofu, dish, first = await tofu_soup(api, 1)
    tables = [first] + [await api.table(f"T{n}") for n in range(2, 11)]
    replies = await asyncio.gather(*(api.call("POST", "/api/orders", {
        "table_id": table["id"], "items": [{"menu_id": dish["id"]}]}) for table in tables))
    assert sorted(reply.status for reply in replies) == [201] + [409] * 9
    assert {reply.body["error"]["code"] for reply in replies if reply.status == 409} == {
        "sold_out"}
    assert len(db_rows(server, "SELECT 1 FROM orders")) == 1
    assert db_rows(server, "SELECT quantity FROM inventory")[0][0] == 0
    [move] = db_rows(server, "SELECT * FROM inventory_moves")
    assert (move["inventory_id"], move["delta"], move["reason"]) == (tofu["id"], -1, "order")
    [shown] = (await api.ok("GET", "/api/menu"))["items"]
    assert shown["sold_out"] is True


async def test_orders_and_waste_racing_never_take_stock_below_zero(
    served: Served
) -> None:
    server, api = served
    tofu, dish, table = await tofu_soup(api, 6)
    orders = [api.call("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": dish["id"], "qty": 1}]}) for _ in range(10)]
    waste = [api.call("POST", f"/api/inventory/{tofu['id']}/adjust",
                      {"reason": "waste", "delta": -1}, token=KITCHEN) for _ in range(5)]
    replies = await asyncio.gather(*orders, *waste)
    placed = sum(reply.status == 201 for reply in replies[:10])
    wasted = sum(reply.status == 200 for reply in replies[10:])
    assert {reply.status for reply in replies} <= {200, 201, 409}
    assert placed + wasted == 6
    [(quantity,)] = db_rows(server, "SELECT quantity FROM inventory")
    assert quantity == 0
    [(moved, count)] = db_rows(server, "SELECT SUM(delta), COUNT(*) FROM inventory_moves")
    assert (moved, count) == (-6, 6)


async def _pour(session: aiohttp.ClientSession, server: RestartableServer, table_id: int,
                dishes: dict[str, int], writer: int) -> None:
    """Orders back to back, every third cancelled right after, until the server is gone."""
    n = 0
    names = list(RECIPES)
    try:
        while True:
            n += 1
            items = [{"menu_id": dishes[names[(writer + n) % 3]], "qty": n % 3 + 1},
                     {"menu_id": dishes[names[n % 3]], "qty": 1}]
            async with session.post(f"{server.base_url}/api/orders", headers=AUTH, json={
                    "table_id": table_id, "items": items}) as resp:
                assert resp.status == 201, await resp.text()
                order = await resp.json()
            if n % 3 == 0:
                async with session.patch(f"{server.base_url}/api/orders/{order['id']}",
                                         headers=AUTH, json={"status": "cancelled"}) as resp:
                    assert resp.status == 200, await resp.text()
    except (aiohttp.ClientError, OSError):
        return


def _books_balance(db: Path, dishes: dict[str, int]) -> int:
    """Each order's moves are exactly what its portions use (none once cancelled), and the
    quantities dropped by exactly the orders' moves; how many orders there are."""
    recipe_of = {dishes[name]: recipe for name, recipe in RECIPES.items()}
    sku_of = {row["id"]: row["sku"] for row in db_rows(db, "SELECT * FROM inventory")}
    moved: dict[int, Counter[str]] = defaultdict(Counter)
    for move in db_rows(db, "SELECT * FROM inventory_moves"):
        assert move["order_id"] is not None and move["reason"] in ("order", "order_cancelled")
        moved[move["order_id"]][sku_of[move["inventory_id"]]] += move["delta"]
    orders = db_rows(db, "SELECT * FROM orders")
    for order in orders:
        uses: Counter[str] = Counter()
        if order["status"] != "cancelled":
            for item in json.loads(order["items"]):
                for sku, qty in recipe_of[item["menu_id"]].items():
                    uses[sku] -= qty * item["qty"]
        assert {sku: d for sku, d in moved.pop(order["id"], Counter()).items() if d} == {
            sku: d for sku, d in uses.items() if d}, dict(order)
    assert not moved, f"moves of orders that do not exist: {sorted(moved)}"
    for row in db_rows(db, "SELECT * FROM inventory"):
        [(total,)] = db_rows(db, "SELECT TOTAL(delta) FROM inventory_moves"
                                 " WHERE inventory_id = ?", row["id"])
        assert row["quantity"] == START[row["sku"]] + total
    return len(orders)


async def test_kill_9_while_orders_pour_in_leaves_the_books_exact(
    server: RestartableServer
) -> None:
    await server.start()
    async with aiohttp.ClientSession() as session:
        async def post(path: str, body: dict[str, Any], method: str = "POST") -> Any:
            async with session.request(method, f"{server.base_url}{path}", headers=AUTH,
                                       json=body) as resp:
                assert resp.status in (200, 201), await resp.text()
                return await resp.json()
        dishes = await _setup(post)
        table_id = (await post("/api/tables", {"label": "T1", "seats": 4}))["id"]
        counted = 0
        for _ in range(2):
            writers = [asyncio.create_task(_pour(session, server, table_id, dishes, w))
                       for w in range(4)]
            await asyncio.sleep(1.5)
            await server.kill_9()
            await asyncio.gather(*writers)
            await server.start()
            assert integrity(server.db) == "ok"
            orders = _books_balance(server.db, dishes)
            assert orders > counted, "no order went in before the kill"
            counted = orders


async def test_the_books_check_sees_an_order_whose_stock_was_not_taken(served: Served) -> None:
    """The kill -9 test's check is no tautology: an order written without its moves fails it."""
    server, api = served

    async def post(path: str, body: dict[str, Any], method: str = "POST") -> Any:
        return await api.ok(method, path, body, 201 if method == "POST" else 200)
    dishes = await _setup(post)
    table = await api.table()
    await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": dishes["Tofu soup"], "qty": 2}]}, 201)
    assert _books_balance(db_path(server), dishes) == 1
    db_write(server, "DELETE FROM inventory_moves WHERE id = (SELECT max(id) FROM"
                     " inventory_moves)")
    with pytest.raises(AssertionError):
        _books_balance(db_path(server), dishes)

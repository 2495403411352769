"""The order page (SPEC §11.6, docs/pages.md "Order page") in a real Chromium against a real
server: floor staff choose a table, add dishes with options, notes and quantities, and place
the order (source staff); seat a table; see a refusal; in English and Korean."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from ..support.browser import Pages, browser, catalogue, live_pages, pages, rest, until_true
from ..support.server import MakeServer
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLOOR = "floor-token-test"
MENU: list[dict[str, Any]] = [
    {"name": "Bibimbap", "category": "Mains", "price": 11000,
     "names": {"en": "Bibimbap", "ko": "비빔밥"},
     "options": [{"name": "Extra egg", "price": 1000}, {"name": "Large", "price": 3000}]},
    {"name": "Kimchi stew", "category": "Mains", "price": 9000,
     "names": {"en": "Kimchi stew", "ko": "김치찌개"}},
    {"name": "Cola", "category": "Drinks", "price": 2000, "available": False},
]


async def restaurant(make_server: MakeServer, session: aiohttp.ClientSession,
                     **sections: Any) -> tuple[TestServer, dict[str, int], dict[str, int]]:
    """A server with three tables and a small priced menu: (server, table ids, dish ids)."""
    server = await make_server(**sections)
    tables = {}
    for label in ("T1", "T2", "T3"):
        made = await rest(session, server, "POST", "/api/tables", {"label": label, "seats": 4},
                          expect=201)
        tables[label] = made["id"]
    dishes = {}
    for dish in MENU:
        dishes[dish["name"]] = (await rest(session, server, "POST", "/api/menu", dish,
                                           expect=201))["id"]
    return server, tables, dishes


OpenOrderPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_order_page(pages: Pages) -> AsyncIterator[OpenOrderPage]:
    """Opens /order signed in (the cookie /login sets) and live; when the test ends, no page it
    opened had a script error or a refusal of the pages' policy."""
    async with live_pages(pages, "/order", FLOOR) as open_page:
        yield open_page


def table_button(table_id: int) -> str:
    return f'.order-table[data-table-id="{table_id}"]'


def dish_button(dish_id: int) -> str:
    return f'.dish[data-menu-id="{dish_id}"]'


async def add_dish(page: Page, dish_id: int, options: tuple[str, ...] = (), note: str = "",
                   more: int = 0) -> None:
    """Open a dish, tick its options, write its note, press + `more` times, add it."""
    await page.locator(dish_button(dish_id)).click()
    dialog = page.locator("#dish")
    await expect(dialog).to_be_visible()
    for option in options:
        await dialog.locator(f'input[data-option="{option}"]').check()
    if note:
        await dialog.locator("#dish-note").fill(note)
    for _ in range(more):
        await dialog.locator("#qty-more").click()
    await dialog.locator("#dish-add").click()
    await expect(dialog).to_be_hidden()


async def orders_of(session: aiohttp.ClientSession, server: TestServer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await rest(session, server, "GET", "/api/orders",
                                              expect=200))["items"]
    return items


async def test_floor_staff_place_a_tables_order_with_options_notes_and_quantities(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    server, tables, dishes = await restaurant(make_server, session)
    page = await open_order_page(server)
    await expect(page.locator(".order-table")).to_have_count(3)
    # A dish that is not available is shown, and cannot be ordered.
    await expect(page.locator(dish_button(dishes["Cola"]))).to_be_disabled()
    await expect(page.locator("#place")).to_be_disabled()

    await page.locator(table_button(tables["T2"])).click()
    await expect(page.locator(table_button(tables["T2"]))).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#chosen-label")).to_have_text("T2")
    await add_dish(page, dishes["Bibimbap"], options=("Extra egg",), note="no chili", more=1)
    await add_dish(page, dishes["Kimchi stew"])
    lines = page.locator(".cart-line")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0)).to_contain_text("Extra egg")
    await expect(lines.nth(0)).to_contain_text("no chili")
    await expect(lines.nth(0).locator(".amount")).to_have_text("₩24,000")
    await expect(page.locator("#total")).to_have_text("₩33,000")
    # One more stew from the cart, then one less again; the total follows.
    await lines.nth(1).locator("button.more").click()
    await expect(page.locator("#total")).to_have_text("₩42,000")
    await lines.nth(1).locator("button.less").click()
    await expect(page.locator("#total")).to_have_text("₩33,000")
    await page.locator("#order-note").fill("birthday")

    await page.locator("#place").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_contain_text("₩33,000")
    [order] = await until(lambda: orders_of(session, server), what="the order")
    assert (order["table_id"], order["source"], order["note"], order["total"]) == (
        tables["T2"], "staff", "birthday", 33000)
    bibimbap, stew = order["items"]
    assert (bibimbap["menu_id"], bibimbap["qty"], bibimbap["price"], bibimbap["options"],
            bibimbap["note"]) == (dishes["Bibimbap"], 2, 12000, ["Extra egg"], "no chili")
    assert (stew["menu_id"], stew["qty"], stew["price"], stew["options"]) == (
        dishes["Kimchi stew"], 1, 9000, [])
    # The cart is empty again, and the table shows its new visit and what it owes.
    await expect(page.locator(".cart-line")).to_have_count(0)
    await expect(page.locator(table_button(tables["T2"]))).to_contain_text("₩33,000")


async def test_the_page_speaks_korean_and_formats_prices_for_it(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    server, tables, dishes = await restaurant(make_server, session)
    ko = catalogue("ko")
    page = await open_order_page(server, "?lang=ko")
    await expect(page.locator("h1")).to_have_text(ko["order.heading"])
    await expect(page.locator("#place")).to_have_text(ko["order.place"])
    await expect(page.locator("#pick-table")).to_have_text(ko["order.pick_table"])
    assert await page.title() == ko["order.title"]
    await expect(page.locator(f'{table_button(tables["T1"])} .status')).to_have_text(
        ko["table.status.available"])
    stew = page.locator(dish_button(dishes["Kimchi stew"]))
    await expect(stew.locator(".name")).to_have_text("김치찌개")
    await expect(stew.locator(".price")).to_have_text("₩9,000")
    await expect(page.locator(f'{dish_button(dishes["Cola"])} .sold-out')).to_have_text(
        ko["order.sold_out"])
    await page.locator(table_button(tables["T1"])).click()
    await add_dish(page, dishes["Bibimbap"], options=("Large",))
    await expect(page.locator("#total")).to_have_text("₩14,000")
    await page.locator("#place").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_be_visible()
    [order] = await orders_of(session, server)
    assert (order["items"][0]["name"], order["total"]) == ("Bibimbap", 14000)


async def test_prices_in_a_currency_with_cents_are_shown_in_its_unit(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    server, _, dishes = await restaurant(make_server, session, restaurant={"currency": "USD"})
    page = await open_order_page(server)
    # 11000 cents: $110.00.
    await expect(page.locator(f'{dish_button(dishes["Bibimbap"])} .price')).to_have_text("$110.00")


async def test_seating_a_table_opens_its_visit_and_the_page_shows_it(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    server, tables, _ = await restaurant(make_server, session)
    page = await open_order_page(server, f"?table={tables['T3']}")
    # Chosen from the address; no visit yet, so it may be seated.
    await expect(page.locator("#chosen-label")).to_have_text("T3")
    await expect(page.locator("#seat-form")).to_be_visible()
    await page.locator("#party-size").fill("3")
    await page.locator("#seat").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text("T3 is seated.")

    async def visit() -> dict[str, Any] | None:
        items = (await rest(session, server, "GET", "/api/visits", expect=200))["items"]
        return next((v for v in items if v["table_id"] == tables["T3"]), None)
    seated = await until(visit, what="the visit")
    assert (seated["status"], seated["party_size"]) == ("open", 3)
    await expect(page.locator("#seat-form")).to_be_hidden()
    await expect(page.locator("#chosen-visit")).to_contain_text("party of 3")
    await expect(page.locator(f'{table_button(tables["T3"])} .status')).to_have_text("occupied")


async def test_a_refused_order_is_shown_in_the_status_line_and_the_cart_is_kept(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    server, tables, dishes = await restaurant(make_server, session)
    await rest(session, server, "PATCH", f"/api/tables/{tables['T1']}",
               {"status": "out_of_service"}, expect=200)
    page = await open_order_page(server)
    await page.locator(table_button(tables["T1"])).click()
    await add_dish(page, dishes["Kimchi stew"])
    await page.locator("#place").click()
    status = page.locator('#status[data-kind="error"]')
    await expect(status).to_be_visible()
    assert await status.get_attribute("data-code") == "table_closed"
    await expect(status).to_contain_text("Not placed: the table is closed")
    await expect(page.locator(".cart-line")).to_have_count(1)
    assert await orders_of(session, server) == []

    # Seating an out-of-service table is refused the same way.
    await page.locator("#seat").click()
    await expect(page.locator('#status[data-kind="error"]')).to_contain_text("Not seated")

    # A dish taken off while it sits in the cart is marked, and the server refuses it by name.
    await page.locator(table_button(tables["T2"])).click()
    await rest(session, server, "PATCH", f"/api/menu/{dishes['Kimchi stew']}",
               {"available": False}, expect=200)
    await expect(page.locator(".cart-line.unavailable")).to_have_count(1)
    await page.locator("#place").click()
    await expect(page.locator('#status[data-kind="error"]')).to_contain_text("Kimchi stew")
    assert await orders_of(session, server) == []

    # Put right, the same cart for the same table is placed: a refusal's Idempotency-Key (kept
    # by the server with its answer) is never sent again.
    await rest(session, server, "PATCH", f"/api/menu/{dishes['Kimchi stew']}",
               {"available": True}, expect=200)
    await rest(session, server, "PATCH", f"/api/tables/{tables['T1']}",
               {"status": "available"}, expect=200)
    await page.locator(table_button(tables["T1"])).click()
    await page.locator("#place").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_be_visible()
    [order] = await orders_of(session, server)
    assert (order["table_id"], order["total"]) == (tables["T1"], 9000)


async def test_the_kitchen_is_refused_the_order_page(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, _ = await restaurant(make_server, session)
    watched = await pages.watched(server, "kitchen-token-test")
    await watched.page.goto(str(server.make_url("/order")))
    await watched.page.wait_for_selector('#conn[data-state="refused"]', timeout=5000)
    await expect(watched.page.locator("#banner")).to_contain_text("not allowed")


async def test_order_page_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    """docs/screenshots/order-page.png (written when ROBODYNE_UPDATE_SCREENSHOTS=1;
    test-artifacts/ always has it): a busy floor and an order half taken."""
    server = await make_server()
    tables = {}
    for n in range(1, 9):
        made = await rest(session, server, "POST", "/api/tables",
                          {"label": f"T{n}", "seats": 4 if n % 3 else 2}, expect=201)
        tables[n] = made["id"]
    menu: list[dict[str, Any]] = [
        *MENU[:2],
        {"name": "Bulgogi", "category": "Mains", "price": 16000,
         "options": [{"name": "Extra rice", "price": 1000}]},
        {"name": "Japchae", "category": "Sides", "price": 8000},
        {"name": "Pajeon", "category": "Sides", "price": 12000,
         "options": [{"name": "Seafood", "price": 3000}, {"name": "Kimchi", "price": 0}]},
        {"name": "Makgeolli", "category": "Drinks", "price": 7000},
        MENU[2],
        {"name": "Barley tea", "category": "Drinks", "price": 0},
    ]
    dishes = {d["name"]: (await rest(session, server, "POST", "/api/menu", d, expect=201))["id"]
              for d in menu}
    await rest(session, server, "POST", "/api/orders", {"table_id": tables[2], "items": [
        {"menu_id": dishes["Bulgogi"], "qty": 2}, {"menu_id": dishes["Makgeolli"]}]}, expect=201)
    await rest(session, server, "POST", "/api/visits", {"table_id": tables[5], "party_size": 2},
               expect=201)
    await rest(session, server, "PATCH", f"/api/tables/{tables[7]}", {"status": "needs_cleaning"},
               expect=200)
    await rest(session, server, "PATCH", f"/api/tables/{tables[8]}",
               {"status": "out_of_service"}, expect=200)
    page = await open_order_page(server)
    await page.locator(table_button(tables[5])).click()
    await add_dish(page, dishes["Bibimbap"], options=("Extra egg",), note="no chili", more=1)
    await add_dish(page, dishes["Pajeon"], options=("Seafood",))
    await add_dish(page, dishes["Makgeolli"])
    await expect(page.locator(".cart-line")).to_have_count(3)
    await until_true(page, "document.fonts.status === 'loaded'")
    shot = Path(__file__).resolve().parents[1] / "test-artifacts"
    shot.mkdir(exist_ok=True)
    await page.screenshot(path=str(shot / "order-page.png"))
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "order-page.png"))


async def test_a_dish_the_stock_cannot_make_shows_sold_out_at_once(
    make_server: MakeServer, session: aiohttp.ClientSession,
    open_order_page: OpenOrderPage
) -> None:
    """Sold out by the stock (SPEC §13), not by the kitchen's 86: shown live, and back."""
    server, tables, dishes = await restaurant(make_server, session)
    en = catalogue("en")
    page = await open_order_page(server, "?lang=en")
    stew = page.locator(dish_button(dishes["Kimchi stew"]))
    await expect(stew.locator(".price")).to_have_text("₩9,000")
    await expect(stew.locator(".sold-out")).to_have_count(0)
    line = await rest(session, server, "POST", "/api/inventory",
                      {"sku": "KIMCHI", "name": "Kimchi", "quantity": 0, "unit": "kg"},
                      expect=201)
    await rest(session, server, "PUT", f"/api/menu/{dishes['Kimchi stew']}/recipe",
               {"ingredients": [{"sku": "KIMCHI", "qty": 0.2}]})
    await expect(stew.locator(".sold-out")).to_have_text(en["order.sold_out"])
    await rest(session, server, "POST", f"/api/inventory/{line['id']}/adjust",
               {"delta": 1, "reason": "received"})
    await expect(stew.locator(".sold-out")).to_have_count(0)

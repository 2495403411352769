"""The guest page (SPEC §11.6) on a phone-sized Chromium against a real server: ordering from
the menu and watching the order move live, a dish sold out live (86, or out of stock), the
four languages, the robot bringing the food, the visit's end and a rotated link; nothing wider
than the screen, nothing the policy refuses, and a guest's note shown as text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, ViewportSize, expect

from ..support.browser import Pages, browser, catalogue, order_now, pages, rest, until_true
from ..support.floor_robot import FloorRobot
from ..support.robot_client import RobotClient
from ..support.server import MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

PHONE: ViewportSize = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
RESTAURANT = {"name": "Hanok Kitchen", "currency": "KRW",
              "categories": ["Mains", "Sides", "Drinks"]}
MENU: list[dict[str, Any]] = [
    {"name": "Bibimbap", "category": "Mains", "price": 11000,
     "names": {"ko": "비빔밥", "en": "Bibimbap", "zh": "石锅拌饭", "ja": "ビビンバ"},
     "descriptions": {"en": "Rice, seasoned vegetables, beef and a fried egg, with gochujang.",
                      "ko": "나물, 소고기, 달걀 프라이를 올린 밥에 고추장을 곁들였습니다.",
                      "zh": "米饭配时蔬、牛肉和煎蛋，佐韩式辣酱。",
                      "ja": "ナムル、牛肉、目玉焼きをのせたご飯。コチュジャン添え。"},
     "allergens": ["eggs", "beef", "soybeans", "sesame"],
     "options": [{"name": "Extra egg", "names": {"ko": "달걀 추가", "zh": "加蛋", "ja": "卵追加"},
                  "price": 1000},
                 {"name": "No beef", "names": {"ko": "소고기 빼기"}, "price": 0}]},
    {"name": "Bulgogi", "category": "Mains", "price": 16000,
     "names": {"ko": "불고기", "en": "Bulgogi", "zh": "烤牛肉", "ja": "プルコギ"},
     "descriptions": {"en": "Thin slices of marinated beef, grilled.",
                      "ko": "양념한 소고기를 얇게 썰어 구웠습니다."},
     "allergens": ["beef", "soybeans", "wheat"]},
    {"name": "Haemul pajeon", "category": "Mains", "price": 18000,
     "names": {"ko": "해물파전", "en": "Seafood pancake", "ja": "海鮮チヂミ"},
     "allergens": ["squid", "shrimp", "wheat", "eggs"]},
    {"name": "Japchae", "category": "Sides", "price": 9000,
     "names": {"ko": "잡채", "en": "Japchae glass noodles"},
     "options": [{"name": "Large", "names": {"ko": "곱빼기"}, "price": 3000}],
     "allergens": ["soybeans", "sesame"]},
    {"name": "Kimchi", "category": "Sides", "price": 3000,
     "names": {"ko": "김치", "en": "Kimchi", "zh": "泡菜", "ja": "キムチ"}, "allergens": ["shrimp"]},
    {"name": "Makgeolli", "category": "Drinks", "price": 7000,
     "names": {"ko": "막걸리", "en": "Makgeolli rice wine"}},
    {"name": "Sikhye", "category": "Drinks", "price": 4000,
     "names": {"ko": "식혜", "en": "Sikhye (rice punch)", "ja": "シッケ"}},
]
GUEST_LANGUAGES = ("ko", "en", "zh", "ja")


async def restaurant(make_server: MakeServer, session: aiohttp.ClientSession,
                     **sections: Any) -> tuple[TestServer, dict[str, int], dict[str, Any]]:
    """A server with the menu above and one table, T5: (server, menu ids by name, the table)."""
    server = await make_server(restaurant=RESTAURANT, **sections)
    ids = {}
    for dish in MENU:
        made = await rest(session, server, "POST", "/api/menu", dish, expect=201)
        ids[dish["name"]] = made["id"]
    table = await rest(session, server, "POST", "/api/tables",
                       {"label": "T5", "seats": 4, "x": 8.0, "y": 4.0}, expect=201)
    return server, ids, table


async def open_guest(pages: Pages, server: TestServer, session: aiohttp.ClientSession,
                     table_id: int, lang: str | None = None) -> Page:
    """The table's link opened on a phone, as a guest scanning its code (no token), recording
    what the policy refuses; returned once both of its topics are live."""
    link = await rest(session, server, "GET", f"/api/tables/{table_id}/link", expect=200)
    watched = await pages.watched(server, None, viewport=PHONE)
    page = watched.page
    url = link["url"] + (f"?lang={lang}" if lang else "")
    response = await page.goto(url)
    assert response is not None and response.status == 200
    await page.wait_for_selector('body[data-conn="live"]', timeout=5000)
    await expect(page.locator(".dish").first).to_be_visible()
    SCRIPT_ERRORS[page] = watched.errors
    return page


# Each guest page's script errors (Watched.errors), checked with what it shows.
SCRIPT_ERRORS: dict[Page, list[str]] = {}


async def fits_and_obeys(page: Page) -> None:
    """Nothing scrolls sideways at 360 px, the policy refused nothing, no script failed."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.evaluate("window.cspViolations") == []
    assert SCRIPT_ERRORS.get(page) == []


def dish(menu_id: int) -> str:
    return f'.dish[data-menu-id="{menu_id}"]'


def order_card(order_id: int) -> str:
    return f'.order[data-order-id="{order_id}"]'


async def add_to_cart(page: Page, menu_id: int, *, options: tuple[str, ...] = (), note: str = "",
                      qty: int = 1) -> None:
    await page.locator(dish(menu_id)).click()
    await expect(page.locator("#dish")).to_be_visible()
    for option in options:
        await page.locator(f'#dish-option-list input[value="{option}"]').check()
    if note:
        await page.locator("#dish-note").fill(note)
    for _ in range(qty - 1):
        await page.locator("#qty-more").click()
    await page.locator("#dish-add").click()
    await expect(page.locator("#dish")).to_be_hidden()


async def place(page: Page) -> None:
    await page.locator("#cart-open").click()
    await page.locator("#place").click()
    await expect(page.locator("#cart")).to_be_hidden()


async def guest_orders(session: aiohttp.ClientSession, server: TestServer) -> list[dict[str, Any]]:
    body = await rest(session, server, "GET", "/api/orders", expect=200)
    return [order for order in body["items"] if order["source"] == "guest"]


async def move(session: aiohttp.ClientSession, server: TestServer, order_id: int,
               status: str) -> None:
    await rest(session, server, "PATCH", f"/api/orders/{order_id}", {"status": status}, expect=200)


def save_screenshot(name: str) -> list[Path]:
    """Where a screenshot goes: test-artifacts/ always, docs/screenshots/ when
    ROBODYNE_UPDATE_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(exist_ok=True)
    paths = [ARTIFACTS / name]
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        paths.append(SCREENSHOTS / name)
    return paths


@pytest.mark.browser
async def test_a_guest_orders_from_the_menu_and_watches_the_order_move_live(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session)
    page = await open_guest(pages, server, session, table["id"], "en")
    words = catalogue("en", "guest")
    # A dish with two options, one of which costs ₩1,000, a note that looks like markup, two.
    await add_to_cart(page, ids["Bibimbap"], options=("Extra egg",), note="<b>x</b>", qty=2)
    await add_to_cart(page, ids["Makgeolli"])
    await expect(page.locator("#cart-count")).to_have_text("3")
    await expect(page.locator("#cart-total")).to_have_text("₩31,000")
    # The note is text, never markup (the view shows no notes: the cart does).
    await page.locator("#cart-open").click()
    note = page.locator('#cart-lines .line-note')
    await expect(note).to_have_text("<b>x</b>")
    assert await page.locator("#cart-lines b").count() == 0
    await page.locator("#cart .close").click()
    await place(page)

    [order] = await guest_orders(session, server)
    assert [(i["name"], i["qty"], i["options"], i["note"], i["price"]) for i in order["items"]] == [
        ("Bibimbap", 2, ["Extra egg"], "<b>x</b>", 12000), ("Makgeolli", 1, [], "", 7000)]
    card = page.locator(order_card(order["id"]))
    await expect(card).to_have_attribute("data-status", "placed")
    await expect(card.locator(".order-now")).to_have_text(words["guest.now_placed"])
    await expect(card.locator(".item-options")).to_have_text("Extra egg")
    await expect(page.locator("#check-due")).to_have_text("₩31,000")
    await expect(page.locator("#cart-bar")).to_be_hidden()

    # The kitchen moves it; the page follows each step without a reload.
    for status, key in (("preparing", "now_preparing"), ("ready", "now_ready"),
                        ("served", "now_served")):
        await move(session, server, order["id"], status)
        await expect(card).to_have_attribute("data-status", status)
        await expect(card.locator(".order-now")).to_have_text(words[f"guest.{key}"])
    await expect(card.locator(".cancel")).to_have_count(0)

    # A second order, taken back before the kitchen starts it: two taps.
    await add_to_cart(page, ids["Kimchi"])
    await place(page)
    second = next(o for o in await guest_orders(session, server) if o["id"] != order["id"])
    cancel = page.locator(f"{order_card(second['id'])} .cancel")
    await cancel.click()
    await expect(cancel).to_have_text(words["guest.cancel_sure"])
    await cancel.click()
    cancelled = page.locator(order_card(second["id"]))
    await expect(cancelled).to_have_attribute("data-status", "cancelled")
    assert (await order_now(session, server, second["id"]))["status"] == "cancelled"

    # A call: the button says "called" while it is open.
    water = page.locator('.call[data-kind="water"]')
    await water.click()
    await expect(water).to_have_class("call called")
    await expect(water.locator(".call-state")).to_have_text(words["guest.called"])
    await fits_and_obeys(page)


@pytest.mark.browser
async def test_a_dish_made_unavailable_is_greyed_live_and_cannot_be_ordered(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session)
    page = await open_guest(pages, server, session, table["id"], "ko")
    words = catalogue("ko", "guest")
    bulgogi, kimchi = page.locator(dish(ids["Bulgogi"])), page.locator(dish(ids["Kimchi"]))
    await add_to_cart(page, ids["Kimchi"])
    await expect(bulgogi).not_to_have_class("dish sold-out")

    for name in ("Bulgogi", "Kimchi"):
        await rest(session, server, "PATCH", f"/api/menu/{ids[name]}", {"available": False},
                   expect=200)
    await expect(bulgogi).to_have_class("dish sold-out")
    await expect(bulgogi.locator(".sold-out-mark")).to_have_text(words["guest.sold_out"])
    await expect(bulgogi.locator(".add")).to_be_disabled()
    # A tap on the card opens nothing.
    await bulgogi.click()
    await page.wait_for_timeout(200)
    await expect(page.locator("#dish")).to_be_hidden()
    # Kimchi, already in the cart, sold out too: the cart says so and will not send it.
    await expect(kimchi).to_have_class("dish sold-out")
    await page.locator("#cart-open").click()
    await expect(page.locator(".cart-line.sold-out")).to_have_count(1)
    await expect(page.locator("#place")).to_be_disabled()
    await expect(page.locator("#cart-error")).to_have_text(words["guest.remove_sold_out"])
    await page.locator(".cart-line .less").click()
    await expect(page.locator("#cart-error")).to_be_hidden()
    await page.locator("#cart .close").click()
    assert await guest_orders(session, server) == []

    # Back on the menu: orderable again, live.
    await rest(session, server, "PATCH", f"/api/menu/{ids['Bulgogi']}", {"available": True},
               expect=200)
    await expect(bulgogi).to_have_class("dish")
    await expect(bulgogi.locator(".add")).to_be_enabled()
    await fits_and_obeys(page)


@pytest.mark.browser
async def test_a_dish_its_stock_cannot_make_is_sold_out_live_and_back_when_restocked(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session)
    beef = await rest(session, server, "POST", "/api/inventory",
                      {"sku": "BEEF", "name": "Beef", "quantity": 1}, expect=201)
    await rest(session, server, "PUT", f"/api/menu/{ids['Bulgogi']}/recipe",
               {"ingredients": [{"sku": "BEEF", "qty": 1}]}, expect=200)
    page = await open_guest(pages, server, session, table["id"], "en")
    bulgogi = page.locator(dish(ids["Bulgogi"]))
    await expect(bulgogi).not_to_have_class("dish sold-out")
    await rest(session, server, "POST", "/api/orders", {"table_id": table["id"], "items": [
        {"menu_id": ids["Bulgogi"]}]}, expect=201)
    await expect(bulgogi).to_have_class("dish sold-out")
    await expect(bulgogi.locator(".add")).to_be_disabled()
    await rest(session, server, "POST", f"/api/inventory/{beef['id']}/adjust",
               {"reason": "received", "delta": 4}, expect=200)
    await expect(bulgogi).not_to_have_class("dish sold-out")
    await expect(bulgogi.locator(".add")).to_be_enabled()
    await fits_and_obeys(page)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "ja"])
async def test_chinese_and_japanese_show_their_catalogue_and_the_dishes_names(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages, lang: str
) -> None:
    server, ids, table = await restaurant(make_server, session)
    page = await open_guest(pages, server, session, table["id"], lang)
    words = catalogue(lang, "guest")
    assert await page.evaluate("document.documentElement.lang") == (
        "zh-Hans" if lang == "zh" else lang)
    await expect(page.locator(f"{dish(ids['Bibimbap'])} .dish-name")).to_have_text(
        MENU[0]["names"][lang])
    # A dish with no name in the language shows the kitchen's name.
    await expect(page.locator(f"{dish(ids['Makgeolli'])} .dish-name")).to_have_text("Makgeolli")
    await expect(page.locator(f"{dish(ids['Bibimbap'])} .allergen").first).to_have_text(
        words["guest.allergen.eggs"])
    await expect(page.locator('.call[data-kind="staff"] .call-name')).to_have_text(
        words["guest.call_staff"])
    await expect(page.locator("#table")).to_have_text(words["guest.table"].replace("{label}", "T5"))
    # The language is kept: the switcher's links, the current one marked.
    await expect(page.locator('#langs a[aria-current="true"]')).to_have_attribute("hreflang", lang)
    await expect(page.locator("#langs a")).to_have_count(len(GUEST_LANGUAGES))
    # The option's own name in the dish's sheet; the price as the language writes won.
    await page.locator(dish(ids["Bibimbap"])).click()
    await expect(page.locator("#dish-option-list .option-name").first).to_have_text(
        MENU[0]["options"][0]["names"][lang])
    await page.locator("#dish .close").click()
    await fits_and_obeys(page)
    # The switcher is a link: the page comes back in Korean with the cart as it was.
    await add_to_cart(page, ids["Kimchi"], qty=2)
    await page.locator('#langs a[hreflang="ko"]').click()
    await page.wait_for_selector('body[data-conn="live"][data-lang="ko"]', timeout=5000)
    await expect(page.locator("#cart-count")).to_have_text("2")
    await expect(page.locator(f"{dish(ids['Kimchi'])} .dish-name")).to_have_text("김치")


async def named_robot(server: TestServer, robot_id: str, name: str, x: float,
                      y: float) -> FloorRobot:
    """A named robot over TCP that has said where it is (FloorRobot.join names none)."""
    robot = FloorRobot(await RobotClient.hello(server, robot_id, name=name), robot_id)
    await robot.report(status="idle", battery=90, pose={"x": x, "y": y, "yaw": 0, "map": "floor"})
    return robot


@pytest.mark.browser
async def test_the_robot_bringing_an_order_is_named_with_its_eta_and_then_at_the_table(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(
        make_server, session, dispatch={"auto_deliver": True, "return_when_idle": False,
                                        "charge_below": 0})
    robot = await named_robot(server, "bot-2", "Robo 2", x=2.0, y=4.0)
    try:
        page = await open_guest(pages, server, session, table["id"], "en")
        words = catalogue("en", "guest")
        await add_to_cart(page, ids["Bibimbap"], options=("Extra egg",))
        await add_to_cart(page, ids["Japchae"])
        await place(page)
        [order] = await guest_orders(session, server)
        await move(session, server, order["id"], "preparing")
        await rest(session, server, "PATCH", f"/api/orders/{order['id']}",
                   {"items": [{"index": 0, "done": True}]}, expect=200)
        await move(session, server, order["id"], "ready")
        command = await robot.command()
        assert command["command"] == "deliver"
        await robot.answer(command, "accepted")

        card = page.locator(order_card(order["id"]))
        await expect(card).to_have_attribute("data-status", "delivering")
        now = card.locator(".order-now")
        await expect(now).to_contain_text("On its way with Robo 2")
        # 6 m from the table at 0.5 m/s: about 12 s.
        await expect(now).to_have_text(
            words["guest.now_robot_eta"].replace("{robot}", "Robo 2").replace("{s}", "12"))
        await page.evaluate("window.scrollTo(0, 0)")
        await expect(page.locator("#status")).to_be_hidden(timeout=10000)  # "Order sent!" faded
        for path in save_screenshot("guest-en-order.png"):
            await page.screenshot(path=str(path))

        await robot.event("arrived", task_id=command["task_id"], table_id=table["id"])
        await expect(now).to_have_text(
            words["guest.now_at_table"].replace("{robot}", "Robo 2"))
        await robot.event("delivered", task_id=command["task_id"], table_id=table["id"],
                          order_id=order["id"])
        await expect(card).to_have_attribute("data-status", "served")
        await expect(now).to_have_text(words["guest.now_served"])

        # "Call robot": the same robot comes with nothing on it, said by the calls.
        call = page.locator('.call[data-kind="robot"]')
        await call.click()
        summon = await robot.command()
        assert summon["command"] == "summon"
        await robot.answer(summon, "accepted")
        await expect(call).to_have_class("call called")
        errand = page.locator("#robot-visit")
        await expect(errand).to_have_text(words["guest.robot_coming_eta"]
                                          .replace("{robot}", "Robo 2").replace("{s}", "12"))
        await robot.event("arrived", task_id=summon["task_id"], table_id=table["id"])
        await expect(errand).to_have_text(words["guest.robot_here"].replace("{robot}", "Robo 2"))
        await robot.answer(summon, "done")
        await expect(errand).to_be_hidden()
        await expect(call).to_have_class("call")  # answered: no longer open
        await fits_and_obeys(page)
    finally:
        await robot.close()


@pytest.mark.browser
async def test_the_page_says_when_the_visit_has_ended_and_when_the_link_is_no_longer_valid(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session)
    words = catalogue("en", "guest")
    page = await open_guest(pages, server, session, table["id"], "en")
    await add_to_cart(page, ids["Kimchi"])
    await place(page)
    await expect(page.locator("#check-due")).to_have_text("₩3,000")
    # The party pays and staff close its visit (SPEC §12.3): the page thanks them.
    [visit] = (await rest(session, server, "GET", "/api/visits", expect=200))["items"]
    await rest(session, server, "POST", f"/api/visits/{visit['id']}/payments",
               {"amount": 3000, "method": "card"}, expect=201)
    await rest(session, server, "POST", f"/api/visits/{visit['id']}/close", {}, expect=200)
    await expect(page.locator("#ended")).to_be_visible()
    await expect(page.locator("#ended-title")).to_have_text(words["guest.visit_ended"])
    await expect(page.locator("body")).to_have_attribute("data-ended", "visit")
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("#langs")).to_be_hidden()
    # A reload keeps the ended visit; the next party at this phone starts on purpose.
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ended", "visit")
    await page.locator("#ended-again").click()
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#orders-panel")).to_be_hidden()

    # The next party opens the link again; then staff print a new one.
    later = await open_guest(pages, server, session, table["id"], "en")
    await rest(session, server, "POST", f"/api/tables/{table['id']}/link", {}, expect=200)
    await expect(later.locator("#ended-title")).to_have_text(words["guest.link_invalid"])
    await expect(later.locator("#ended-hint")).to_have_text(words["guest.link_invalid_hint"])
    await expect(later.locator("body")).to_have_attribute("data-ended", "link")


@pytest.mark.browser
async def test_a_table_not_open_for_orders_asks_the_guest_to_wait_for_staff(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session)
    await rest(session, server, "PATCH", f"/api/tables/{table['id']}",
               {"status": "needs_cleaning"}, expect=200)
    page = await open_guest(pages, server, session, table["id"], "ko")
    await add_to_cart(page, ids["Kimchi"])
    await page.locator("#cart-open").click()
    await page.locator("#place").click()
    await expect(page.locator("#cart-error")).to_have_text(
        catalogue("ko", "guest")["guest.err_table_closed"])
    assert await guest_orders(session, server) == []


@pytest.mark.browser
async def test_without_self_seating_the_page_says_to_wait_until_staff_seat_the_party(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await restaurant(make_server, session, guest={"self_seat": False})
    page = await open_guest(pages, server, session, table["id"], "ja")
    words = catalogue("ja", "guest")
    await expect(page.locator("#wait-seat")).to_have_text(words["guest.wait_seat"])
    await add_to_cart(page, ids["Sikhye"])
    await page.locator("#cart-open").click()
    await page.locator("#place").click()
    await expect(page.locator("#cart-error")).to_have_text(words["guest.err_table_closed"])
    await page.locator("#cart .close").click()
    # Staff seat the party: the hint goes, and the same cart is ordered.
    await rest(session, server, "POST", "/api/visits", {"table_id": table["id"]}, expect=201)
    await expect(page.locator("#wait-seat")).to_be_hidden()
    await place(page)
    [order] = await guest_orders(session, server)
    await expect(page.locator(order_card(order["id"]))).to_have_attribute("data-status", "placed")
    await fits_and_obeys(page)


@pytest.mark.browser
async def test_guest_menu_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    """docs/screenshots/guest-ko-menu.png (written when ROBODYNE_UPDATE_SCREENSHOTS=1;
    test-artifacts/ always has it): the Korean menu at 360 x 740, one dish sold out."""
    server, ids, table = await restaurant(make_server, session)
    await rest(session, server, "PATCH", f"/api/menu/{ids['Haemul pajeon']}",
               {"available": False}, expect=200)
    page = await open_guest(pages, server, session, table["id"], "ko")
    await expect(page.locator(f"{dish(ids['Haemul pajeon'])}.sold-out")).to_have_count(1)
    await until_true(page, "document.fonts.status === 'loaded'")
    for path in save_screenshot("guest-ko-menu.png"):
        await page.screenshot(path=str(path))
    await fits_and_obeys(page)

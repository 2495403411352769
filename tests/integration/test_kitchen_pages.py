"""The kitchen's station screens, the expo, the bump bar and the two languages (SPEC §7, §9;
docs/pages.md) in a real Chromium against a real server; and the message catalogues."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from robodyne.core.dishes import Allergen

from ..support.browser import (
    STATIC, VIEWPORT, Pages, Tab, browser, catalogue, order_now, pages, place_order, rest,
    until_true,
)
from ..support.server import MakeServer
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STATIONS = ["grill", "fry", "cold", "bar"]
MENU = [("Bulgogi", "grill", 600), ("Galbi", "grill", 900), ("Fries", "fry", 300),
        ("Kimchi", "cold", None), ("Beer", "bar", 60)]
KITCHEN = "kitchen-token-test"


def ticket(order_id: int) -> str:
    return f'.ticket[data-order-id="{order_id}"]'


async def kitchen_server(make_server: MakeServer, session: aiohttp.ClientSession,
                         menu: list[tuple[str, str, int | None]] = MENU,
                         **kitchen: Any) -> tuple[TestServer, dict[str, int], int]:
    """A four-station kitchen with a small menu and one table: (server, menu ids, table id)."""
    server = await make_server(kitchen={"stations": STATIONS, "default_station": "grill",
                                        **kitchen})
    ids = {}
    for name, station, target in menu:
        body: dict[str, Any] = {"name": name, "category": "main", "station": station}
        if target is not None:
            body["prep_target_s"] = target
        ids[name] = (await rest(session, server, "POST", "/api/menu", body, expect=201))["id"]
    table = await rest(session, server, "POST", "/api/tables",
                       {"label": "T1", "seats": 4, "x": 5.0, "y": 3.0}, expect=201)
    return server, ids, int(table["id"])


async def open_kitchen(pages: Pages, server: TestServer, query: str = "",
                       init_script: str | None = None, **context: Any) -> Page:
    """The kitchen page, logged in with the kitchen token, live; optionally with a script that
    runs before the page's own, or a browser context of its own (locale, headers)."""
    url = str(server.make_url(f"/kitchen?token={KITCHEN}{'&' + query if query else ''}"))
    if init_script is None and not context:
        page = (await pages.open(url)).page
    else:
        ctx = await pages.browser.new_context(viewport=VIEWPORT, **context)
        pages.contexts.append(ctx)
        if init_script:
            await ctx.add_init_script(init_script)
        page = await ctx.new_page()
        tab = Tab(page)
        page.on("pageerror", lambda err: tab.errors.append(str(err)))
        pages.tabs.append(tab)
        await page.goto(url)
    await page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    return page


async def status_is(session: aiohttp.ClientSession, server: TestServer, order_id: int,
                    status: str) -> bool:
    return bool((await order_now(session, server, order_id))["status"] == status)


@pytest.mark.browser
async def test_a_station_screen_shows_only_its_items_crossed_off_by_click_or_keyboard(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    made = await place_order(session, server, table, [("Bulgogi", 2), ("Fries", 1), ("Beer", 1)])
    grill = await open_kitchen(pages, server, "station=grill")
    fry = await open_kitchen(pages, server, "station=fry")
    card = grill.locator(ticket(made["id"]))
    await expect(card.locator(".item")).to_have_count(1)
    assert "Bulgogi" in await card.locator(".item").inner_text()
    assert await grill.locator("#heading").inner_text() == "Grill"
    await expect(fry.locator(f"{ticket(made['id'])} .item")).to_have_count(1)
    assert "Fries" in await fry.locator(f"{ticket(made['id'])} .item").inner_text()

    # A click crosses off Bulgogi: the first item done starts the placed order.
    await card.locator(".item").click()
    await until(lambda: status_is(session, server, made["id"], "preparing"))
    current = await order_now(session, server, made["id"])
    assert [i["done"] for i in current["items"]] == [True, False, False]
    # All of the grill's part done: the ticket leaves the grill, and stays at the fry.
    await expect(card).to_have_count(0)
    await expect(fry.locator(ticket(made["id"]))).to_have_count(1)

    # The keyboard crosses off Fries: 1 selects, ↓ puts the cursor on the item, Enter.
    await fry.keyboard.press("1")
    await expect(fry.locator(f"{ticket(made['id'])}.selected")).to_have_count(1)
    await fry.keyboard.press("ArrowDown")
    await expect(fry.locator(f"{ticket(made['id'])} .item.cursor")).to_have_count(1)
    await fry.keyboard.press("Enter")

    async def fries_done() -> bool:
        return bool((await order_now(session, server, made["id"]))["items"][1]["done"])
    await until(fries_done)
    await expect(fry.locator(ticket(made["id"]))).to_have_count(0)


@pytest.mark.browser
async def test_a_station_bumps_its_part_and_recalls_it(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    made = await place_order(session, server, table, [("Bulgogi", 1), ("Galbi", 2), ("Fries", 1)])
    grill = await open_kitchen(pages, server, "station=grill")
    card = grill.locator(ticket(made["id"]))
    await expect(card.locator(".item")).to_have_count(2)
    await card.locator("button.bump").click()

    async def grill_done() -> bool:
        items = (await order_now(session, server, made["id"]))["items"]
        return [i["done"] for i in items] == [True, True, False]
    await until(grill_done)
    await expect(card).to_have_count(0)
    assert (await order_now(session, server, made["id"]))["status"] == "preparing"

    # R brings it back to the grill, marked, crossed off as it was; one item may be undone.
    await grill.keyboard.press("r")
    await expect(grill.locator(f"{ticket(made['id'])}.recalled")).to_have_count(1)
    await expect(card.locator(".item.done")).to_have_count(2)
    await card.locator(".item").nth(1).click()

    async def galbi_back() -> bool:
        items = (await order_now(session, server, made["id"]))["items"]
        return [i["done"] for i in items] == [True, False, False]
    await until(galbi_back)
    await expect(card.locator(".item.done")).to_have_count(1)
    # Bumped again from the keyboard, the tapped item still focused: the digit hands the keys
    # to the bump bar, so Space bumps the ticket; Galbi is done again and the ticket leaves.
    await grill.keyboard.press("1")
    await grill.keyboard.press(" ")
    await until(grill_done)
    await expect(card).to_have_count(0)


@pytest.mark.browser
async def test_the_expo_shows_progress_bumps_through_to_served_and_recalls(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    made = await place_order(session, server, table, [("Bulgogi", 1), ("Galbi", 1), ("Fries", 2)])
    await rest(session, server, "PATCH", f"/api/orders/{made['id']}",
               {"items": [{"index": 0, "done": True}]}, expect=200)
    page = await open_kitchen(pages, server, "station=expo")
    card = page.locator(ticket(made["id"]))
    await expect(card.locator('.part[data-station="grill"]')).to_have_text("Grill 1/2")
    await expect(card.locator('.part[data-station="fry"]')).to_have_text("Fry 0/1")
    await expect(card.locator(".item")).to_have_count(3)
    await expect(page.locator("#prep-panel")).to_be_visible()
    await expect(page.locator('#prep tr[data-station="grill"]')).to_have_count(1)

    await expect(card).to_have_attribute("data-status", "preparing")
    await card.locator("button.bump").click()  # preparing -> ready
    await until(lambda: status_is(session, server, made["id"], "ready"))
    await expect(card).to_have_attribute("data-status", "ready")  # the page saw its bump land
    await page.keyboard.press("r")  # the last bumped comes back
    await until(lambda: status_is(session, server, made["id"], "preparing"))
    # The keys act on what the screen shows: wait until it shows the recall, as a cook would.
    await expect(card).to_have_attribute("data-status", "preparing")
    await page.keyboard.press("1")
    await page.keyboard.press("Enter")
    await until(lambda: status_is(session, server, made["id"], "ready"))
    await expect(card).to_have_attribute("data-status", "ready")
    await page.keyboard.press("1")
    await page.keyboard.press("Enter")  # ready, and no robot carries it -> served
    await until(lambda: status_is(session, server, made["id"], "served"))
    await expect(card).to_have_count(0)

    # A fresh placed order bumps to preparing; one a robot's task lists cannot be served here.
    second = await place_order(session, server, table, [("Kimchi", 1)])
    await page.locator(f"{ticket(second['id'])} button.bump").click()
    await until(lambda: status_is(session, server, second["id"], "preparing"))
    await rest(session, server, "PATCH", f"/api/orders/{second['id']}", {"status": "ready"},
               expect=200)
    await rest(session, server, "POST", "/api/tasks",
               {"kind": "deliver", "table_id": table, "order_ids": [second["id"]]}, expect=201)
    bump = page.locator(f"{ticket(second['id'])} button.bump")
    await expect(bump).to_be_disabled()
    await expect(bump).to_have_text("Robot on the way")


@pytest.mark.browser
async def test_plain_kitchen_is_the_expo_and_the_expo_toggles_rush_which_rides_first(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    first = await place_order(session, server, table, [("Bulgogi", 1)])
    second = await place_order(session, server, table, [("Fries", 1)])
    page = await open_kitchen(pages, server)
    assert await page.evaluate("document.body.dataset.view") == "expo"
    tickets = page.locator(".ticket")
    await expect(tickets.nth(0)).to_have_attribute("data-order-id", str(first["id"]))
    await page.locator(f"{ticket(second['id'])} button.rush-toggle").click()
    await expect(tickets.nth(0)).to_have_attribute("data-order-id", str(second["id"]))
    await expect(page.locator(f"{ticket(second['id'])} .rush-mark")).to_have_text("RUSH")
    assert (await order_now(session, server, second["id"]))["priority"] == "rush"
    # The station screen shows it first and marked too; U at the expo turns rush off again.
    fry_and_grill = await open_kitchen(pages, server, "station=grill")
    await expect(fry_and_grill.locator(".ticket")).to_have_count(1)
    await page.keyboard.press("1")
    await page.keyboard.press("u")

    async def normal() -> bool:
        return bool((await order_now(session, server, second["id"]))["priority"] == "normal")
    await until(normal)
    await expect(page.locator(".rush-mark")).to_have_count(0)
    await expect(tickets.nth(0)).to_have_attribute("data-order-id", str(first["id"]))


@pytest.mark.browser
async def test_every_station_screen_has_the_all_day_counts(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    await place_order(session, server, table, [("Bulgogi", 2), ("Fries", 1)])
    done = await place_order(session, server, table, [("Bulgogi", 3), ("Galbi", 1)])
    await rest(session, server, "PATCH", f"/api/orders/{done['id']}",
               {"items": [{"index": 1, "done": True}]}, expect=200)
    page = await open_kitchen(pages, server, "station=grill")
    await expect(page.locator('#allday li[data-name="Bulgogi"] .qty')).to_have_text("5")
    await expect(page.locator("#allday li")).to_have_count(1)  # Galbi is done; Fries elsewhere
    await place_order(session, server, table, [("bulgogi", 4)])
    await expect(page.locator('#allday li[data-name="Bulgogi"] .qty')).to_have_text("9")


@pytest.mark.browser
async def test_timers_turn_amber_and_red_from_the_dishes_prep_targets(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    menu = [("Quick toast", "grill", 1), ("Slow stew", "grill", None)]
    server, _, table = await kitchen_server(make_server, session, menu=menu)
    quick = await place_order(session, server, table, [("Quick toast", 1)])
    slow = await place_order(session, server, table, [("Slow stew", 1)])
    page = await open_kitchen(pages, server, "station=grill")
    await expect(page.locator(ticket(quick["id"]))).to_have_attribute("data-amber", "1")
    await expect(page.locator(ticket(quick["id"]))).to_have_attribute("data-red", "2")
    await expect(page.locator(ticket(quick["id"]))).to_have_attribute("data-age", "red",
                                                                      timeout=4000)
    # No target: the config's 600 s and 1,200 s.
    assert await page.locator(ticket(slow["id"])).get_attribute("data-amber") == "600"
    assert await page.locator(ticket(slow["id"])).get_attribute("data-age") == "fresh"


@pytest.mark.browser
async def test_the_bump_bar_needs_no_mouse_and_marks_the_selected_ticket(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    made = [await place_order(session, server, table, [("Bulgogi", n)]) for n in (1, 2, 3)]
    page = await open_kitchen(pages, server, "station=grill")
    await expect(page.locator(".ticket")).to_have_count(3)
    selected = page.locator(".ticket.selected")
    await page.keyboard.press("2")
    await expect(selected).to_have_attribute("data-order-id", str(made[1]["id"]))
    await expect(selected.locator(".selected-mark")).to_be_visible()
    outline = await selected.evaluate("el => getComputedStyle(el).outlineWidth")
    assert outline == "5px"
    await page.keyboard.press("ArrowRight")
    await expect(selected).to_have_attribute("data-order-id", str(made[2]["id"]))
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")
    await expect(selected).to_have_attribute("data-order-id", str(made[0]["id"]))
    await page.keyboard.press("Escape")
    await expect(selected).to_have_count(0)
    await page.keyboard.press("9")
    await expect(page.locator("#flash")).to_have_text("No ticket 9.")
    # Bumping the selected ticket hands the selection to the one that takes its place.
    await page.keyboard.press("1")
    await page.keyboard.press("Enter")
    await expect(page.locator(".ticket")).to_have_count(2)
    await expect(selected).to_have_attribute("data-order-id", str(made[1]["id"]))
    await page.keyboard.press("Space")
    await expect(page.locator(".ticket")).to_have_count(1)
    await page.keyboard.press("r")
    await expect(page.locator(".ticket.recalled")).to_have_attribute(
        "data-order-id", str(made[1]["id"]))


@pytest.mark.browser
async def test_a_station_86es_a_dish_and_new_orders_for_it_are_refused(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await kitchen_server(make_server, session)
    page = await open_kitchen(pages, server, "station=grill")
    dish = page.locator(f'#menu86 li[data-menu-id="{ids["Bulgogi"]}"]')
    await expect(page.locator("#menu86 li")).to_have_count(2)  # the grill's dishes only
    await dish.locator("button.eighty-six").click()
    await expect(dish.locator(".out-mark")).to_have_text("sold out")

    async def raised() -> list[dict[str, Any]]:
        events = (await rest(session, server, "GET", "/api/events", expect=200))["items"]
        return [e for e in events if e["type"] == "menu_item_unavailable"]
    [event] = await until(raised)
    assert "Bulgogi" in event["message"]
    refused = await place_order(session, server, table, [("Bulgogi", 1)], expect=409)
    assert "Bulgogi" in refused["error"]["message"]
    await dish.locator("button.back-on").click()
    await expect(dish.locator("button.eighty-six")).to_have_count(1)
    await place_order(session, server, table, [("Bulgogi", 1)])


@pytest.mark.browser
async def test_a_dish_its_stock_cannot_make_shows_out_with_its_86_button_left_alone(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, ids, table = await kitchen_server(make_server, session)
    await rest(session, server, "POST", "/api/inventory",
               {"sku": "BEEF", "name": "Beef", "quantity": 1}, expect=201)
    await rest(session, server, "PUT", f"/api/menu/{ids['Bulgogi']}/recipe",
               {"ingredients": [{"sku": "BEEF", "qty": 1}]}, expect=200)
    page = await open_kitchen(pages, server, "station=grill")
    dish = page.locator(f'#menu86 li[data-menu-id="{ids["Bulgogi"]}"]')
    await expect(dish.locator(".out-mark")).to_have_count(0)
    await place_order(session, server, table, [("Bulgogi", 1)])
    await expect(dish.locator(".out-mark")).to_have_text("sold out")
    await expect(dish.locator(".out-mark")).to_have_attribute("title", "out of Beef")
    # Still on as far as the kitchen's switch goes: its button is the 86, not "back on".
    await expect(dish.locator("button.eighty-six")).to_have_count(1)


@pytest.mark.browser
async def test_the_screen_stays_awake_and_chimes_for_its_own_new_tickets(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    stub = """
      window.wakeCalls = [];
      const lock = () => ({ released: false, addEventListener() {} });
      Object.defineProperty(navigator, 'wakeLock', { configurable: true, value: {
        request: async (kind) => {
          window.wakeCalls.push(kind);
          window.lastLock = lock();
          return window.lastLock;
        },
      } });
    """
    page = await open_kitchen(pages, server, "station=grill", init_script=stub)
    await until_true(page, "window.wakeCalls.length === 1")
    assert await page.evaluate("window.wakeCalls") == ["screen"]
    assert await page.evaluate("document.body.dataset.wakeLock") == "held"
    # The browser drops the lock when the tab hides; back in view it is taken again.
    await page.evaluate("""window.lastLock.released = true;
        document.dispatchEvent(new Event('visibilitychange'))""")
    await until_true(page, "window.wakeCalls.length === 2")
    await expect(page.locator("#fullscreen")).to_have_text("Full screen")

    assert await page.evaluate("document.body.dataset.chimes") is None
    await place_order(session, server, table, [("Bulgogi", 1)])
    await until_true(page, "document.body.dataset.chimes === '1'")
    await place_order(session, server, table, [("Beer", 1)])  # the bar's, not the grill's
    await page.wait_for_timeout(500)
    assert await page.evaluate("document.body.dataset.chimes") == "1"


KO_HEADINGS = {"/kitchen?station=grill": "그릴", "/kitchen": "검수대",
               "/dashboard": "대시보드", "/console": "유지보수 콘솔"}


async def heading(page: Page) -> str:
    return str(await page.locator("h1").inner_text())


@pytest.mark.browser
async def test_the_pages_speak_korean_by_query_cookie_or_browser_and_english_by_default(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server, _, table = await kitchen_server(make_server, session)
    made = await place_order(session, server, table, [("Bulgogi", 1)])
    # Default: English.
    page = await open_kitchen(pages, server, "station=grill")
    assert await page.get_attribute("html", "lang") == "en"
    assert await heading(page) == "Grill"
    # ?lang=ko: Korean, and the cookie keeps it for the next page without ?lang=.
    page = await open_kitchen(pages, server, "station=grill&lang=ko")
    assert await page.get_attribute("html", "lang") == "ko"
    assert await heading(page) == "그릴"
    await expect(page.locator(f"{ticket(made['id'])} .status")).to_have_text("접수")
    await expect(page.locator("#mute")).to_have_text("소리 켜짐")
    await page.goto(str(server.make_url("/kitchen?station=expo")))
    await page.wait_for_selector('#conn[data-state="live"]')
    assert await heading(page) == "검수대"
    await expect(page.locator(f"{ticket(made['id'])} button.bump")).to_have_text("조리 시작")
    await expect(page.locator("#conn")).to_have_text("연결됨")
    for path in ("/dashboard", "/console"):
        await page.goto(str(server.make_url(path + "?token=admin-token-test")))
        await page.wait_for_selector('#conn[data-state="live"]')
        assert await heading(page) == KO_HEADINGS[path]
    # Accept-Language: ko in a fresh browser picks Korean.
    page = await open_kitchen(pages, server, "station=grill", locale="ko-KR",
                              extra_http_headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert await heading(page) == "그릴"
    # And ?lang=en puts English back.
    await page.goto(str(server.make_url("/kitchen?station=grill&lang=en")))
    assert await heading(page) == "Grill"


KEY_CALL = re.compile(r"""\bt\(\s*["']([\w.]+)["']""")
KEY_ATTRIBUTE = re.compile(r"""data-i18n(?:-[\w-]+)?="([\w.]+)\"""")


# The guest page and the party's page speak four languages from catalogues of their own
# (web/static/i18n/guest/, i18n/party/); the staff pages speak English and Korean from
# web/static/i18n/.
GUEST_LANGUAGES = ("ko", "en", "zh", "ja")
GUEST_PAGE = ("js/guest*.js", "guest*.html")
PARTY_PAGE = ("js/party*.js", "party*.html")


def keys_used(paths: list[Path]) -> set[str]:
    """Every t("…") of the scripts and every data-i18n…="…" of the html among `paths`."""
    used: set[str] = set()
    for path in paths:
        pattern = KEY_CALL if path.suffix == ".js" else KEY_ATTRIBUTE
        used |= set(pattern.findall(path.read_text("utf-8")))
    return used


def test_both_catalogues_have_every_key_the_pages_use() -> None:
    """No key in one catalogue is missing from the other, none is empty, every t("…") in the
    scripts and every data-i18n in the html is in both, and both name the same {placeholders}.
    Likewise the guest page's four catalogues (i18n/guest/): the keys its scripts and html
    use, each an allergen's badge, in every one of them; and the party page's (i18n/party/)."""
    en, ko = catalogue("en"), catalogue("ko")
    assert sorted(set(en) - set(ko)) == [], "missing from ko.json"
    assert sorted(set(ko) - set(en)) == [], "missing from en.json"
    assert [k for k in en if not en[k].strip() or not ko[k].strip()] == []
    placeholders = re.compile(r"\{(\w+)\}")
    assert [k for k in en if set(placeholders.findall(en[k])) != set(placeholders.findall(ko[k]))
            ] == []
    guest_files = {path for pattern in GUEST_PAGE for path in STATIC.glob(pattern)}
    party_files = {path for pattern in PARTY_PAGE for path in STATIC.glob(pattern)}
    staff_files = ((set((STATIC / "js").glob("*.js")) | set(STATIC.glob("*.html")))
                   - guest_files - party_files)
    used = keys_used(sorted(staff_files))
    assert len(used) > 50, "the key patterns found almost nothing: are they stale?"
    assert sorted(used - set(en)) == [], "used by a page, missing from en.json"
    assert sorted(used - set(ko)) == [], "used by a page, missing from ko.json"

    guest_used = keys_used(sorted(guest_files))
    assert len(guest_used) > 40, "the guest page's keys were not found: are the patterns stale?"
    # The guest page draws only its own keys (guest.…), never a staff page's.
    assert sorted(k for k in guest_used if not k.startswith("guest.")) == []
    allergens = {f"guest.allergen.{code}" for code in Allergen}
    first = catalogue(GUEST_LANGUAGES[0], "guest")
    for lang in GUEST_LANGUAGES:
        words = catalogue(lang, "guest")
        where = f"i18n/guest/{lang}.json"
        assert sorted(set(first) ^ set(words)) == [], f"{where} and the others differ"
        assert [k for k in words if not words[k].strip()] == [], f"empty in {where}"
        assert [k for k in words if set(placeholders.findall(words[k]))
                != set(placeholders.findall(first[k]))] == [], f"placeholders differ in {where}"
        assert sorted(guest_used - set(words)) == [], f"used by the page, missing from {where}"
        assert sorted(allergens - set(words)) == [], f"an allergen's badge missing from {where}"
    four_catalogues(party_files, "party", placeholders, at_least=25)


def four_catalogues(files: set[Path], folder: str, placeholders: re.Pattern[str],
                    at_least: int) -> None:
    """A page's own four catalogues (i18n/{folder}/): the same keys in each, none empty, the
    same {placeholders}, and every key the page's scripts and html use; the page uses only
    its own keys ({folder}.…)."""
    used = keys_used(sorted(files))
    assert len(used) >= at_least, f"the {folder} page's keys were not found: stale patterns?"
    assert sorted(k for k in used if not k.startswith(f"{folder}.")) == []
    first = catalogue(GUEST_LANGUAGES[0], folder)
    for lang in GUEST_LANGUAGES:
        words = catalogue(lang, folder)
        where = f"i18n/{folder}/{lang}.json"
        assert sorted(set(first) ^ set(words)) == [], f"{where} and the others differ"
        assert [k for k in words if not words[k].strip()] == [], f"empty in {where}"
        assert [k for k in words if set(placeholders.findall(words[k]))
                != set(placeholders.findall(first[k]))] == [], f"placeholders differ in {where}"
        assert sorted(used - set(words)) == [], f"used by the page, missing from {where}"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_kitchen_screenshots(make_server: MakeServer, session: aiohttp.ClientSession,
                                   pages: Pages, lang: str) -> None:
    """docs/screenshots/kitchen-grill-{lang}.png and kitchen-expo-{lang}.png (written when
    ROBODYNE_UPDATE_SCREENSHOTS=1; test-artifacts/ always has them)."""
    menu = [("Bulgogi", "grill", 600), ("Galbi-jjim", "grill", 900), ("Cheeseburger", "grill", 600),
            ("Fries", "fry", 300), ("Japchae", "cold", 300), ("Makgeolli", "bar", 60),
            ("Lemonade", "bar", 60)]
    server, _, table = await kitchen_server(make_server, session, menu=menu)
    others = [(await rest(session, server, "POST", "/api/tables",
                          {"label": label, "seats": 4}, expect=201))["id"]
              for label in ("T4", "T7", "T9")]
    first = await place_order(session, server, table,
                              [("Bulgogi", 2), ("Fries", 2), ("Makgeolli", 1)])
    await rest(session, server, "PATCH", f"/api/orders/{first['id']}",
               {"items": [{"index": 0, "done": True}]}, expect=200)
    body = {"table_id": others[0], "items": [
        {"name": "Cheeseburger", "qty": 1, "modifiers": ["no onion"], "note": "allergy: nuts"},
        {"name": "Galbi-jjim", "qty": 1}, {"name": "Lemonade", "qty": 2}]}
    second = await rest(session, server, "POST", "/api/orders", body, expect=201)
    third = await place_order(session, server, others[1], [("Bulgogi", 1), ("Japchae", 1)])
    await rest(session, server, "PATCH", f"/api/orders/{third['id']}", {"priority": "rush"},
               expect=200)
    await place_order(session, server, others[2], [("Galbi-jjim", 2), ("Fries", 1)])
    assert second and third
    for station in ("grill", "expo"):
        page = await open_kitchen(pages, server, f"station={station}&lang={lang}")
        await expect(page.locator(".ticket")).to_have_count(4 if station == "expo" else 3)
        await page.keyboard.press("2")
        await page.wait_for_timeout(300)
        name = f"kitchen-{station}-{lang}.png"
        await page.screenshot(path=str(Path(pages_artifacts()) / name))
        if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / name))


def pages_artifacts() -> Path:
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path

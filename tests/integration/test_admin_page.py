"""The admin page (SPEC §13, docs/pages.md "Admin") in a real Chromium against a real server:
each tab's changes go through the REST API and show on the other pages (a guest's phone, a
tablet signed out), lists follow their topics live; and every role but admin is refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, token_id

from ..support.admin_page import failure_of, open_admin
from ..support.browser import OpenLive, Pages, browser, catalogue, pages, rest, until_true
from ..support.images import jpeg
from ..support.server import MakeServer
from ..support.wait import until
from .test_camera_pages import camera, played, stream
from .test_guest_page import dish, open_guest

__all__ = ["browser", "pages", "camera", "open_admin"]  # fixtures, imported so pytest finds them

pytestmark = pytest.mark.browser

TABLET = "paired-grill-tablet-token-0001"
WORDS = catalogue("en")

# ---- who may open it ----


@pytest.mark.parametrize("token,reason", [
    ("kitchen-token-test", "role"), ("floor-token-test", "role"),
    ("maintenance-token-test", "role"), (None, "login")])
async def test_every_role_but_admin_is_refused_and_asks_for_nothing_more(
    make_server: MakeServer, pages: Pages, token: str | None, reason: str
) -> None:
    server = await make_server()
    watched = await pages.watched(server, token)
    asked: list[str] = []
    watched.page.on("request", lambda request: asked.append(request.url))
    response = await watched.page.goto(str(server.make_url("/admin")))
    assert response is not None and response.status == 200
    page = watched.page
    await page.wait_for_selector(f'#conn[data-state="refused"][data-reason="{reason}"]',
                                 timeout=5000)
    banner = page.locator("#banner")
    await expect(banner).to_be_visible()
    link = banner.locator("a.login-link")
    assert await link.get_attribute("href") == "/login?next=%2Fadmin"
    await expect(link).to_have_text(WORDS["conn.sign_in" if reason == "login"
                                          else "conn.sign_in_other"])
    await page.wait_for_timeout(300)
    # The devices are no topic: only the admin's page asks for them.
    assert not [url for url in asked if "/api/tokens" in url]
    assert watched.errors == []


# ---- Menu ----


async def dishes_now(session: aiohttp.ClientSession, server: TestServer) -> dict[str, Any]:
    """The menu as the API has it, by name."""
    body = await rest(session, server, "GET", "/api/menu", expect=200)
    return {dish["name"]: dish for dish in body["items"]}


async def test_a_dish_added_with_its_photo_shows_on_a_guests_phone_and_is_reordered_and_deleted(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages,
    open_admin: OpenLive
) -> None:
    server = await make_server(kitchen={"stations": ["grill", "cold"], "default_station": "grill"})
    water = await rest(session, server, "POST", "/api/menu",
                       {"name": "Water", "category": "Mains"}, expect=201)
    table = await rest(session, server, "POST", "/api/tables", {"label": "T5", "seats": 4},
                       expect=201)
    guest = await open_guest(pages, server, session, table["id"], "en")
    page = await open_admin(server, "menu")

    await page.locator("#dish-new").click()
    form = page.locator("#dish-form")
    await form.locator('[name="name"]').fill("Bibimbap")
    await form.locator('[name="category"]').fill("Mains")
    await form.locator('[name="price"]').fill("12000")
    await expect(page.locator("#dish-price-shown")).to_have_text("₩12,000")
    await form.locator('[name="station"]').select_option("cold")
    await form.locator('[name="prep_target_s"]').fill("300")
    await form.locator('[name="name_ko"]').fill("비빔밥")
    await form.locator('[name="name_en"]').fill("Mixed rice")
    await form.locator('[name="description_en"]').fill("Rice, vegetables, an egg")
    for allergen in ("eggs", "sesame"):
        await form.locator(f'input[name="allergen"][value="{allergen}"]').check()
    await page.locator("#option-add").click()
    await form.locator('[name="option_name"]').fill("Extra egg")
    await form.locator('[name="option_price"]').fill("1000")
    await form.locator('button[type="submit"]').click()
    # Made: the editor stays open on it for its photo and recipe.
    await expect(page.locator("#dish-extras")).to_be_visible()
    made = (await dishes_now(session, server))["Bibimbap"]
    assert {key: made[key] for key in ("category", "price", "station", "prep_target_s",
                                       "names", "descriptions", "allergens", "options",
                                       "available", "image")} == {
        "category": "Mains", "price": 12000, "station": "cold", "prep_target_s": 300,
        "names": {"ko": "비빔밥", "en": "Mixed rice"},
        "descriptions": {"en": "Rice, vegetables, an egg"}, "allergens": ["eggs", "sesame"],
        "options": [{"name": "Extra egg", "names": {}, "price": 1000}], "available": True,
        "image": None}

    await page.locator("#dish-photo-file").set_input_files(
        {"name": "bibimbap.jpg", "mimeType": "image/jpeg", "buffer": jpeg((1200, 900))})
    await until_true(page, "document.getElementById('dish-photo').naturalWidth === 800")
    image = (await dishes_now(session, server))["Bibimbap"]["image"]
    assert image.startswith(f"/media/menu/{made['id']}-") and image.endswith(".webp")
    assert await page.locator("#dish-photo").get_attribute("src") == image
    # The guest's phone, open all along, shows the dish with its photo.
    await until_true(guest, "([s, src]) => { const i = document.querySelector(s);"
                     " return i && i.getAttribute('src') === src && i.naturalWidth > 0; }",
                     arg=[f"{dish(made['id'])} img.dish-image", image])
    await expect(guest.locator(dish(made["id"]))).to_contain_text("Mixed rice")

    # Up: Bibimbap before Water, positions numbered in the new order.
    rows = page.locator("#dishes .dish")
    await expect(rows).to_have_count(2)
    await page.locator(f'.dish[data-dish-id="{made["id"]}"] button.up').click()
    await expect(rows.first).to_have_attribute("data-name", "Bibimbap")
    menu = await dishes_now(session, server)
    assert (menu["Bibimbap"]["position"], menu["Water"]["position"]) == (0, 1)

    await page.locator("#dish-photo-remove").click()
    await expect(page.locator("#dish-no-photo")).to_be_visible()
    assert (await dishes_now(session, server))["Bibimbap"]["image"] is None

    await page.locator(f'.dish[data-dish-id="{water["id"]}"] button.delete').click()
    await expect(rows).to_have_count(1)
    assert list(await dishes_now(session, server)) == ["Bibimbap"]
    await expect(guest.locator(dish(water["id"]))).to_have_count(0)
    # A refusal is shown as the server says it: a second dish of the same name.
    await page.locator("#dish-new").click()
    await form.locator('[name="name"]').fill("bibimbap")
    await form.locator('button[type="submit"]').click()
    assert "bibimbap" in (await failure_of(page)).lower()
    assert list(await dishes_now(session, server)) == ["Bibimbap"]


# ---- Floor ----


async def screen_point(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where the map's point (x, y), in metres, is on the screen."""
    point = await page.evaluate(
        "([x, y]) => { const m = document.getElementById('floor-map');"
        " const p = new DOMPoint(x, y).matrixTransform(m.getScreenCTM());"
        " return [p.x, p.y]; }", [x, y])
    return float(point[0]), float(point[1])


async def drag_to(page: Page, selector: str, x: float, y: float) -> None:
    """Press on what `selector` finds, move in steps to the map's (x, y) and let go."""
    # None while the map redraws it (a live update replaces its elements): looked again.
    box = await until(page.locator(selector).bounding_box, 5, f"{selector} on the map")
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    to_x, to_y = await screen_point(page, x, y)
    await page.mouse.move(to_x, to_y, steps=8)
    await page.mouse.up()


async def tables_now(session: aiohttp.ClientSession, server: TestServer) -> dict[str, Any]:
    body = await rest(session, server, "GET", "/api/tables", expect=200)
    return {table["label"]: table for table in body["items"]}


def near_tenth(value: float, wanted: float) -> bool:
    """On the 0.1 m grid, and within one step of where the pointer let go."""
    return round(value * 10) == value * 10 and abs(value - wanted) <= 0.15


async def test_tables_and_places_are_dragged_on_the_map_added_renamed_and_deleted(
    make_server: MakeServer, session: aiohttp.ClientSession, open_admin: OpenLive
) -> None:
    server = await make_server()
    for body in ({"label": "T1", "seats": 2, "x": 3.0, "y": 3.0}, {"label": "Patio", "seats": 4}):
        await rest(session, server, "POST", "/api/tables", body, expect=201)
    await rest(session, server, "PUT", "/api/places/dock", {"x": 1.5, "y": 10.0}, expect=200)
    page = await open_admin(server, "floor")
    tables = await tables_now(session, server)
    t1, patio = tables["T1"]["id"], tables["Patio"]["id"]
    assert await page.locator('a[href="/print/tables"]').count() == 1

    await drag_to(page, f'#floor-map g.table[data-table-id="{t1}"]', 8.04, 6.02)
    await until_true(page, "(id) => document.querySelector(`#table-list [data-table-id='${id}']`)"
                     "?.textContent.includes('8')", arg=t1)
    moved = (await tables_now(session, server))["T1"]
    assert near_tenth(moved["x"], 8.04) and near_tenth(moved["y"], 6.02), moved

    # From the list aside onto the map: a table with no position, and the host stand.
    await expect(page.locator(f'#unplaced [data-table-id="{patio}"]')).to_be_visible()
    await drag_to(page, f'#unplaced [data-table-id="{patio}"]', 14.0, 9.0)
    await expect(page.locator(f'#floor-map g.table[data-table-id="{patio}"]')).to_be_visible()
    placed = (await tables_now(session, server))["Patio"]
    assert near_tenth(placed["x"], 14.0) and near_tenth(placed["y"], 9.0), placed
    await drag_to(page, '#unplaced [data-place="host"]', 18.0, 1.0)
    await expect(page.locator('#floor-map g.place[data-place="host"]')).to_be_visible()
    await drag_to(page, '#floor-map g.place[data-place="dock"]', 2.0, 11.0)
    await until_true(page, "document.querySelector('g.place[data-place=\"dock\"]')"
                     "?.dataset.x !== '1.5'")
    places = {place["name"]: place for place in
              (await rest(session, server, "GET", "/api/places", expect=200))["items"]}
    assert near_tenth(places["host"]["x"], 18.0) and near_tenth(places["host"]["y"], 1.0)
    assert near_tenth(places["dock"]["x"], 2.0) and near_tenth(places["dock"]["y"], 11.0)
    await expect(page.locator("#unplaced .chip")).to_have_count(1)  # the pass, never set
    await expect(page.locator('#unplaced [data-place="pass"]')).to_be_visible()
    # A drop off the map changes nothing, and the marker goes back.
    await drag_to(page, f'#floor-map g.table[data-table-id="{t1}"]', 8.0, -5.0)
    await page.wait_for_timeout(300)
    assert (await tables_now(session, server))["T1"]["y"] == moved["y"]

    add = page.locator("#table-add")
    await add.locator('[name="label"]').fill("T9")
    await add.locator('[name="seats"]').fill("6")
    await add.locator('button[type="submit"]').click()
    await expect(page.locator("#unplaced .chip", has_text="T9")).to_be_visible()
    assert (await tables_now(session, server))["T9"]["seats"] == 6

    row = page.locator(f'#table-list [data-table-id="{t1}"]')
    await row.locator('[name="label"]').fill("Window 1")
    await row.locator('[name="seats"]').fill("3")
    await row.locator('button[type="submit"]').click()
    await expect(page.locator(f'#floor-map g.table[data-table-id="{t1}"] text')).to_have_text(
        "Window 1")
    renamed = (await tables_now(session, server))["Window 1"]
    assert (renamed["id"], renamed["seats"]) == (t1, 3)

    # A table with a party at it is refused and kept; a free one goes.
    await rest(session, server, "POST", "/api/visits", {"table_id": t1}, expect=201)
    await row.locator("button.delete").click()
    assert "open visit" in await failure_of(page)
    assert "Window 1" in await tables_now(session, server)
    nine = (await tables_now(session, server))["T9"]["id"]
    await page.locator(f'#table-list [data-table-id="{nine}"] button.delete').click()
    await expect(page.locator(f'#table-list [data-table-id="{nine}"]')).to_have_count(0)
    assert "T9" not in await tables_now(session, server)
    # A table added or moved elsewhere (the API, another admin) shows at once.
    bar = await rest(session, server, "POST", "/api/tables",
                     {"label": "Bar 1", "seats": 2, "x": 16.0, "y": 6.0}, expect=201)
    await expect(page.locator(f'#floor-map g.table[data-table-id="{bar["id"]}"]')).to_be_visible()
    await rest(session, server, "PUT", "/api/places/pass", {"x": 17.5, "y": 2.5}, expect=200)
    await expect(page.locator('#floor-map g.place[data-place="pass"]')).to_have_attribute(
        "data-x", "17.5")


# ---- Stock ----


async def test_received_stock_brings_a_sold_out_dish_back_and_every_move_is_listed(
    make_server: MakeServer, session: aiohttp.ClientSession, open_admin: OpenLive
) -> None:
    server = await make_server()
    tofu = await rest(session, server, "POST", "/api/inventory",
                      {"sku": "tofu", "name": "Tofu", "quantity": 0, "unit": "block"},
                      expect=201)
    soup = await rest(session, server, "POST", "/api/menu", {"name": "Sundubu"}, expect=201)
    await rest(session, server, "PUT", f"/api/menu/{soup['id']}/recipe",
               {"ingredients": [{"sku": "tofu", "qty": 1}]}, expect=200)
    assert (await dishes_now(session, server))["Sundubu"]["sold_out"] is True
    page = await open_admin(server, "menu")
    badge = page.locator(f'.dish[data-dish-id="{soup["id"]}"] .sold-out')
    await expect(badge).to_contain_text("Tofu")

    await page.locator("#tab-stock").click()
    await page.locator('.stock-line[data-sku="tofu"]').click()
    adjust = page.locator("#stock-adjust")

    async def record(reason: str, amount: str) -> None:
        await adjust.locator('[name="reason"]').select_option(reason)
        await adjust.locator('[name="amount"]').fill(amount)
        await adjust.locator('button[type="submit"]').click()

    await record("received", "5")
    quantity = page.locator('.stock-line[data-sku="tofu"] .quantity')
    await expect(quantity).to_have_text("5 block")
    dish_now = (await dishes_now(session, server))["Sundubu"]
    assert (dish_now["sold_out"], dish_now["available"]) == (False, True)
    await page.locator("#tab-menu").click()
    await expect(badge).to_have_count(0)
    await page.locator("#tab-stock").click()

    await record("waste", "1")  # typed as an amount; sent as the loss it is
    await expect(quantity).to_have_text("4 block")
    await record("count", "10")
    await expect(quantity).to_have_text("10 block")
    await record("correction", "-2")
    await expect(quantity).to_have_text("8 block")
    moves = page.locator("#stock-moves tr")
    await expect(moves).to_have_count(4)
    assert [await row.get_attribute("data-reason") for row in await moves.all()] == [
        "correction", "count", "waste", "received"]
    api_moves = await rest(session, server, "GET", f"/api/inventory/{tofu['id']}/moves",
                           expect=200)
    assert [move["delta"] for move in api_moves["items"]] == [-2, 6, -1, 5]
    # More waste than there is: refused as the server says, nothing moved.
    await record("waste", "20")
    assert "tofu" in (await failure_of(page)).lower()
    await expect(quantity).to_have_text("8 block")

    # A move made elsewhere (the kitchen's tablet, the API) shows at once, with its move.
    await rest(session, server, "POST", f"/api/inventory/{tofu['id']}/adjust",
               {"reason": "received", "delta": 2}, token="kitchen-token-test", expect=200)
    await expect(quantity).to_have_text("10 block")
    await expect(moves).to_have_count(5)
    threshold = page.locator("#stock-threshold")
    await threshold.locator('[name="low_threshold"]').fill("11")
    await threshold.locator('button[type="submit"]').click()
    await expect(page.locator('.stock-line[data-sku="tofu"] .st-low_stock')).to_be_visible()

    add = page.locator("#stock-add")
    for name, value in (("sku", "egg"), ("name", "Eggs"), ("quantity", "30"), ("unit", "pc"),
                        ("low_threshold", "6")):
        await add.locator(f'[name="{name}"]').fill(value)
    await add.locator('button[type="submit"]').click()
    await expect(page.locator('.stock-line[data-sku="egg"] .quantity')).to_have_text("30 pc")
    lines = (await rest(session, server, "GET", "/api/inventory", expect=200))["items"]
    [egg] = [line for line in lines if line["sku"] == "egg"]
    assert (egg["name"], egg["quantity"], egg["low_threshold"]) == ("Eggs", 30, 6)


# ---- Devices ----


async def test_a_device_revoked_here_is_signed_out_and_a_tablet_is_paired(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages,
    open_admin: OpenLive, tmp_path: Path
) -> None:
    tokenfile.add_token(tmp_path / "tokens.toml", TABLET,
                        Grant(Role.KITCHEN, None, "grill tablet"))
    server = await make_server()
    tablet = await pages.watched(server, TABLET)
    await tablet.page.goto(str(server.make_url("/kitchen")))
    await tablet.page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    page = await open_admin(server, "devices")
    row = page.locator(f'.device[data-token-id="{token_id(TABLET)}"]')
    await expect(row).to_contain_text("grill tablet")
    # The config file's tokens say why they are not revoked here.
    config = page.locator('.device[data-source="config"]')
    await expect(config.first).to_contain_text(WORDS["admin.devices.config_only"])
    assert await config.locator("button.revoke").count() == 0

    await row.locator("button.revoke").click()
    await expect(row).to_have_count(0)
    assert TABLET not in tokenfile.read_tokens(tmp_path / "tokens.toml")
    reply = await session.get(server.make_url("/api/me"),
                              headers={"Authorization": f"Bearer {TABLET}"})
    assert reply.status == 401
    # The tablet's sockets were closed with 4401: it falls back to signing in (the banner's
    # link to /login, or /login itself).
    await until_true(tablet.page, "location.pathname === '/login'"
                     " || document.querySelector('#conn')?.dataset.reason === 'login'")

    await page.locator("#pair-role").select_option("floor")
    await page.locator("#pair-label").fill("host stand")
    await page.locator("#pair-make").click()
    digits = page.locator("#pair-digits")
    await expect(digits).to_have_text(re.compile(r"^\d{6}$"))
    await expect(page.locator("#pair-expires")).to_contain_text("9:5")
    await expect(page.locator("#pair-for")).to_contain_text("host stand")


# ---- Cameras ----


async def test_a_camera_stream_is_added_shown_live_edited_and_deleted(
    make_server: MakeServer, session: aiohttp.ClientSession, camera: TestServer,
    open_admin: OpenLive
) -> None:
    server = await make_server()
    # The page allows images from the cameras known when it is served: this one's origin.
    await rest(session, server, "POST", "/api/video_streams",
               {"name": "door", "url": str(camera.make_url("/snap.jpg")), "status": "active"},
               expect=201)
    page = await open_admin(server, "cameras")
    await played(page, stream("#stream-views", "door"))

    add = page.locator("#stream-add")
    await add.locator('[name="name"]').fill("pass")
    await add.locator('[name="url"]').fill(str(camera.make_url("/mjpeg")))
    await add.locator('button[type="submit"]').click()
    await played(page, stream("#stream-views", "pass"))
    streams = {s["name"]: s for s in
               (await rest(session, server, "GET", "/api/video_streams", expect=200))["items"]}
    assert (streams["pass"]["status"], streams["pass"]["robot_id"]) == ("active", None)

    row = page.locator(f'.stream-row[data-stream-id="{streams["pass"]["id"]}"]')
    await row.locator('[name="status"]').select_option("inactive")
    await row.locator('button[type="submit"]').click()
    await expect(page.locator('#stream-views figure[data-name="pass"]')).to_have_attribute(
        "data-state", "link")
    await row.locator("button.delete").click()
    await expect(page.locator('#stream-views figure[data-name="pass"]')).to_have_count(0)
    names = [s["name"] for s in
             (await rest(session, server, "GET", "/api/video_streams", expect=200))["items"]]
    assert names == ["door"]
    # An address of another scheme is refused as the server says.
    await add.locator('[name="name"]').fill("bad")
    await add.locator('[name="url"]').fill("ftp://camera/1")
    await add.locator('button[type="submit"]').click()
    assert "url" in (await failure_of(page)).lower()

"""The admin page's screenshots (docs/pages.md "Admin"): a restaurant set up half way, each tab
in English and the menu and the floor in Korean, looked at before they are kept."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, token_id

from ..support.admin_page import open_admin
from ..support.browser import OpenLive, browser, pages, rest, until_true
from ..support.images import jpeg
from ..support.server import MakeServer
from .test_camera_pages import camera, played, stream

__all__ = ["browser", "pages", "camera", "open_admin"]  # fixtures, imported so pytest finds them

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
TABLET = "paired-grill-tablet-token-0001"


async def restaurant(make_server: MakeServer, session: aiohttp.ClientSession,
                     tmp_path: Path, camera: TestServer) -> TestServer:
    """A small restaurant set up half way: dishes (one with a photo, one sold out), tables on
    the map and one not yet, the dock and the pass, stock, a paired tablet, two cameras."""
    tokenfile.add_token(tmp_path / "tokens.toml", TABLET,
                        Grant(Role.KITCHEN, None, "grill tablet"))
    server = await make_server(kitchen={"stations": ["grill", "cold", "bar"],
                                        "default_station": "grill"})
    lines = {}
    for sku, name, quantity, unit, low in (("beef", "Beef", 0, "kg", 2),
                                           ("rice", "Rice", 12, "kg", 3),
                                           ("tofu", "Tofu", 0, "block", 4)):
        lines[sku] = await rest(session, server, "POST", "/api/inventory",
                                {"sku": sku, "name": name, "quantity": quantity, "unit": unit,
                                 "low_threshold": low}, expect=201)
    for move in ({"reason": "received", "delta": 5, "note": "Monday's delivery"},
                 {"reason": "waste", "delta": -0.8}):
        await rest(session, server, "POST", f"/api/inventory/{lines['beef']['id']}/adjust", move,
                   expect=200)
    dishes = [
        {"name": "Bulgogi", "category": "Mains", "station": "grill", "price": 18000,
         "names": {"ko": "불고기", "en": "Bulgogi"}, "allergens": ["soybeans", "sesame"],
         "options": [{"name": "Extra rice", "price": 1000}], "prep_target_s": 600},
        {"name": "Bibimbap", "category": "Mains", "station": "cold", "price": 12000,
         "names": {"ko": "비빔밥"}, "allergens": ["eggs"], "position": 1},
        {"name": "Sundubu", "category": "Mains", "station": "grill", "price": 11000,
         "names": {"ko": "순두부찌개"}, "position": 2},
        {"name": "Makgeolli", "category": "Drinks", "station": "bar", "price": 7000},
    ]
    ids = {}
    for body in dishes:
        ids[body["name"]] = (await rest(session, server, "POST", "/api/menu", body,
                                        expect=201))["id"]
    await rest(session, server, "PUT", f"/api/menu/{ids['Sundubu']}/recipe",
               {"ingredients": [{"sku": "tofu", "qty": 1}]}, expect=200)
    await rest(session, server, "PUT", f"/api/menu/{ids['Bulgogi']}/recipe",
               {"ingredients": [{"sku": "beef", "qty": 0.2}, {"sku": "rice", "qty": 0.15}]},
               expect=200)
    async with session.post(server.make_url(f"/api/menu/{ids['Bulgogi']}/image"),
                            data=jpeg((900, 600)),
                            headers={"Authorization": "Bearer admin-token-test",
                                     "Content-Type": "image/jpeg"}) as response:
        assert response.status == 200
    for label, seats, x, y in (("T1", 2, 3.0, 3.0), ("T2", 4, 7.0, 3.0), ("T3", 4, 11.0, 3.0),
                               ("T4", 6, 5.0, 8.0), ("T5", 8, 10.0, 8.5), ("Patio", 4, None, None)):
        await rest(session, server, "POST", "/api/tables",
                   {"label": label, "seats": seats, "x": x, "y": y}, expect=201)
    await rest(session, server, "PUT", "/api/places/dock", {"x": 1.5, "y": 10.5}, expect=200)
    await rest(session, server, "PUT", "/api/places/pass", {"x": 17.0, "y": 2.0}, expect=200)
    for name, url, status in (("door", str(camera.make_url("/snap.jpg")), "active"),
                              ("kitchen pass", "rtsp://10.0.0.9:8554/pass", "active")):
        await rest(session, server, "POST", "/api/video_streams",
                   {"name": name, "url": url, "status": status}, expect=201)
    return server


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_admin_screenshots(make_server: MakeServer, session: aiohttp.ClientSession,
                                 tmp_path: Path, camera: TestServer, open_admin: OpenLive,
                                 lang: str) -> None:
    """docs/screenshots/admin-{tab}-en.png for every tab and admin-{tab}-ko.png for the menu and
    the floor (written when ROBODYNE_UPDATE_SCREENSHOTS=1; test-artifacts/ always has them)."""
    server = await restaurant(make_server, session, tmp_path, camera)
    page = await open_admin(server, "menu", lang)
    tabs = ["menu", "floor", "stock", "devices", "cameras"] if lang == "en" else ["menu", "floor"]
    for tab in tabs:
        await page.locator(f"#tab-{tab}").click()
        await expect(page.locator(f"#panel-{tab}")).to_be_visible()
        if tab == "menu":
            await page.locator('.dish[data-name="Bulgogi"] button.edit').click()
            await until_true(page, "document.getElementById('dish-photo').naturalWidth > 0")
        elif tab == "stock":
            await page.locator('.stock-line[data-sku="beef"]').click()
            await expect(page.locator("#stock-moves tr").first).to_be_visible()
        elif tab == "devices":
            tablet = page.locator(f'.device[data-token-id="{token_id(TABLET)}"]')
            await expect(tablet).to_be_visible()
            await page.locator("#pair-label").fill("bar tablet")
            await page.locator("#pair-make").click()
            await expect(page.locator("#pair-digits")).to_be_visible()
        elif tab == "cameras":
            await played(page, stream("#stream-views", "door"))
        await page.evaluate("window.scrollTo(0, 0)")
        await page.wait_for_timeout(300)
        name = f"admin-{tab}-{lang}.png"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

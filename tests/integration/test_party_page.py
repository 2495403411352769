"""The party's page (SPEC §12.4, docs/pages.md "Party page") on a phone-sized Chromium against a
real server: a party added by staff opens its link and watches its place in line move as the
parties ahead are seated or leave; staff call it (the page says so and vibrates), then seat it
(the table shows); when its session ends the page says goodbye. Chinese and Japanese; nothing
wider than the screen, nothing the policy refuses, the party's name shown as text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from robodyne.domain import party, party_views

from ..support.browser import ARTIFACTS, Pages, browser, catalogue, pages, rest, until_true
from ..support.floor_robot import FloorRobot
from ..support.server import MakeServer
from .test_guest_page import PHONE, save_screenshot

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

FLOOR = "floor-token-test"
# navigator.vibrate stubbed before the page's first script: each call's pattern is recorded.
RECORD_VIBRATIONS = """window.vibrations = [];
Object.defineProperty(Navigator.prototype, "vibrate", {configurable: true,
    value(pattern) { window.vibrations.push(pattern); return true; }});"""
# The page's script errors, checked with what it shows.
SCRIPT_ERRORS: dict[Page, list[str]] = {}


async def busy_restaurant(make_server: MakeServer, session: aiohttp.ClientSession,
                          **sections: Any) -> TestServer:
    """A server whose two tables are taken, so a party joining is quoted a wait."""
    server = await make_server(restaurant={"name": "Hanok Kitchen"}, **sections)
    for label in ("T1", "T2"):
        table = await table_made(session, server, label)
        await rest(session, server, "POST", "/api/visits",
                   {"table_id": table["id"], "party_size": 4}, expect=201)
    return server


async def table_made(session: aiohttp.ClientSession, server: TestServer,
                     label: str) -> dict[str, Any]:
    made: dict[str, Any] = await rest(session, server, "POST", "/api/tables",
                                      {"label": label, "seats": 4, "x": 2.0, "y": 3.0},
                                      expect=201)
    return made


async def join(session: aiohttp.ClientSession, server: TestServer, name: str,
               size: int = 2) -> dict[str, Any]:
    """A party added at the host stand by floor staff: the customer, with its `link`."""
    made: dict[str, Any] = await rest(session, server, "POST", "/api/customers",
                                      {"name": name, "party_size": size}, token=FLOOR,
                                      expect=201)
    return made


async def staff(session: aiohttp.ClientSession, server: TestServer, method: str, path: str,
                body: Any = None) -> None:
    await rest(session, server, method, path, body, token=FLOOR, expect=200)


async def open_party(pages: Pages, server: TestServer, link: str, lang: str | None = None
                     ) -> Page:
    """The party's link opened on a phone (no token), recording what the policy refuses and
    each vibration; returned once its stream is live."""
    watched = await pages.watched(server, None, viewport=PHONE)
    page = watched.page
    await page.context.add_init_script(RECORD_VIBRATIONS)
    response = await page.goto(str(server.make_url(link)) + (f"?lang={lang}" if lang else ""))
    assert response is not None and response.status == 200
    await page.wait_for_selector('body[data-conn="live"]', timeout=5000)
    SCRIPT_ERRORS[page] = watched.errors
    return page


async def fits_and_obeys(page: Page) -> None:
    """Nothing scrolls sideways at 360 px, the policy refused nothing, no script failed."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.evaluate("window.cspViolations") == []
    assert SCRIPT_ERRORS.get(page) == []


@pytest.mark.browser
async def test_a_party_watches_its_place_move_then_is_called_and_seated(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await busy_restaurant(make_server, session)
    words = catalogue("en", "party")
    lee = await join(session, server, "Lee")
    park = await join(session, server, "Park")
    kim = await join(session, server, "<i>Kim</i>", 4)
    assert kim["quoted_wait_s"] > 0
    page = await open_party(pages, server, kim["link"], "en")

    await expect(page.locator("#restaurant")).to_have_text("Hanok Kitchen")
    # The name is text, never markup.
    await expect(page.locator("#party-name")).to_have_text("<i>Kim</i>")
    assert await page.locator("#party-name i").count() == 0
    await expect(page.locator("#party-size")).to_have_text("Party of 4")
    await expect(page.locator("#position")).to_have_text("You are 3rd in line")
    minutes = kim["quoted_wait_s"] // 60
    await expect(page.locator("#quoted")).to_have_text(f"about {minutes} minutes")
    await expect(page.locator("#waited")).to_have_text(words["party.under_minute"])
    await expect(page.locator("#joined")).not_to_be_empty()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "party-en-waiting.png"))

    # The sound needs a tap first; it beeps once to say it works.
    sound = page.locator("#sound-button")
    await expect(sound).to_have_text(words["party.sound_turn_on"])
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("body")).to_have_attribute("data-beeps", "1")

    # A party ahead is seated, another leaves: the place moves live.
    t7 = await table_made(session, server, "T7")
    await staff(session, server, "POST", f"/api/customers/{lee['id']}/seat", {"table_id": t7["id"]})
    await expect(page.locator("#position")).to_have_text("You are 2nd in line")
    await staff(session, server, "PATCH", f"/api/customers/{park['id']}", {"status": "left"})
    await expect(page.locator("#position")).to_have_text(words["party.next"])
    assert await page.evaluate("window.vibrations") == []

    # Called: the page turns, beeps and vibrates.
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/call")
    await expect(page.locator("#called")).to_be_visible()
    await expect(page.locator("#called .headline")).to_have_text(
        "Your table is ready — please come to the host stand")
    await expect(page.locator("#waiting")).to_be_hidden()
    await expect(page.locator("#called-at")).to_contain_text("Called at")
    await until_true(page, "window.vibrations.length === 1")
    await expect(page.locator("body")).to_have_attribute("data-beeps", "2")
    await fits_and_obeys(page)

    # Seated: the table, and no robot to follow (no escort).
    t8 = await table_made(session, server, "T8")
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/seat", {"table_id": t8["id"]})
    await expect(page.locator("#table")).to_have_text("Your table: T8")
    await expect(page.locator("#called")).to_be_hidden()
    await expect(page.locator("#follow")).to_be_hidden()
    await expect(page.locator("#sound")).to_be_hidden()
    assert await page.evaluate("window.vibrations.length") == 1
    await fits_and_obeys(page)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "ja"])
async def test_chinese_and_japanese_show_their_catalogue(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages, lang: str
) -> None:
    server = await busy_restaurant(make_server, session)
    words = catalogue(lang, "party")
    await join(session, server, "Lee")
    kim = await join(session, server, "Kim", 3)
    page = await open_party(pages, server, kim["link"], lang)
    assert await page.evaluate("document.documentElement.lang") == (
        "zh-Hans" if lang == "zh" else lang)
    second = words["party.nth_other"].replace("{n}", "2")
    await expect(page.locator("#position")).to_have_text(
        words["party.position"].replace("{nth}", second))
    await expect(page.locator("#party-size")).to_have_text(words["party.size"].replace("{n}", "3"))
    await expect(page.locator("#sound-button")).to_have_text(words["party.sound_turn_on"])
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/call")
    await expect(page.locator("#called .headline")).to_have_text(words["party.ready"])
    await until_true(page, "window.vibrations.length === 1")
    t7 = await table_made(session, server, "T7")
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/seat", {"table_id": t7["id"]})
    await expect(page.locator("#table")).to_have_text(words["party.table"].replace("{label}", "T7"))
    await fits_and_obeys(page)


@pytest.mark.browser
@pytest.mark.parametrize("how", ["left", "no_show", "seated"])
async def test_the_page_says_goodbye_when_the_session_ends(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages,
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr(party, "SEATED_KEPT", timedelta(seconds=1))
    monkeypatch.setattr(party_views, "SWEEP_S", 0.1)
    server = await busy_restaurant(make_server, session)
    words = catalogue("en", "party")
    kim = await join(session, server, "Kim")
    page = await open_party(pages, server, kim["link"], "en")
    if how == "seated":
        t7 = await table_made(session, server, "T7")
        await staff(session, server, "POST", f"/api/customers/{kim['id']}/seat",
                    {"table_id": t7["id"]})
    else:
        await staff(session, server, "PATCH", f"/api/customers/{kim['id']}", {"status": how})
    await expect(page.locator("#ended")).to_be_visible()
    await expect(page.locator("#ended-text")).to_have_text(words[f"party.bye_{how}"])
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("body")).to_have_attribute("data-conn", "ended")
    await fits_and_obeys(page)


@pytest.mark.browser
async def test_a_seated_party_with_an_escort_is_told_which_robot_to_follow(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    """A real escort: a TCP robot takes it, and the party's page names the robot until the
    robot says it is done."""
    server = await busy_restaurant(make_server, session, host={"escort": True})
    await rest(session, server, "PUT", "/api/places/host", {"x": 19.0, "y": 1.0})
    free = await table_made(session, server, "T5")
    robot = await FloorRobot.join(server, "robo-2")
    kim = await join(session, server, "Kim")
    page = await open_party(pages, server, kim["link"], "en")
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/seat",
                {"table_id": free["id"]})
    await expect(page.locator("#table")).to_have_text("Your table: T5")
    command = await robot.command()
    assert command["command"] == "escort"
    await robot.answer(command, "accepted")
    await expect(page.locator("#follow")).to_have_text("Follow robo-2 to T5")
    await robot.answer(command, "done")
    await expect(page.locator("#follow")).to_be_hidden()
    await fits_and_obeys(page)
    await robot.close()


@pytest.mark.browser
async def test_party_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    """docs/screenshots/party-ko.png: a party called, in Korean."""
    server = await busy_restaurant(make_server, session)
    kim = await join(session, server, "김민지", 4)
    page = await open_party(pages, server, kim["link"], "ko")
    await page.locator("#sound-button").click()
    await staff(session, server, "POST", f"/api/customers/{kim['id']}/call")
    await expect(page.locator("#called")).to_be_visible()
    await page.emulate_media(reduced_motion="reduce")  # the pulse stopped for the picture
    await fits_and_obeys(page)
    for path in save_screenshot("party-ko.png"):
        await page.screenshot(path=str(path))

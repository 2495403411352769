"""The pages (docs/pages.md) in a real browser: the kitchen display, the dashboard and the
console against a real server, with orders made through REST and robots speaking TCP.
Headless Debian Chromium."""

from __future__ import annotations

import asyncio
import collections
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from robodyne.app import create_app
from robodyne.web.auth import TOKEN_COOKIE

from ..support.browser import Pages, browser, eventually, pages, rest, restart_on_same_port
from ..support.server import TOKENS, MakeServer, make_settings, parts_of
from ..support.robot_client import RobotClient

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def ticket(order_id: int) -> str:
    return f'.ticket[data-order-id="{order_id}"]'


async def live(page: Page, timeout: float = 5000) -> None:
    await page.wait_for_selector('#conn[data-state="live"]', timeout=timeout)


async def add_table(session: aiohttp.ClientSession, server: TestServer, label: str = "T1",
                    x: float = 6.0, y: float = 2.5) -> dict[str, Any]:
    table: dict[str, Any] = await rest(session, server, "POST", "/api/tables",
                                       {"label": label, "seats": 4, "x": x, "y": y}, expect=201)
    return table


async def add_order(session: aiohttp.ClientSession, server: TestServer, table_id: int,
                    items: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    order: dict[str, Any] = await rest(session, server, "POST", "/api/orders",
                                       {"table_id": table_id, "items": items, "note": note},
                                       expect=201)
    return order


async def order_from_api(session: aiohttp.ClientSession, server: TestServer,
                         order_id: int) -> dict[str, Any]:
    body = await rest(session, server, "GET", "/api/orders", expect=200)
    [order] = [o for o in body["items"] if o["id"] == order_id]
    return dict(order)


async def test_kitchen_shows_a_new_order_within_a_second_and_bumps_it(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server, "Window 3")
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token")))
    page = tab.page
    await live(page)
    assert await page.locator(".ticket").count() == 0
    await page.evaluate("""new MutationObserver(() => {
        window.ticketShownAt ??= document.querySelector('.ticket') && Date.now();
    }).observe(document.getElementById('tickets'), { childList: true })""")

    posting = time.time()
    order = await add_order(session, server, table["id"], [
        {"name": "Margherita pizza", "qty": 2, "modifiers": ["extra basil"]},
        {"name": "Tomato soup", "qty": 1, "note": "no pepper"},
    ], note="birthday")
    posted = time.time()
    await page.wait_for_selector(ticket(order["id"]), timeout=1000)
    shown = await page.evaluate("window.ticketShownAt")
    print(f"order on /kitchen {shown - 1000 * posting:.0f} ms after the POST was sent, "
          f"{shown - 1000 * posted:.0f} ms after it returned")

    card = page.locator(ticket(order["id"]))
    assert await card.get_attribute("data-status") == "placed"
    assert await card.locator(".table").inner_text() == "Window 3"
    assert await card.locator(".item").count() == 2
    first = card.locator(".item").nth(0)
    assert "2×" in await first.inner_text() and "extra basil" in await first.inner_text()
    assert "no pepper" in await card.locator(".item").nth(1).inner_text()
    assert await card.locator(".order-note").inner_text() == "birthday"

    # Tap an item: it is crossed off on screen and in the server.
    await card.locator(".item").nth(0).click()
    await page.wait_for_selector(f'{ticket(order["id"])} .item.done[data-index="0"]', timeout=2000)

    async def first_item_done() -> bool:
        current = await order_from_api(session, server, order["id"])
        return bool(current["items"][0]["done"] and not current["items"][1]["done"])
    await eventually(first_item_done)

    # Bump: placed -> preparing, on screen and in the server.
    await card.locator("button.bump").click()
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="preparing"]', timeout=2000)

    async def status_is(status: str) -> bool:
        return bool((await order_from_api(session, server, order["id"]))["status"] == status)
    await eventually(lambda: status_is("preparing"))
    await card.locator("button.bump").click()
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="ready"]', timeout=2000)
    await eventually(lambda: status_is("ready"))

    # Recall: ready -> preparing; the crossed-off item stays crossed off.
    await card.locator("button.recall").click()
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="preparing"]', timeout=2000)
    await eventually(lambda: status_is("preparing"))
    assert (await order_from_api(session, server, order["id"]))["items"][0]["done"] is True
    assert await card.locator(".item.done").count() == 1
    assert tab.dialogs == [] and tab.errors == []


async def test_dashboard_follows_a_tcp_robot_and_sends_it_commands(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server, "T7", x=10.0, y=6.0)
    robot = await RobotClient.hello(server, "r1", name="Robo One")
    try:
        await robot.send({"type": "state", "battery": 87,
                          "pose": {"x": 2.5, "y": 3.0, "yaw": 0.0}})
        tab = await pages.open(str(server.make_url("/dashboard?token=admin-token")))
        page = tab.page
        await live(page)
        marker = 'g.robot[data-robot-id="r1"]'
        await page.wait_for_selector(f'{marker}[data-x="2.5"][data-y="3"]', timeout=2000)
        assert "Robo One 87%" == await page.locator(f"{marker} text").text_content()

        # It moves: the marker follows each pose the robot sends.
        for x, y in [(7.25, 4.5), (11.0, 6.75)]:
            await robot.send({"type": "state", "pose": {"x": x, "y": y, "yaw": 1.57}})
            await page.wait_for_selector(f'{marker}[data-x="{x:g}"][data-y="{y:g}"]', timeout=2000)
            transform = await page.locator(marker).get_attribute("transform")
            assert transform == f"translate({x:g} {y:g})"

        # Commands from the robot's card reach the robot's TCP connection.
        card = page.locator('.robot-card[data-robot-id="r1"]')
        assert "87%" in await card.inner_text()
        await card.locator("button.return").wait_for(state="visible", timeout=2000)
        await card.locator("button.return").click()
        command = await robot.receive(timeout=2)
        assert command["type"] == "command" and command["command"] == "return", command
        assert command["id"]

        await card.locator("select.table-pick").select_option(str(table["id"]))
        await card.locator("button.go").click()
        command = await robot.receive(timeout=2)
        assert command["type"] == "command" and command["command"] == "go_to", command
        assert command["table_id"] == table["id"]
        assert tab.dialogs == [] and tab.errors == []
    finally:
        await robot.close()


async def test_console_shows_robot_logs_with_level_filter_search_and_pause(
    make_server: MakeServer, pages: Pages
) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server, "r1")
    try:
        tab = await pages.open(str(server.make_url("/console?token=maintenance-token")))
        page = tab.page
        await live(page)
        row = page.locator("#logs tr", has_text="wheel slip 42")

        await robot.send({"type": "log", "level": "WARNING", "message": "wheel slip 42"})
        await row.wait_for(timeout=2000)
        assert await row.locator(".level").inner_text() == "WARNING"
        assert await row.locator(".source").inner_text() == "robot:r1"

        # Level filter: ERROR and up hides a WARNING; WARNING and up shows it again.
        await page.select_option("#level", "ERROR")
        await row.wait_for(state="detached", timeout=1000)
        await page.select_option("#level", "WARNING")
        await row.wait_for(timeout=1000)

        # Search: matches the message (case-insensitively) or the source, hides the rest.
        await page.fill("#search", "nothing like it")
        await row.wait_for(state="detached", timeout=1000)
        await page.fill("#search", "SLIP")
        await row.wait_for(timeout=1000)
        await page.fill("#search", "robot:r1")
        await row.wait_for(timeout=1000)
        await page.fill("#search", "")

        # Pause: a line that arrives meanwhile is held (counted) but not shown until resume.
        await page.click("#pause")
        assert await page.locator("#pause").get_attribute("aria-pressed") == "true"
        await robot.send({"type": "log", "level": "ERROR", "message": "wheel slip 43"})
        await page.wait_for_selector("#held:has-text('1 new line(s) held')", timeout=2000)
        held = page.locator("#logs tr", has_text="wheel slip 43")
        assert await held.count() == 0
        assert await row.count() == 1  # what was on screen stays on screen
        await page.click("#pause")
        await held.wait_for(timeout=1000)
        assert await page.locator("#held").inner_text() == ""
        # Newest first.
        assert "wheel slip 43" in await page.locator("#logs tr").first.inner_text()
        assert tab.dialogs == [] and tab.errors == []
    finally:
        await robot.close()


async def test_kitchen_rides_out_a_server_restart_without_a_reload(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server)
    before = await add_order(session, server, table["id"], [{"name": "Tiramisu", "qty": 1}])
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token")))
    page = tab.page
    await live(page)
    await page.wait_for_selector(ticket(before["id"]), timeout=1000)
    await page.evaluate("window.sameDocument = true")
    db_path = parts_of(server).settings.database.path

    start_again = await restart_on_same_port(server)
    stopped = time.monotonic()
    await page.wait_for_selector("#banner", state="visible", timeout=3000)
    assert "reconnecting" in (await page.locator("#banner").inner_text()).lower()
    assert await page.locator("#conn").get_attribute("data-state") == "reconnecting"
    print(f"banner shown {1000 * (time.monotonic() - stopped):.0f} ms after the server stopped")

    # An order made while the server is down, by another program writing the database.
    with sqlite3.connect(db_path) as db:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        items = orjson.dumps([{"name": "Outage lasagne", "qty": 3, "note": "", "modifiers": [],
                               "done": False}]).decode()
        during = db.execute("INSERT INTO orders (table_id, items, note, created_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?)", (table["id"], items, "", now, now)).lastrowid
    db.close()

    fresh = await start_again()
    started = time.monotonic()
    try:
        await page.wait_for_selector("#banner", state="hidden", timeout=15000)
        print(f"page live again {1000 * (time.monotonic() - started):.0f} ms after the restart "
              f"({1000 * (time.monotonic() - stopped):.0f} ms outage on screen)")
        await page.wait_for_selector(ticket(during or 0), timeout=2000)
        assert "3×" in await page.locator(ticket(during or 0)).inner_text()
        assert "Outage lasagne" in await page.locator(ticket(during or 0)).inner_text()
        assert await page.locator(ticket(before["id"])).count() == 1
        assert await page.evaluate("window.sameDocument") is True  # no reload happened

        # And it is really live on the new server: a new order still arrives at once.
        after = await add_order(session, fresh, table["id"], [{"name": "Espresso", "qty": 1}])
        await page.wait_for_selector(ticket(after["id"]), timeout=1000)
        assert tab.errors == []
    finally:
        await pages.screenshot_all()
        await fresh.close()


async def test_markup_in_orders_is_shown_as_text_and_never_runs(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server, "<i>T9</i>")
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token")))
    page = tab.page
    await live(page)
    note = "<img src=x onerror=alert(1)>"
    name = "<b>bold</b> soup"
    order = await add_order(session, server, table["id"], [
        {"name": name, "qty": 1, "note": "<svg onload=alert(2)>",
         "modifiers": ["<script>alert(3)</script>"]},
    ], note=note)
    card = page.locator(ticket(order["id"]))
    await card.wait_for(timeout=1000)
    await page.wait_for_timeout(300)  # a broken image would have fired onerror by now

    assert await card.locator(".order-note").inner_text() == note
    assert await card.locator(".item .name").inner_text() == name
    assert await card.locator(".item .note").inner_text() == "<svg onload=alert(2)>"
    assert await card.locator(".item .mods").inner_text() == "<script>alert(3)</script>"
    assert await card.locator(".table").inner_text() == "<i>T9</i>"
    for tag in ("img", "b", "i", "svg", "script"):
        assert await card.locator(tag).count() == 0, tag
    assert tab.dialogs == []
    assert tab.errors == []


async def test_pages_carry_no_secret(make_server: MakeServer, pages: Pages) -> None:
    server = await make_server()
    tab = await pages.open(str(server.make_url("/kitchen?token=admin-token&view=compact")))
    page = tab.page
    # The token left the address bar; other query parameters stayed.
    assert page.url == str(server.make_url("/kitchen?view=compact"))
    await live(page)

    [cookie] = [c for c in await page.context.cookies() if c["name"] == TOKEN_COOKIE]
    assert cookie["value"] == "admin-token"
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"

    fetched: set[str] = set()
    page.on("request", lambda request: fetched.add(request.url))
    for path in ("/kitchen", "/dashboard", "/console", "/"):
        response = await page.goto(str(server.make_url(path)))
        assert response is not None and response.status == 200
        assert "token=" not in page.url
        html = await response.text()
        assert "<html" in html
        for token in TOKENS:
            assert token not in html, (path, token)
        assert TOKEN_COOKIE not in await page.evaluate("document.cookie")
        stored = await page.evaluate("JSON.stringify([localStorage, sessionStorage])")
        assert not any(token in stored for token in TOKENS)
        if path != "/":
            await live(page)  # the cookie alone authenticates every page's WebSockets

    # Nor do the scripts and styles the pages load.
    assets = sorted(url for url in fetched if "/static/" in url)
    assert any(url.endswith("client.js") for url in assets), assets
    for url in assets:
        body = await (await page.context.request.get(url)).text()
        for token in TOKENS:
            assert token not in body, (url, token)
    assert tab.errors == []


@pytest.mark.parametrize("path", ["/kitchen", "/console?token=kitchen-token"],
                         ids=["no-token", "wrong-role"])
async def test_a_refused_page_says_so_and_does_not_retry(
    make_server: MakeServer, pages: Pages, path: str
) -> None:
    server = await make_server()
    tab = await pages.open(str(server.make_url(path)))
    page = tab.page
    await page.wait_for_selector('#conn[data-state="refused"]', timeout=3000)
    assert "not allowed" in await page.locator("#banner").inner_text()
    assert await page.locator("#banner").is_visible()
    await page.wait_for_timeout(2000)
    per_topic = collections.Counter(url.split("?")[0].rsplit("/", 1)[-1] for url in tab.websockets)
    topics = {"orders", "tables"} if path == "/kitchen" else {"systemlogs", "events"}
    assert set(per_topic) == topics and all(n == 1 for n in per_topic.values()), per_topic
    assert await page.locator("#conn").get_attribute("data-state") == "refused"


async def test_demo_screenshots(aiohttp_server: Any, tmp_path: Path,
                                session: aiohttp.ClientSession, pages: Pages) -> None:
    """The demo restaurant (seeded rows, four simulated robots over TCP) on all three pages.
    Screenshots go to test-artifacts/ like every test's; ROBODYNE_UPDATE_SCREENSHOTS=1 also
    writes docs/screenshots/ (the README's pictures) and lets the robots drive a little longer."""
    update = bool(os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS"))
    settings = make_settings(tmp_path / "demo.db").model_copy(update={"demo": True})
    server = await aiohttp_server(create_app(settings))
    opened = {}
    for name, token in [("kitchen", "kitchen-token"), ("dashboard", "admin-token"),
                        ("console", "maintenance-token")]:
        opened[name] = (await pages.open(str(server.make_url(f"/{name}?token={token}")))).page
        await live(opened[name])

    dashboard = opened["dashboard"]
    await dashboard.wait_for_function(
        "document.querySelectorAll('g.robot').length === 4", timeout=5000)
    where = "[...document.querySelectorAll('g.robot')].map((g) => g.getAttribute('transform'))"
    start = await dashboard.evaluate(where)

    # A kitchen at work: some tickets started, one ready, items crossed off.
    for order_id, steps, done in [(1, ["preparing"], [0]), (2, ["preparing", "ready"], [0, 1]),
                                  (4, ["preparing"], [])]:
        for status in steps:
            await rest(session, server, "PATCH", f"/api/orders/{order_id}", {"status": status},
                       expect=200)
        if done:
            await rest(session, server, "PATCH", f"/api/orders/{order_id}",
                       {"items": [{"index": i, "done": True} for i in done]}, expect=200)
    # The simulated robots chatter only every 30-60 s; a POS integration peer (admin token,
    # no robot_id) fills the console's log meanwhile.
    peer = await RobotClient.connect(server)
    try:
        await peer.send({"type": "hello", "token": "admin-token"})
        assert (await peer.receive())["type"] == "welcome"
        for n, (level, message) in enumerate([
            ("INFO", "POS sync: 6 open orders imported"),
            ("INFO", "Menu 2024-11 loaded, 7 dishes"),
            ("WARNING", "Printer 'pass' out of paper"),
            ("INFO", "Printer 'pass' back online"),
            ("ERROR", "Payment terminal 2 unreachable, retrying"),
        ]):
            await peer.send({"type": "log", "level": level, "message": message, "id": n})
            assert (await peer.receive()) == {"type": "ack", "id": n}
    finally:
        await peer.close()

    await asyncio.sleep(10 if update else 3)  # let the simulated robots drive
    moved = await dashboard.evaluate(where)
    assert moved != start, "the demo robots did not move"
    kitchen = opened["kitchen"]
    assert await kitchen.locator(".ticket").count() == 6
    assert await kitchen.locator('.ticket[data-status="ready"]').count() == 1
    assert await kitchen.locator(".item.done").count() == 3
    assert await dashboard.locator(".table-card").count() == 12
    assert await dashboard.locator("#robots-online").inner_text() == "4 / 4"
    console = opened["console"]
    await console.wait_for_selector("#logs tr.ERROR", timeout=2000)
    assert await console.locator("#events li").count() >= 4

    if update:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, page in opened.items():
            await page.screenshot(path=SCREENSHOTS / f"{name}.png")

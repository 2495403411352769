"""The pages (docs/pages.md) in a real browser: the kitchen display, the dashboard and the
console against a real server, with orders made through REST and robots speaking TCP.
Headless Debian Chromium."""

from __future__ import annotations

import asyncio
import json
import collections
import os
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, Route, expect

from robodyne.app import create_app
from robodyne.web.auth import TOKEN_COOKIE

from ..support.browser import (
    Pages, Tab, browser, order_now, pages, place_order, rest, restart_on_same_port, until_true,
)
from ..support.floor_robot import FloorRobot
from ..support.process import free_port
from ..support.server import TOKENS, MakeServer, db_write, make_settings, parts_of
from ..support.robot_client import RobotClient
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def ticket(order_id: int) -> str:
    return f'.ticket[data-order-id="{order_id}"]'


async def live(page: Page, timeout: float = 5000) -> None:
    await page.wait_for_selector('#conn[data-state="live"]', timeout=timeout)


async def add_table(session: aiohttp.ClientSession, server: TestServer, label: str = "T1",
                    x: float = 6.0, y: float = 2.5) -> dict[str, Any]:
    table: dict[str, Any] = await rest(session, server, "POST", "/api/tables",
                                       {"label": label, "seats": 4, "x": x, "y": y}, expect=201)
    return table


async def test_kitchen_shows_a_new_order_within_a_second_and_bumps_it(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server, "Window 3")
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token-test")))
    page = tab.page
    await live(page)
    assert await page.locator(".ticket").count() == 0
    await page.evaluate("""new MutationObserver(() => {
        window.ticketShownAt ??= document.querySelector('.ticket') && Date.now();
    }).observe(document.getElementById('tickets'), { childList: true })""")

    order = await place_order(session, server, table["id"], [
        {"name": "Margherita pizza", "qty": 2, "modifiers": ["extra basil"]},
        {"name": "Tomato soup", "qty": 1, "note": "no pepper"},
    ], note="birthday")
    posted = time.time()
    await page.wait_for_selector(ticket(order["id"]), timeout=1000)
    shown = await page.evaluate("window.ticketShownAt")
    assert shown - 1000 * posted < 1000, "on /kitchen within a second of the POST's answer"

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
        current = await order_now(session, server, order["id"])
        return bool(current["items"][0]["done"] and not current["items"][1]["done"])
    await until(first_item_done)

    # The first item crossed off started the ticket: placed -> preparing, on screen too.
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="preparing"]', timeout=2000)

    async def status_is(status: str) -> bool:
        return bool((await order_now(session, server, order["id"]))["status"] == status)
    await until(lambda: status_is("preparing"))
    # Bump: preparing -> ready, on screen and in the server.
    await card.locator("button.bump").click()
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="ready"]', timeout=2000)
    await until(lambda: status_is("ready"))

    # Recall: ready -> preparing; the crossed-off item stays crossed off.
    await card.locator("button.recall").click()
    await page.wait_for_selector(f'{ticket(order["id"])}[data-status="preparing"]', timeout=2000)
    await until(lambda: status_is("preparing"))
    assert (await order_now(session, server, order["id"]))["items"][0]["done"] is True
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
        tab = await pages.open(str(server.make_url("/dashboard?token=admin-token-test")))
        page = tab.page
        await live(page)
        marker = 'g.robot[data-robot-id="r1"]'
        await page.wait_for_selector(f'{marker}[data-x="2.5"][data-y="3"]', timeout=2000)
        assert "Robo One 87%" == await page.locator(f"{marker} text.name").text_content()

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
        tab = await pages.open(str(server.make_url("/console?token=maintenance-token-test")))
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
    before = await place_order(session, server, table["id"], [{"name": "Tiramisu", "qty": 1}])
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token-test")))
    page = tab.page
    await live(page)
    await page.wait_for_selector(ticket(before["id"]), timeout=1000)
    await page.evaluate("window.sameDocument = true")
    db_path = parts_of(server).settings.database.path

    start_again = await restart_on_same_port(server)
    await page.wait_for_selector("#banner", state="visible", timeout=3000)
    assert "reconnecting" in (await page.locator("#banner").inner_text()).lower()
    assert await page.locator("#conn").get_attribute("data-state") == "reconnecting"

    # An order made while the server is down, by another program writing the database.
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    items = orjson.dumps([{"name": "Outage lasagne", "qty": 3, "note": "", "modifiers": [],
                           "done": False}]).decode()
    during = db_write(db_path, "INSERT INTO orders (table_id, items, note, created_at,"
                      " updated_at) VALUES (?, ?, ?, ?, ?)", table["id"], items, "", now, now)

    fresh = await start_again()
    try:
        await page.wait_for_selector("#banner", state="hidden", timeout=15000)
        await page.wait_for_selector(ticket(during or 0), timeout=2000)
        assert "3×" in await page.locator(ticket(during or 0)).inner_text()
        assert "Outage lasagne" in await page.locator(ticket(during or 0)).inner_text()
        assert await page.locator(ticket(before["id"])).count() == 1
        assert await page.evaluate("window.sameDocument") is True  # no reload happened

        # And it is really live on the new server: a new order still arrives at once.
        after = await place_order(session, fresh, table["id"], [{"name": "Espresso", "qty": 1}])
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
    tab = await pages.open(str(server.make_url("/kitchen?token=kitchen-token-test")))
    page = tab.page
    await live(page)
    note = "<img src=x onerror=alert(1)>"
    name = "<b>bold</b> soup"
    order = await place_order(session, server, table["id"], [
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
    tab = await pages.open(str(server.make_url("/kitchen?token=admin-token-test&view=compact")))
    page = tab.page
    # The token left the address bar; other query parameters stayed.
    assert page.url == str(server.make_url("/kitchen?view=compact"))
    await live(page)

    [cookie] = [c for c in await page.context.cookies() if c["name"] == TOKEN_COOKIE]
    assert cookie["value"] == "admin-token-test"
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


@pytest.mark.parametrize("path", ["/kitchen", "/console?token=kitchen-token-test"],
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
    topics = ({"orders", "tables"} if path == "/kitchen"
              else {"systemlogs", "events", "video_streams"})
    assert set(per_topic) == topics and all(n == 1 for n in per_topic.values()), per_topic
    assert await page.locator("#conn").get_attribute("data-state") == "refused"


async def test_demo_screenshots(aiohttp_server: Any, tmp_path: Path,
                                session: aiohttp.ClientSession, pages: Pages) -> None:
    """The living demo restaurant (seeded rows, guests ordering on their phones and cooks, four
    simulated robots over TCP dispatched by the server) on all three pages. Screenshots go to
    test-artifacts/ like every test's; ROBODYNE_UPDATE_SCREENSHOTS=1 also writes
    docs/screenshots/ (the README's pictures) after the demo has run for a minute, as a
    newcomer would first see it."""
    update = bool(os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS"))
    # The demo's guests order over HTTP at the port the server is told to listen on.
    port = free_port()
    settings = make_settings(tmp_path / "demo.db", server={"port": port},
                             dispatch={"auto_deliver": True, "charge_below": 25},
                             simulation={"order_every_s": 3, "cook_s": 20})
    server = await aiohttp_server(create_app(settings.model_copy(update={"demo": True})),
                                  port=port)
    opened = {}
    for name, token in [("kitchen", "kitchen-token-test"), ("dashboard", "admin-token-test"),
                        ("console", "maintenance-token-test")]:
        opened[name] = (await pages.open(str(server.make_url(f"/{name}?token={token}")))).page
        await live(opened[name])

    dashboard = opened["dashboard"]
    await until_true(dashboard, "document.querySelectorAll('g.robot').length === 4")
    where = "[...document.querySelectorAll('g.robot')].map((g) => g.getAttribute('transform'))"
    start = await dashboard.evaluate(where)
    # Nobody touches anything: two seeded orders are ready from the start, so robots leave at
    # once; the cooks make more ready, guests keep ordering.
    moved = f"JSON.stringify({where}) !== {json.dumps(json.dumps(start))}"
    await until_true(dashboard, moved, timeout=15)
    await dashboard.wait_for_selector("#tasks li.task", timeout=5000)
    await opened["kitchen"].wait_for_selector(".ticket", timeout=5000)
    assert await dashboard.locator(".table-card").count() == 12
    assert await dashboard.locator("#robots-online").inner_text() == "4 / 4"
    console = opened["console"]
    await console.wait_for_selector("#events li", timeout=5000)

    if update:
        await asyncio.sleep(60)  # what a newcomer sees after a minute
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, page in opened.items():
            await page.screenshot(path=SCREENSHOTS / f"{name}.png")


async def test_a_demo_order_is_served_by_a_robot_with_no_human_action(
    aiohttp_server: Any, tmp_path: Path, session: aiohttp.ClientSession, pages: Pages
) -> None:
    """An order placed through REST in --demo: the simulated cooks make it ready, the server
    gives it to a robot, the robot drives and delivers it; the dashboard shows its task on the
    way. No person bumps, chooses or sends anything."""
    settings = make_settings(tmp_path / "demo.db", dispatch={"auto_deliver": True},
                             simulation={"order_every_s": 3600, "cook_s": 3})
    server = await aiohttp_server(create_app(settings.model_copy(update={"demo": True})))
    dashboard = (await pages.open(str(server.make_url("/dashboard?token=admin-token-test")))).page
    await live(dashboard)
    order = await rest(session, server, "POST", "/api/orders",
                       {"table_id": 12, "items": [{"name": "Bibimbap", "qty": 2}]}, expect=201)

    async def its_task() -> Any:
        current = await rest(session, server, "GET", "/api/orders")
        [mine] = [o for o in current["items"] if o["id"] == order["id"]]
        return mine if mine["status"] == "delivering" else None
    delivering = await until(its_task, timeout=30, every=0.2)
    task = f'#tasks li.task[data-task-id="{delivering["task_id"]}"]'
    await dashboard.wait_for_selector(task, timeout=3000)
    assert "T12" in await dashboard.locator(task).inner_text()
    robot = delivering["robot_id"]
    assert robot.startswith("sim-")

    async def served() -> Any:
        current = await rest(session, server, "GET", "/api/orders")
        [mine] = [o for o in current["items"] if o["id"] == order["id"]]
        return mine if mine["status"] == "served" else None
    done = await until(served, timeout=60, every=0.5)
    assert done["robot_id"] == robot and done["task_id"] == delivering["task_id"]
    delivered = [e for e in (await rest(session, server, "GET", "/api/events"))["items"]
                 if e["type"] == "delivered" and e["data"].get("order_id") == order["id"]]
    assert len(delivered) == 1 and delivered[0]["source"] == f"robot:{robot}"


# ---- The dashboard's task queue, table menu and robot labels (docs/pages.md, "Dashboard") ----

DOCK = (1.5, 6.0)
# As strict as a deployment would send: scripts and styles from the server's files only, so an
# inline script, a style attribute set from a string or a <style> element would be refused.
STRICT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; base-uri 'none'; form-action 'self'")
LABEL_BOXES = """Object.fromEntries([...document.querySelectorAll('g.robot-label')].map((g) => {
    const r = g.getBoundingClientRect();
    return [g.dataset.robotId, [r.left, r.top, r.right, r.bottom]];
}))"""


def task_card(task_id: int) -> str:
    return f'.task[data-task-id="{task_id}"]'


def robot_task_label(robot_id: str) -> str:
    return f'g.robot[data-robot-id="{robot_id}"] text.doing'


async def tasks_from_api(session: aiohttp.ClientSession, server: TestServer
                         ) -> list[dict[str, Any]]:
    body = await rest(session, server, "GET", "/api/tasks", expect=200)
    return list(body["items"])


async def task_from_api(session: aiohttp.ClientSession, server: TestServer,
                        task_id: int) -> dict[str, Any]:
    [task] = [t for t in await tasks_from_api(session, server) if t["id"] == task_id]
    return task


async def join(server: TestServer, robot_id: str, name: str, *, x: float = DOCK[0],
               y: float = DOCK[1], battery: float = 90, status: str = "idle") -> FloorRobot:
    """A named robot over TCP that has said where it is (FloorRobot.join names none)."""
    robot = FloorRobot(await RobotClient.hello(server, robot_id, name=name), robot_id)
    await robot.report(status=status, battery=battery,
                       pose={"x": x, "y": y, "yaw": 0, "map": "floor"})
    return robot


async def open_dashboard(pages: Pages, server: TestServer, token: str = "admin-token-test") -> Tab:
    tab = await pages.open(str(server.make_url(f"/dashboard?token={token}")))
    await live(tab.page)
    await tab.page.wait_for_selector(f'body[data-role="{TOKENS[token]}"]', timeout=2000)
    return tab


async def under_strict_csp(tab: Tab) -> None:
    """Reload the page with STRICT_CSP enforced; every violation lands in window.cspViolations."""
    page = tab.page

    async def add_policy(route: Route) -> None:
        response = await route.fetch()
        await route.fulfill(response=response, headers={**response.headers,
                                                        "content-security-policy": STRICT_CSP})
    await page.route("**/dashboard", add_policy)
    # Chromium counts a page the test hands it (route.fulfill) as public, and refuses a public
    # page's WebSockets to 127.0.0.1 unless it has the local-network-access permission.
    await page.context.grant_permissions(["local-network-access"])
    await page.add_init_script("""window.cspViolations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.cspViolations.push(`${e.violatedDirective} ${e.sample || e.blockedURI}`));
        """)
    await page.reload()
    await live(page)
    await page.wait_for_selector("body[data-role]", timeout=2000)


async def assert_csp_clean(page: Page) -> None:
    assert await page.evaluate("window.cspViolations") == []
    # And the policy really is on: a style attribute set from a string is refused.
    await page.evaluate("document.body.setAttribute('style', 'outline: 1px solid red')")
    await until_true(page, "window.cspViolations.length === 1", timeout=2)
    assert await page.evaluate("getComputedStyle(document.body).outlineStyle") == "none"


async def settled_label_boxes(page: Page) -> dict[str, list[float]]:
    """The robot labels' boxes on screen, once two reads in a row agree (markers glide)."""
    before = None
    for _ in range(20):
        boxes: dict[str, list[float]] = await page.evaluate(LABEL_BOXES)
        if boxes == before:
            return boxes
        before = boxes
        await page.wait_for_timeout(300)
    raise AssertionError(f"the labels never settled: {before}")


def assert_apart(boxes: dict[str, list[float]]) -> None:
    names = sorted(boxes)
    for n, a in enumerate(names):
        for b in names[n + 1:]:
            (al, at, ar, ab), (bl, bt, br, bb) = boxes[a], boxes[b]
            assert al >= br or bl >= ar or at >= bb or bt >= ab, (a, boxes[a], b, boxes[b])


async def test_the_task_queue_shows_a_task_and_follows_it_live(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    t3 = await add_table(session, server, "T3", x=16.0, y=3.0)
    t1 = await add_table(session, server, "T1", x=5.0, y=3.0)
    # Charging below resume_battery: connected, but it takes no work, so tasks stay queued.
    robot = await join(server, "r1", "Robo 1", status="charging", battery=50)
    try:
        tab = await open_dashboard(pages, server)
        page = tab.page
        await expect(page.locator("#no-tasks")).to_be_visible()
        task = await rest(session, server, "POST", "/api/tasks",
                          {"kind": "summon", "table_id": t3["id"]}, expect=201)
        card = page.locator(task_card(task["id"]))
        await card.wait_for(timeout=2000)
        assert await card.get_attribute("data-status") == "queued"
        assert await card.locator(".kind").text_content() == "summon"
        assert await card.locator(".status").text_content() == "queued"
        assert await card.locator(".robot").text_content() == "—"
        assert await card.locator(".priority").text_content() == "P0"
        stop = card.locator(".stop")
        assert await stop.inner_text() == "T3 pending"
        assert await stop.get_attribute("data-status") == "pending"
        assert await page.locator("#task-count").text_content() == "1 queued · 0 active"
        await expect(page.locator("#no-tasks")).to_be_hidden()

        # The age ticks in place, like the kitchen's timers.
        age = card.locator(".age")
        first = await age.text_content()
        assert first is not None and re.fullmatch(r"\d+:\d\d", first), first
        await expect(age).not_to_have_text(first, timeout=3000)

        # Priority +: one more, in the server and on screen.
        await card.locator("button.raise").click()

        async def priority() -> Any:
            return (await task_from_api(session, server, task["id"]))["priority"] == 1
        await until(priority)
        await expect(card.locator(".priority")).to_have_text("P1")

        # Pin to a robot: the task waits for it, and the robot's marker says what is next.
        await card.locator("select.pin-pick").select_option("r1")
        await card.locator("button.pin").click()

        async def pinned() -> Any:
            current = await task_from_api(session, server, task["id"])
            return current["robot_id"] == "r1" and current["pinned"]
        await until(pinned)
        await expect(card.locator(".robot")).to_have_text("Robo 1")
        await expect(card.locator(".robot")).to_have_class(re.compile(r"\bpinned\b"))
        await expect(page.locator(robot_task_label("r1"))).to_have_text("next: summon → T3")
        assert await card.locator("select.pin-pick").input_value() == "r1"

        # Cancelled elsewhere: the card follows at once, greyed, its buttons gone.
        await rest(session, server, "POST", f"/api/tasks/{task['id']}/cancel", expect=200)
        await expect(card).to_have_attribute("data-status", "cancelled")
        await expect(card).to_have_class(re.compile(r"\bfinished\b"))
        assert await card.locator(".status").text_content() == "cancelled"
        assert await card.locator("button:visible, select:visible").count() == 0
        await expect(page.locator(robot_task_label("r1"))).to_be_hidden()
        await expect(page.locator("#no-tasks")).to_be_visible()

        # Cancel from the page; an open task is listed above a finished one.
        bus = await rest(session, server, "POST", "/api/tasks",
                         {"kind": "bus", "table_id": t1["id"]}, expect=201)
        bus_card = page.locator(task_card(bus["id"]))
        await bus_card.wait_for(timeout=2000)
        first_card = page.locator("#tasks .task").first
        assert await first_card.get_attribute("data-task-id") == str(bus["id"])
        await bus_card.locator("button.cancel").click()

        async def cancelled() -> Any:
            return (await task_from_api(session, server, bus["id"]))["status"] == "cancelled"
        await until(cancelled)
        await expect(bus_card).to_have_attribute("data-status", "cancelled")
        assert tab.dialogs == [] and tab.errors == []
    finally:
        await robot.close()


async def test_a_robot_on_a_task_shows_it_on_the_map_and_its_stops_advance(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server(dispatch={"auto_deliver": True, "return_when_idle": False})
    t2 = await add_table(session, server, "T2", x=10.0, y=6.0)
    robot = await join(server, "r1", "Robo 1", x=5.0, y=6.0)
    try:
        tab = await open_dashboard(pages, server)
        page = tab.page
        order = await place_order(session, server, t2["id"], [{"name": "Bibimbap", "qty": 1}])
        for status in ("preparing", "ready"):
            await rest(session, server, "PATCH", f"/api/orders/{order['id']}",
                       {"status": status}, expect=200)
        command = await robot.command()
        assert command["command"] == "deliver"
        card = page.locator(task_card(command["task_id"]))
        on_map = page.locator(robot_task_label("r1"))
        await expect(card).to_have_attribute("data-status", "assigned")
        await expect(card.locator(".robot")).to_have_text("Robo 1")
        await expect(on_map).to_have_text("deliver → T2")
        await expect(page.locator('.robot-card[data-robot-id="r1"] .doing')).to_have_text(
            "deliver → T2")

        await robot.answer(command, "accepted")
        await expect(card).to_have_attribute("data-status", "underway")
        assert await page.locator("#task-count").text_content() == "0 queued · 1 active"
        # Under way it can only be cancelled: no priority, no pinning.
        assert await card.locator("button.cancel").is_visible()
        assert await card.locator("button.raise").is_hidden()
        assert await card.locator("select.pin-pick").is_hidden()

        await robot.event("arrived", task_id=command["task_id"], table_id=t2["id"])
        await expect(card.locator(".stop")).to_have_attribute("data-status", "arrived")
        assert await card.locator(".stop").inner_text() == "T2 arrived"
        await robot.event("delivered", task_id=command["task_id"], table_id=t2["id"],
                          order_id=order["id"])
        await expect(card).to_have_attribute("data-status", "completed")
        await expect(card.locator(".stop")).to_have_attribute("data-status", "done")
        await expect(on_map).to_be_hidden()
        assert tab.dialogs == [] and tab.errors == []
    finally:
        await robot.close()


async def test_a_table_on_the_map_summons_or_buses_a_robot_by_mouse_or_keyboard(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    t1 = await add_table(session, server, "T1", x=5.0, y=3.0)
    t2 = await add_table(session, server, "T2", x=10.0, y=6.0)
    tab = await open_dashboard(pages, server)
    page = tab.page
    await under_strict_csp(tab)
    menu = page.locator("#table-menu")
    summon, bus = menu.locator("button.summon"), menu.locator("button.bus")

    async def tasks_for(kind: str, table_id: int) -> list[dict[str, Any]]:
        return [t for t in await tasks_from_api(session, server)
                if t["kind"] == kind and [s["table_id"] for s in t["stops"]] == [table_id]]

    # The mouse: click the table, then "Summon robot".
    first = page.locator(f'g.table[data-table-id="{t1["id"]}"]')
    await first.click()
    await expect(menu).to_be_visible()
    await expect(menu.locator(".menu-title")).to_have_text("T1")
    await expect(summon).to_be_focused()
    await summon.click()
    await expect(menu).to_be_hidden()
    [summoned] = await until(lambda: tasks_for("summon", t1["id"]))
    assert (summoned["status"], summoned["source"]) == ("queued", "staff")
    await page.locator(task_card(summoned["id"])).wait_for(timeout=2000)

    # The keyboard: a table is a button in the tab order; Enter opens, arrows move, Enter picks.
    second = page.locator(f'g.table[data-table-id="{t2["id"]}"]')
    assert await second.get_attribute("tabindex") == "0"
    assert await second.get_attribute("aria-haspopup") == "menu"
    await second.focus()
    await page.keyboard.press("Enter")
    await expect(menu).to_be_visible()
    assert await second.get_attribute("aria-expanded") == "true"
    await expect(summon).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(bus).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(menu).to_be_hidden()
    await until(lambda: tasks_for("bus", t2["id"]))
    await expect(second).to_be_focused()  # back where it was
    # Space opens it too; Escape closes it and gives the focus back.
    await page.keyboard.press(" ")
    await expect(menu).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(second).to_be_focused()
    # A press elsewhere closes it.
    await second.click()
    await expect(menu).to_be_visible()
    await page.locator("header h1").click()
    await expect(menu).to_be_hidden()
    assert len(await tasks_from_api(session, server)) == 2

    # A refusal is shown the way the page shows every refusal: the server's message, in an alert.
    async def refuse(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        await route.fulfill(status=400, json={"error": {
            "code": "validation_error", "message": "table_id: nobody may go there"}})
    await page.route("**/api/tasks", refuse)
    await first.click()
    await bus.click()
    await until(lambda: tab.dialogs)
    assert tab.dialogs == ["alert: table_id: nobody may go there"]
    await expect(menu).to_be_visible()  # still there to try again
    assert len(await tasks_from_api(session, server)) == 2
    assert tab.errors == []
    await assert_csp_clean(page)


async def test_floor_staff_work_the_queue_and_the_kitchen_is_refused_the_dashboard(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server()
    table = await add_table(session, server, "T1")
    task = await rest(session, server, "POST", "/api/tasks",
                      {"kind": "summon", "table_id": table["id"]}, token="floor-token-test",
                      expect=201)

    floor = (await open_dashboard(pages, server, "floor-token-test")).page
    card = floor.locator(task_card(task["id"]))
    await card.wait_for(timeout=2000)
    for control in ("button.raise", "select.pin-pick", "button.pin", "button.cancel"):
        await expect(card.locator(control)).to_be_visible()
    marker = floor.locator(f'g.table[data-table-id="{table["id"]}"]')
    assert await marker.get_attribute("tabindex") == "0"
    await marker.click()
    await expect(floor.locator("#table-menu")).to_be_visible()

    # The dashboard shows robots, which the kitchen may not read: refused, as it was before
    # tasks; and no control the kitchen may not use is offered meanwhile.
    kitchen = (await pages.open(str(server.make_url("/dashboard?token=kitchen-token-test")))).page
    await kitchen.wait_for_selector('#conn[data-state="refused"]', timeout=3000)
    assert "not allowed" in await kitchen.locator("#banner").inner_text()
    await kitchen.wait_for_selector('body[data-role="kitchen"]', timeout=2000)
    await kitchen.locator(task_card(task["id"])).wait_for(timeout=2000)
    assert await kitchen.locator(".task button:visible, .task select:visible").count() == 0
    kitchen_marker = kitchen.locator(f'g.table[data-table-id="{table["id"]}"]')
    assert await kitchen_marker.get_attribute("tabindex") is None
    await kitchen_marker.click()
    await expect(kitchen.locator("#table-menu")).to_be_hidden()


async def test_robot_labels_never_overlap_even_when_robots_crowd_the_dock(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server = await make_server(dispatch={"return_when_idle": False})
    await rest(session, server, "PUT", "/api/places/dock", {"x": 1.5, "y": 6.0})
    t1 = await add_table(session, server, "T1", x=6.0, y=3.0)
    t2 = await add_table(session, server, "T2", x=12.0, y=9.0)
    robots = [await join(server, f"r{n}", f"Robo {n}") for n in range(1, 5)]  # at the dock
    try:
        # Two of them are sent off, so their labels have a second line.
        for robot, table in ((robots[0], t1), (robots[1], t2)):
            await rest(session, server, "POST", "/api/tasks",
                       {"kind": "go_to", "table_id": table["id"], "robot_id": robot.robot_id},
                       expect=201)
            assert (await robot.command())["command"] == "go_to"
        tab = await open_dashboard(pages, server)
        page = tab.page
        await until_true(page, "document.querySelectorAll('g.robot-label').length === 4")
        await expect(page.locator(robot_task_label("r1"))).to_have_text("go to → T1")
        await expect(page.locator(robot_task_label("r2"))).to_have_text("go to → T2")

        boxes = await settled_label_boxes(page)
        assert_apart(boxes)
        # A column beside the dock, top to bottom by name, each label led to its robot.
        assert await page.locator("line.leader:visible").count() == 4
        assert sorted(boxes, key=lambda robot_id: boxes[robot_id][1]) == ["r1", "r2", "r3", "r4"]
        dock = await page.locator(".place-dock circle").bounding_box()
        assert dock is not None
        assert all(box[0] > dock["x"] + dock["width"] / 2 for box in boxes.values())
        area = await page.locator("#map").bounding_box()
        assert area is not None
        assert all(box[0] >= area["x"] and box[2] <= area["x"] + area["width"]
                   and box[1] >= area["y"] and box[3] <= area["y"] + area["height"]
                   for box in boxes.values())

        # Spread out, each label stands over its own robot again, with no leader; the last two
        # are 1.4 m apart, near enough for their labels to collide, so they share a column.
        spots = [(4.0, 9.0), (10.0, 3.0), (15.0, 9.0), (16.4, 9.0)]
        for robot, (x, y) in zip(robots, spots):
            await robot.report(pose={"x": x, "y": y, "yaw": 0, "map": "floor"})
        await page.wait_for_selector('g.robot[data-robot-id="r4"][data-x="16.4"]', timeout=2000)
        boxes = await settled_label_boxes(page)
        assert_apart(boxes)
        for robot_id, leader in [("r1", False), ("r2", False), ("r3", True), ("r4", True)]:
            line = page.locator(f'g.robot[data-robot-id="{robot_id}"] line.leader')
            assert await line.is_visible() is leader, robot_id
        for robot_id in ("r1", "r2"):
            body = await page.locator(f'g.robot[data-robot-id="{robot_id}"] circle').bounding_box()
            assert body is not None
            left, top, right, bottom = boxes[robot_id]
            assert abs((left + right) / 2 - (body["x"] + body["width"] / 2)) < 2, robot_id
            assert bottom <= body["y"], robot_id
        assert tab.dialogs == [] and tab.errors == []
    finally:
        for robot in robots:
            await robot.close()


async def test_dashboard_tasks_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    """A floor at work, for docs/screenshots/dashboard-tasks.png (written when
    ROBODYNE_UPDATE_SCREENSHOTS=1; test-artifacts/ always has it): two robots charging at the
    dock, one delivering to two tables, one sent to guests who called, a queue behind them."""
    server = await make_server(dispatch={"auto_deliver": True, "return_when_idle": False})
    tables = {}
    for n, (x, y, seats) in enumerate([(6, 3, 2), (10, 3, 4), (14, 3, 4), (18, 3, 2),
                                       (6, 9, 4), (10, 9, 6), (14, 9, 4), (18, 9, 2)], 1):
        table = await rest(session, server, "POST", "/api/tables",
                           {"label": f"T{n}", "seats": seats, "x": x, "y": y}, expect=201)
        tables[n] = table["id"]
    for n, status in [(2, "occupied"), (3, "occupied"), (6, "occupied"), (7, "occupied"),
                      (4, "needs_cleaning")]:
        await rest(session, server, "PATCH", f"/api/tables/{tables[n]}", {"status": status},
                   expect=200)
    robots = [await join(server, "r1", "Robo 1", status="charging", battery=62),
              await join(server, "r2", "Robo 2", status="charging", battery=71),
              await join(server, "r3", "Robo 3", status="charging", battery=50, x=2.3, y=5.4)]
    try:
        # Two orders ready while no robot is free ride together.
        for n in (6, 7):
            order = await place_order(session, server, tables[n], [{"name": "Bibimbap", "qty": 2}])
            for status in ("preparing", "ready"):
                await rest(session, server, "PATCH", f"/api/orders/{order['id']}",
                           {"status": status}, expect=200)
        await robots[2].report(status="idle", battery=88)
        deliver = await robots[2].command()
        await robots[2].answer(deliver, "accepted")
        await robots[2].event("arrived", task_id=deliver["task_id"], table_id=tables[6])
        await robots[2].report(pose={"x": 11.2, "y": 7.6, "yaw": 0.3, "map": "floor"})
        robots.append(await join(server, "r4", "Robo 4", x=2.2, y=6.7))
        await rest(session, server, "POST", "/api/tasks",
                   {"kind": "summon", "table_id": tables[3]}, expect=201)
        assert (await robots[3].command())["command"] == "summon"
        await robots[3].report(status="delivering",
                               pose={"x": 4.0, "y": 5.0, "yaw": -0.5, "map": "floor"})
        bus = await rest(session, server, "POST", "/api/tasks",
                         {"kind": "bus", "table_id": tables[4]}, expect=201)
        await rest(session, server, "PATCH", f"/api/tasks/{bus['id']}", {"priority": 1},
                   expect=200)
        pinned = {"kind": "summon", "table_id": tables[8], "robot_id": "r2"}
        await rest(session, server, "POST", "/api/tasks", pinned, expect=201)
        gone = await rest(session, server, "POST", "/api/tasks",
                          {"kind": "go_to", "table_id": tables[5]}, expect=201)
        await rest(session, server, "POST", f"/api/tasks/{gone['id']}/cancel", expect=200)

        tab = await open_dashboard(pages, server)
        page = tab.page
        await until_true(page, "document.querySelectorAll('#tasks .task').length === 5")
        assert_apart(await settled_label_boxes(page))
        await page.wait_for_timeout(1200)  # the ages have ticked
        if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "dashboard-tasks.png")
        assert tab.dialogs == [] and tab.errors == []
        await pages.screenshot_all()  # test-artifacts/ too, while the robots are still there
    finally:
        for robot in robots:
            await robot.close()

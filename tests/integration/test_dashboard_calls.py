"""The dashboard's open calls and guest view links (SPEC §11.5, §11.6, §11.2; docs/pages.md
"Dashboard") in a real Chromium against a real server: a guest's call made through the guest
API shows up live with a chime, and staff answer it; a table's guest view opens in a new tab."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from ..support.browser import Pages, Watched, browser, catalogue, pages, rest
from ..support.guest_client import Phone, table_code
from ..support.server import MakeServer
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLOOR = "floor-token-test"

OpenDashboard = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_dashboard(pages: Pages) -> AsyncIterator[OpenDashboard]:
    """Opens /dashboard signed in (the cookie /login sets), live, once GET /api/me has
    answered; when the test ends, no page it opened had a script error or a CSP refusal."""
    opened: list[Watched] = []

    async def open_page(server: TestServer, token: str = FLOOR, query: str = "") -> Page:
        watched = await pages.watched(server, token)
        opened.append(watched)
        await watched.page.goto(str(server.make_url(f"/dashboard{query}")))
        await watched.page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
        await watched.page.wait_for_selector("body[data-role]", timeout=2000)
        return watched.page
    yield open_page
    for watched in opened:
        assert watched.errors == []
        assert await watched.page.evaluate("window.cspViolations") == []


async def add_tables(session: aiohttp.ClientSession, server: TestServer,
                     *labels: str) -> dict[str, int]:
    ids = {}
    for n, label in enumerate(labels):
        made = await rest(session, server, "POST", "/api/tables",
                          {"label": label, "seats": 4, "x": 4.0 + 3 * n, "y": 3.0}, expect=201)
        ids[label] = made["id"]
    return ids


async def test_a_tables_guest_view_opens_its_link_in_a_new_tab(
    make_server: MakeServer, session: aiohttp.ClientSession, open_dashboard: OpenDashboard
) -> None:
    server = await make_server()
    tables = await add_tables(session, server, "T1", "T2")
    link = await rest(session, server, "GET", f"/api/tables/{tables['T2']}/link", expect=200)
    page = await open_dashboard(server)
    guest_view = page.locator(f'.table-card[data-table-id="{tables["T2"]}"] a.guest-view')
    await expect(guest_view).to_have_text("Guest view")
    assert await guest_view.get_attribute("target") == "_blank"
    assert "noopener" in (await guest_view.get_attribute("rel") or "").split()
    async with page.context.expect_page() as opening:
        await guest_view.click()
    opened = await opening.value
    assert opened.url == link["url"]
    assert await opened.evaluate("window.opener") is None
    await opened.close()


async def guest_call(server: TestServer, table_id: int, kind: str,
                     session: aiohttp.ClientSession) -> dict[str, Any]:
    """A guest's call as a phone makes it: the table's link opened (GET /t/{code} sets the
    robodyne_guest cookie), then POST /api/guest/calls from the server's own origin."""
    phone = Phone(server)
    try:
        assert await phone.open(await table_code(session, server, table_id)) == 200
        reply = await phone.call("POST", "/api/guest/calls", {"kind": kind})
    finally:
        await phone.close()
    assert reply.status == 201, reply
    call: dict[str, Any] = reply.body
    return call


def call_row(call_id: int) -> str:
    return f'#calls .call[data-call-id="{call_id}"]'


async def chimes(page: Page) -> int:
    return int(await page.evaluate("Number(document.body.dataset.chimes || 0)"))


async def test_a_guests_call_shows_live_with_a_chime_and_staff_answer_it(
    make_server: MakeServer, session: aiohttp.ClientSession, open_dashboard: OpenDashboard
) -> None:
    server = await make_server()
    tables = await add_tables(session, server, "T1", "T2")
    page = await open_dashboard(server)
    panel = page.locator("#calls-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#no-calls")).to_be_visible()
    assert await chimes(page) == 0

    water = await guest_call(server, tables["T2"], "water", session)
    row = page.locator(call_row(water["id"]))
    await expect(row.locator(".table")).to_have_text("T2")
    await expect(row.locator(".kind")).to_have_text("Water")
    await expect(row.locator(".age")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await until(lambda: chimes(page), what="a chime")
    assert await chimes(page) == 1
    await expect(panel.locator("#no-calls")).to_be_hidden()
    # The age ticks by itself.
    before = await row.locator(".age").inner_text()
    await expect(row.locator(".age")).not_to_have_text(before, timeout=3000)

    bill = await guest_call(server, tables["T1"], "bill", session)
    await expect(page.locator("#calls .call")).to_have_count(2)
    await expect(page.locator("#calls .call").nth(1).locator(".kind")).to_have_text("Bill")
    await until(lambda: page.evaluate("Number(document.body.dataset.chimes) === 2"),
                what="a second chime")
    await expect(panel.locator("#call-count")).to_have_text("2")

    await row.locator("button.answer").click()
    await expect(row).to_have_count(0)

    async def answered() -> bool:
        calls = (await rest(session, server, "GET", "/api/calls", expect=200))["items"]
        status = {call["id"]: call["status"] for call in calls}
        return status == {water["id"]: "answered", bill["id"]: "open"}
    await until(answered, what="the water call answered, the bill still open")
    await expect(page.locator("#calls .call")).to_have_count(1)
    assert await chimes(page) == 2  # an answer is no new call


async def test_calls_speak_korean(
    make_server: MakeServer, session: aiohttp.ClientSession, open_dashboard: OpenDashboard
) -> None:
    server = await make_server()
    tables = await add_tables(session, server, "T1")
    ko = catalogue("ko")
    page = await open_dashboard(server, query="?lang=ko")
    await expect(page.locator("#calls-heading")).to_contain_text(ko["calls.heading"])
    await expect(page.locator("#no-calls")).to_have_text(ko["calls.none"])
    call = await guest_call(server, tables["T1"], "bill", session)
    row = page.locator(call_row(call["id"]))
    await expect(row.locator(".kind")).to_have_text(ko["calls.kind.bill"])
    await expect(row.locator("button.answer")).to_have_text(ko["calls.answer"])
    await expect(page.locator(f'.table-card[data-table-id="{tables["T1"]}"] a.guest-view')
                 ).to_have_text(ko["tablelink.guest_view"])


async def test_dashboard_calls_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession, open_dashboard: OpenDashboard
) -> None:
    """docs/screenshots/dashboard-calls.png (written when ROBODYNE_UPDATE_SCREENSHOTS=1;
    test-artifacts/ always has it): three tables calling, at 1280×800."""
    server = await make_server()
    tables = await add_tables(session, server, "T1", "T2", "T3", "T4")
    page = await open_dashboard(server)
    for label, kind in (("T3", "water"), ("T1", "staff"), ("T4", "bill"), ("T3", "robot")):
        await guest_call(server, tables[label], kind, session)
    await expect(page.locator("#calls .call")).to_have_count(4)
    await page.wait_for_timeout(2500)  # the ages have ticked
    shot = Path(__file__).resolve().parents[1] / "test-artifacts"
    shot.mkdir(exist_ok=True)
    await page.screenshot(path=str(shot / "dashboard-calls.png"))
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-calls.png"))

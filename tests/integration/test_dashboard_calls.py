"""The dashboard's open calls and guest view links (SPEC §11.5, §11.6, §11.2; docs/pages.md
"Dashboard") in a real Chromium against a real server: a guest's call made through the guest
API shows up live with a chime, and staff answer it; a table's guest view opens in a new tab."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from ..support.browser import Pages, Watched, browser, pages, rest
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

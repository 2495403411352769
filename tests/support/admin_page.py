"""The admin page opened in Chromium as the admin, for its tests (tests/integration/
test_admin_page.py, test_admin_screenshots.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Dialog, Page, expect

from .browser import Pages, Watched

OpenAdmin = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_admin(pages: Pages) -> AsyncIterator[OpenAdmin]:
    """Opens /admin signed in as the admin, live, confirming every question it asks; when the
    test ends, no page had a script error or a policy refusal."""
    opened: list[Watched] = []

    async def open_(server: TestServer, tab: str = "menu", lang: str = "en") -> Page:
        watched = await pages.watched(server, "admin-token-test",
                                      viewport={"width": 1400, "height": 900})
        opened.append(watched)

        def confirm(dialog: Dialog) -> None:
            asyncio.ensure_future(dialog.accept())
        watched.page.on("dialog", confirm)
        await watched.page.goto(str(server.make_url(f"/admin?lang={lang}#{tab}")))
        await watched.page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
        return watched.page
    yield open_
    for watched in opened:
        assert watched.errors == []
        assert await watched.page.evaluate("window.cspViolations") == []


async def failure_of(page: Page) -> str:
    """The refusal the page shows (the server's message)."""
    failure = page.locator("#failure")
    await expect(failure).to_be_visible()
    return await failure.inner_text()

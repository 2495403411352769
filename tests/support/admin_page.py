"""The admin page opened in Chromium as the admin, for its tests (tests/integration/
test_admin_page.py, test_admin_screenshots.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Dialog, Page, ViewportSize, expect

from .browser import OpenLive, Pages, live_pages

ADMIN_VIEWPORT: ViewportSize = {"width": 1400, "height": 900}


@pytest.fixture
async def open_admin(pages: Pages) -> AsyncIterator[OpenLive]:
    """Opens /admin on a tab in a language, as the admin and live (browser.live_pages),
    confirming every question it asks."""
    async with live_pages(pages, "/admin", "admin-token-test", ADMIN_VIEWPORT) as open_page:
        async def open_(server: TestServer, tab: str = "menu", lang: str = "en") -> Page:
            page = await open_page(server, f"?lang={lang}#{tab}")

            def confirm(dialog: Dialog) -> None:
                asyncio.ensure_future(dialog.accept())
            page.on("dialog", confirm)
            return page
        yield open_


async def failure_of(page: Page) -> str:
    """The refusal the page shows (the server's message)."""
    failure = page.locator("#failure")
    await expect(failure).to_be_visible()
    return await failure.inner_text()

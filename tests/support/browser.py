"""Headless Chromium for the page tests: Debian's /usr/bin/chromium driven by playwright.

One browser per test: pytest-aiohttp's event loop is function-scoped, and a launch costs ~0.5 s.
Every page a test opens is screenshotted into test-artifacts/ when the test ends, pass or fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import (Browser, BrowserContext, ConsoleMessage, Dialog, Page,
                                  ViewportSize, WebSocket, async_playwright)
from playwright.async_api import Error as PlaywrightError

from robodyne.app import create_app
from robodyne.web.auth import TOKEN_COOKIE

from .server import ADMIN, make_settings, parts_of
from .wait import until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
STATIC = Path(__file__).resolve().parents[2] / "robodyne" / "web" / "static"
# Collects what the policy refused, from before the page's first script runs.
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI || ''} ${e.sample || ''} ${e.sourceFile || ''}`));"""


def catalogue(lang: str, folder: str = "") -> dict[str, str]:
    """The pages' strings in that language (web/static/i18n); a page with catalogues of its
    own names their folder (the guest page's: "guest", web/static/i18n/guest)."""
    path = STATIC / "i18n" / folder / f"{lang}.json"
    loaded: dict[str, str] = json.loads(path.read_text("utf-8"))
    return loaded


def _need_chromium() -> None:
    """CI installs chromium, so there a missing one is a failure; on a laptop it is a skip."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); set CI=1 to make this fail")


@dataclass
class Tab:
    """A page plus what it did: dialogs, script errors and the WebSockets it opened."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)


@dataclass
class Watched:
    """A page, and the console lines and script errors it has had."""

    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Pages:
    """Opens each page in a fresh browser context (its own cookie jar); screenshots them all
    when the test ends."""

    def __init__(self, browser: Browser, test_name: str) -> None:
        self.browser = browser
        self.test_name = re.sub(r"[^\w.-]+", "_", test_name)
        self.tabs: list[Tab] = []
        self.contexts: list[BrowserContext] = []
        self.shot = False

    async def open(self, url: str) -> Tab:
        context = await self.browser.new_context(viewport=VIEWPORT)
        self.contexts.append(context)
        page = await context.new_page()
        tab = Tab(page)

        def on_dialog(dialog: Dialog) -> None:
            tab.dialogs.append(f"{dialog.type}: {dialog.message}")
            asyncio.ensure_future(dialog.dismiss())

        def on_websocket(ws: WebSocket) -> None:
            tab.websockets.append(ws.url)

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda err: tab.errors.append(str(err)))
        page.on("websocket", on_websocket)
        self.tabs.append(tab)
        await page.goto(url)
        return tab

    async def watched(self, server: TestServer, token: str | None,
                      viewport: ViewportSize | None = None) -> Watched:
        """A page in a fresh context, signed in with `token` as /login would have done it (the
        cookie, no token in any address), recording from its first script on what the policy
        refused, its console lines and its script errors."""
        context = await self.browser.new_context(viewport=viewport)
        self.contexts.append(context)
        if token:
            await context.add_cookies([{"name": TOKEN_COOKIE, "value": token,
                                        "url": str(server.make_url("/"))}])
        await context.add_init_script(RECORD_VIOLATIONS)
        page = await context.new_page()
        self.tabs.append(Tab(page))  # screenshotted when the test ends
        watched = Watched(page)

        def on_console(message: ConsoleMessage) -> None:
            watched.console.append(f"{message.type}: {message.text}")
        page.on("console", on_console)
        page.on("pageerror", lambda err: watched.errors.append(str(err)))
        return watched

    async def screenshot_all(self) -> None:
        """Once per test: a test that tears its server down early calls this before it does."""
        if self.shot:
            return
        self.shot = True
        ARTIFACTS.mkdir(exist_ok=True)
        for n, tab in enumerate(self.tabs):
            suffix = f"-{n}" if len(self.tabs) > 1 else ""
            try:
                await tab.page.screenshot(path=ARTIFACTS / f"{self.test_name}{suffix}.png")
            except Exception as err:  # a closed page must not hide the test's own result
                warnings.warn(f"no screenshot of {tab.page.url}: {err}", stacklevel=1)


OpenLive = Callable[..., Awaitable[Page]]


@asynccontextmanager
async def live_pages(pages: Pages, path: str, token: str,
                     viewport: ViewportSize | None = None) -> AsyncIterator[OpenLive]:
    """Opens `path` (plus a query or a fragment) signed in with `token` (the cookie /login
    sets), once it is live; on leaving, no page it opened had a script error or a refusal of
    the pages' policy. A page's fixture yields what this gives."""
    opened: list[Watched] = []

    async def open_page(server: TestServer, query: str = "", token: str = token) -> Page:
        watched = await pages.watched(server, token, viewport=viewport)
        opened.append(watched)
        await watched.page.goto(str(server.make_url(f"{path}{query}")))
        await watched.page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
        return watched.page
    yield open_page
    for watched in opened:
        assert watched.errors == []
        assert await watched.page.evaluate("window.cspViolations") == []


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def pages(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Pages]:
    opened = Pages(browser, request.node.name)
    try:
        yield opened
    finally:
        await opened.screenshot_all()
        for context in opened.contexts:
            await context.close()


async def rest(session: aiohttp.ClientSession, server: TestServer, method: str, path: str,
               body: Any = None, token: str = ADMIN, expect: int | None = None) -> Any:
    """One REST call as an integration would make it; asserts the status when `expect` is given."""
    async with session.request(method, server.make_url(path), json=body,
                               headers={"Authorization": f"Bearer {token}"}) as response:
        payload = await response.json()
        if expect is not None:
            assert response.status == expect, (response.status, payload)
        return payload


OrderLine = tuple[str, int] | dict[str, Any]


async def place_order(session: aiohttp.ClientSession, server: TestServer, table_id: int,
                      lines: list[OrderLine], note: str = "", expect: int = 201,
                      token: str = ADMIN) -> dict[str, Any]:
    """The one order filler of the tests: POST /api/orders for the table, each line a
    (dish, qty) or a whole item (modifiers, note…); asserts the status it answers."""
    items = [line if isinstance(line, dict) else {"name": line[0], "qty": line[1]}
             for line in lines]
    made: dict[str, Any] = await rest(session, server, "POST", "/api/orders",
                                      {"table_id": table_id, "items": items, "note": note},
                                      token=token, expect=expect)
    return made


async def order_now(session: aiohttp.ClientSession, server: TestServer,
                    order_id: int) -> dict[str, Any]:
    """The order as GET /api/orders has it now."""
    body = await rest(session, server, "GET", "/api/orders", expect=200)
    [found] = [order for order in body["items"] if order["id"] == order_id]
    return dict(found)


# What Playwright says when a page.evaluate outlives the document it was asked of.
NAVIGATING = "Execution context was destroyed"


async def until_true(page: Page, expression: str, arg: Any = None,
                     timeout: float = 5.0) -> Any:
    """Wait until `expression` (or the function it is, called with `arg`) is truthy in the
    page. Polled from here through page.evaluate: Playwright's wait_for_function re-runs a
    string with eval inside the page when it polls, which the pages' CSP (no 'unsafe-eval')
    refuses, so it failed whenever the condition was not already true. A poll that lands
    while the page navigates (the very thing some conditions wait for) finds no page to ask:
    that is "not yet", not a failure."""
    async def check() -> Any:
        try:
            return await (page.evaluate(expression) if arg is None
                          else page.evaluate(expression, arg))
        except PlaywrightError as err:
            if NAVIGATING not in str(err):
                raise
            return None
    return await until(check, timeout)


async def restart_on_same_port(server: TestServer) -> Callable[[], Awaitable[TestServer]]:
    """Stop `server`; return a coroutine function that starts a fresh app on the same port and
    database (a new hub, so a new epoch), as a real process restart would."""
    port = server.port
    assert port is not None
    db_path = parts_of(server).settings.database.path
    await server.close()

    async def start() -> TestServer:
        fresh = TestServer(create_app(make_settings(db_path)), host="127.0.0.1", port=port)
        await fresh.start_server()
        return fresh
    return start

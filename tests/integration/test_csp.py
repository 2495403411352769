"""The pages' Content-Security-Policy (docs/operations.md, "What the server refuses"): every
page carries it, and every page, in both languages, reaches its live state in Chromium under it
without one refusal: no inline script or style, no style attribute set from a string, no
data: or blob: URL, no eval."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from robodyne.app import PARTS
from robodyne.web.auth import TOKEN_COOKIE

from ..support.browser import (
    RECORD_VIOLATIONS, STATIC, Pages, Tab, browser, catalogue, pages, until_true,
)
from ..support.seeded_day import DAY, ZONE, seed_day
from ..support.server import MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

POLICY = "default-src 'self'; frame-ancestors 'none'"
# Each page, the token it is opened with (None: a page for anyone), and how it shows it is up.
PAGES = [
    ("/", None, "index"),
    ("/kitchen", "kitchen-token-test", "live"),
    ("/kitchen?station=grill", "kitchen-token-test", "live"),
    ("/kitchen?station=expo", "kitchen-token-test", "live"),
    ("/dashboard", "admin-token-test", "live"),
    ("/console", "maintenance-token-test", "live"),
    ("/order", "floor-token-test", "live"),
    ("/host", "floor-token-test", "live"),
    ("/admin", "admin-token-test", "live"),
    ("/login", None, "login"),
    ("/login?next=%2Fkitchen%3Fstation%3Dgrill&failed=1", None, "login"),
    ("/print/tables", "admin-token-test", "print"),
]


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


async def reached_its_state(page: Page, state: str, lang: str) -> None:
    """The same signs the page tests wait for: the connection pill live, or, on a page with no
    socket, its words in its language (the catalogue loaded and applied)."""
    if state == "live":
        await page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
        return
    key = {"login": "login.heading", "print": "print.heading"}.get(state, "index.kitchen")
    await until_true(page, "([key, text]) => [...document.querySelectorAll("
                     "`[data-i18n='${key}']`)].some((e) => e.textContent === text)",
                     arg=[key, catalogue(lang)[key]], timeout=5)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("path,token,state", PAGES, ids=[p for p, _, _ in PAGES])
async def test_every_page_reaches_its_state_with_nothing_refused_by_the_policy(
    server: TestServer, pages: Pages, path: str, token: str | None, state: str, lang: str
) -> None:
    watched = await pages.watched(server, token)
    page, console, errors = watched.page, watched.console, watched.errors
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    separator = "&" if "?" in path else "?"
    response = await page.goto(str(server.make_url(f"{path}{separator}lang={lang}")))
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == POLICY
    await reached_its_state(page, state, lang)
    assert await page.evaluate("document.documentElement.lang") == lang
    # Let the page settle: the side topics, the catalogue, timers that draw.
    await page.wait_for_timeout(500)

    assert await page.evaluate("window.cspViolations") == []
    refused = [line for line in console
               if "Refused to" in line or "Content Security Policy" in line]
    assert refused == []
    assert [line for line in console if line.startswith("error:")] == [], console
    assert errors == [] and failed == []
    # The recorder works and the policy is enforced: a style attribute set from a string is
    # refused and reported.
    await page.evaluate("document.body.setAttribute('style', 'outline: 3px solid red')")
    await until_true(page, "window.cspViolations.length === 1", timeout=2)
    assert await page.evaluate("getComputedStyle(document.body).outlineStyle") == "none"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_dashboards_today_view_with_a_days_numbers_is_refused_nothing(
    make_server: MakeServer, pages: Pages, lang: str
) -> None:
    """The Today view drawn from a day with orders (its tables, the chart's bars, line and
    points: tests/integration/test_today_page.py), not only from an empty today."""
    seeded = await make_server(server={"timezone": ZONE})
    await seed_day(seeded.app[PARTS].store)
    context = await pages.browser.new_context()
    pages.contexts.append(context)
    await context.add_cookies([{"name": TOKEN_COOKIE, "value": "admin-token-test",
                                "url": str(seeded.make_url("/"))}])
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    pages.tabs.append(Tab(page))
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(str(seeded.make_url(f"/dashboard?lang={lang}")))
    await reached_its_state(page, "live", lang)
    await page.fill("#today-date", DAY.isoformat())
    await page.wait_for_selector(f'#today-panel[data-date="{DAY}"] #today-chart circle.point',
                                 timeout=5000)
    await page.click("#today-previous")
    await page.wait_for_selector('#today-panel[data-date="2026-11-29"]', timeout=5000)
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.cspViolations") == []
    assert [line for line in console if line.startswith("error:")] == [], console
    assert errors == []


async def test_every_page_response_carries_the_policy_and_refuses_frames(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    for path, token, _ in PAGES:
        for lang in ("en", "ko"):
            separator = "&" if "?" in path else "?"
            cookies = {TOKEN_COOKIE: token} if token else {}
            async with session.get(server.make_url(f"{path}{separator}lang={lang}"),
                                   cookies=cookies, allow_redirects=False) as response:
                assert response.status == 200, path
                assert response.content_type == "text/html"
                assert response.headers["Content-Security-Policy"] == POLICY, path
                assert response.headers["X-Frame-Options"] == "DENY", path
                assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The redirect that takes a token out of the address is a page response too.
    async with session.get(server.make_url("/kitchen?token=kitchen-token-test"),
                           allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["X-Content-Type-Options"] == "nosniff"


INLINE_IN_HTML = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:|data:|blob:", re.I), "a javascript:, data: or blob: URL"),
]
INLINE_IN_JS = [
    (re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"), "markup from text"),
    (re.compile(r"""setAttribute\(\s*["']style|\.style\.cssText|["']style["']\s*:"""),
     "a style attribute from a string"),
    (re.compile(r"\beval\(|new Function\(|setTimeout\(\s*[\"'`]|setInterval\(\s*[\"'`]"),
     "code from a string"),
    (re.compile(r"""["'`](?:data|blob|javascript):"""), "a data:, blob: or javascript: URL"),
    (re.compile(r"createObjectURL"), "a blob: URL"),
]


def test_no_static_file_asks_for_what_the_policy_refuses() -> None:
    """What the browser test would only catch on the path a test happens to take."""
    found = []
    for path in sorted(STATIC.rglob("*")):
        if path.suffix not in (".html", ".js", ".svg", ".css"):
            continue
        text = path.read_text("utf-8")
        rules = INLINE_IN_JS if path.suffix == ".js" else INLINE_IN_HTML
        if path.suffix == ".css":
            rules = [(re.compile(r"url\(\s*[\"']?(?:data|blob):", re.I), "a data: URL"),
                     (re.compile(r"@import\s+url\(\s*[\"']?https?:", re.I), "another origin")]
        for pattern, what in rules:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(STATIC)}:{line}: {what}")
    assert found == []

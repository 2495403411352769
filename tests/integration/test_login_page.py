"""/login and the dashboard's pairing panel (docs/operations.md, "Pairing a tablet"): a tablet
set up with a six-digit code an admin made, with no token and no code in any address."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page, Request, WebSocket

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, token_id
from robodyne.web.auth import TOKEN_COOKIE

from ..support.browser import (
    RECORD_VIOLATIONS, Pages, Tab, browser, catalogue, pages, until_true,
)
from ..support.server import ADMIN, TOKENS, MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

NEXT_VALUE = re.compile(r'<input type="hidden" name="next" value="([^"]*)">')


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


async def login_html(session: aiohttp.ClientSession, server: TestServer, **query: str) -> str:
    async with session.get(server.make_url("/login").with_query(query),
                           allow_redirects=False) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        return await response.text()


def next_of(page_html: str) -> str:
    [value] = NEXT_VALUE.findall(page_html)
    return html.unescape(value)


# ---- The page as served -------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_login_page_is_a_form_that_posts_the_secret_and_where_to_go(
    server: TestServer, session: aiohttp.ClientSession, lang: str
) -> None:
    text = await login_html(session, server, next="/kitchen?station=grill", lang=lang)
    assert f'<html lang="{lang}">' in text
    assert '<form id="login" class="panel login-form" method="post" action="/login">' in text
    [secret] = re.findall(r"<input id=\"secret\"[^>]*>", text, re.S)
    for attribute in ('name="secret"', 'type="text"', 'inputmode="text"', 'autocomplete="off"',
                      "autofocus"):
        assert attribute in secret, attribute
    assert next_of(text) == "/kitchen?station=grill"
    # Not refused yet: the message is there to translate, hidden.
    assert re.search(r'<p id="failed"[^>]* hidden data-i18n="login.failed"', text)
    # A page for anyone: no token needed, none in it, nothing inline.
    assert not any(token in text for token in TOKENS)
    assert "<script>" not in text and "style=" not in text


async def test_a_refused_secret_is_said_and_where_to_go_is_kept(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    where = "/kitchen?station=grill&lang=ko"
    text = await login_html(session, server, failed="1", next=where)
    assert re.search(r'<p id="failed" class="failed" role="alert" data-i18n="login.failed">',
                     text)
    # Escaped in the attribute, and the same path again once unescaped.
    assert 'value="/kitchen?station=grill&amp;lang=ko"' in text
    assert next_of(text) == where


@pytest.mark.parametrize("asked", [
    "//evil.example", "https://evil.example", "http://evil.example/kitchen", "/\\evil.example",
    "evil.example", "javascript:alert(1)", "",
])
async def test_a_next_that_is_not_a_path_here_becomes_the_start_page(
    server: TestServer, session: aiohttp.ClientSession, asked: str
) -> None:
    text = await login_html(session, server, next=asked)
    assert next_of(text) == "/"
    assert "evil.example" not in text


async def test_a_next_with_markup_is_only_text_in_the_form(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    asked = '/kitchen"><script src="/x.js"></script><input name="secret'
    text = await login_html(session, server, next=asked)
    assert next_of(text) == asked
    assert text.count("<script") == 1  # login.js only
    assert text.count('name="secret') == 1
    # Nor is a placeholder in the address filled in.
    text = await login_html(session, server, next="/{lang}{failed_hidden}")
    assert next_of(text) == "/{lang}{failed_hidden}"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_login_page_speaks_its_language_and_says_when_a_secret_was_refused(
    server: TestServer, pages: Pages, lang: str
) -> None:
    words = catalogue(lang)
    tab = await pages.open(str(server.make_url(f"/login?lang={lang}&next=%2Fconsole")))
    page = tab.page
    await until_true(page, "(text) => document.querySelector('#login h2').textContent"
                     " === text", arg=words["login.heading"], timeout=5)
    assert await page.title() == words["login.title"]
    assert await page.locator("label[for=secret]").inner_text() == words["login.secret"]
    assert await page.locator("#login button[type=submit]").inner_text() == words["login.submit"]
    assert not await page.locator("#failed").is_visible()
    assert await page.evaluate("document.activeElement.id") == "secret"
    assert tab.websockets == []  # a page that needs no token opens no socket

    await page.goto(str(server.make_url(f"/login?lang={lang}&failed=1&next=%2Fconsole")))
    failed = page.locator("#failed")
    await failed.wait_for(state="visible", timeout=2000)
    await until_true(page, "(text) => document.getElementById('failed').textContent"
                     " === text", arg=words["login.failed"], timeout=5)
    assert await page.locator("input[name=next]").input_value() == "/console"
    assert tab.errors == [] and tab.websockets == []


# ---- A page refused for its token points to /login ---------------------------------------

@pytest.mark.browser
async def test_a_page_without_a_token_links_to_login_and_back_to_itself(
    server: TestServer, pages: Pages
) -> None:
    tab = await pages.open(str(server.make_url("/kitchen?station=grill")))
    page = tab.page
    await page.wait_for_selector('#conn[data-state="refused"][data-reason="login"]',
                                 timeout=3000)
    link = page.locator("#banner a.login-link")
    assert await link.get_attribute("href") == "/login?next=%2Fkitchen%3Fstation%3Dgrill"
    assert await link.inner_text() == catalogue("en")["conn.sign_in"]
    await link.click()
    await page.wait_for_url(re.compile(r"/login\?next="), timeout=3000)
    assert await page.locator("input[name=next]").input_value() == "/kitchen?station=grill"

    # Refused for its role, the page offers to sign in as someone else.
    wrong = await pages.open(str(server.make_url("/console?token=kitchen-token-test")))
    await wrong.page.wait_for_selector('#conn[data-state="refused"][data-reason="role"]',
                                       timeout=3000)
    other = wrong.page.locator("#banner a.login-link")
    assert await other.get_attribute("href") == "/login?next=%2Fconsole"
    assert await other.inner_text() == catalogue("en")["conn.sign_in_other"]


@pytest.mark.browser
async def test_a_page_whose_token_is_revoked_goes_to_login_by_itself(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages, tmp_path: Path
) -> None:
    grill = "grill-tablet-token-from-the-file"
    tokenfile.write_tokens(tmp_path / "tokens.toml", {grill: Grant(Role.KITCHEN, None, "grill")})
    server = await make_server()
    kitchen = (await pages.watched(server, grill)).page
    await kitchen.goto(str(server.make_url("/kitchen?station=grill")))
    await kitchen.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    # The navigations it starts, counted where the login page can read them.
    await kitchen.evaluate("""() => {
      sessionStorage.setItem("navigations", "0");
      navigation.addEventListener("navigate", () => sessionStorage.setItem(
        "navigations", String(Number(sessionStorage.getItem("navigations")) + 1)));
    }""")

    async with session.delete(server.make_url(f"/api/tokens/{token_id(grill)}"),
                              headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert response.status == 204
    # Its sockets close with 4401; the tablet shows the login form, to come back after.
    await kitchen.wait_for_url(re.compile(r"/login\?next="), timeout=5000)
    assert await kitchen.locator("input[name=next]").input_value() == "/kitchen?station=grill"
    # Once: the kitchen watches its side topics as well, and a second navigation would abort
    # the first.
    assert await kitchen.evaluate("sessionStorage.getItem('navigations')") == "1"


# ---- Pairing: the dashboard makes a code, a tablet types it ----------------------------------

class Visits:
    """Every address a browser context asked for: navigations, requests and sockets."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.posts: list[tuple[str, str]] = []

    def watch(self, page: Page) -> None:
        page.on("framenavigated", lambda frame: self.urls.append(frame.url))
        page.on("request", self._request)
        page.on("websocket", lambda ws: self._socket(ws))

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)
        if request.method == "POST":
            self.posts.append((request.url, request.post_data or ""))

    def _socket(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)


async def signed_in_context(pages: Pages, server: TestServer, token: str) -> BrowserContext:
    """A browser that holds the cookie /login sets, with no token in any address."""
    context = await pages.browser.new_context()
    pages.contexts.append(context)
    await context.add_cookies([{"name": TOKEN_COOKIE, "value": token,
                                "url": str(server.make_url("/"))}])
    await context.add_init_script(RECORD_VIOLATIONS)
    return context


async def open_in(pages: Pages, context: BrowserContext) -> Page:
    page = await context.new_page()
    tab = Tab(page)
    page.on("pageerror", lambda err: tab.errors.append(str(err)))
    pages.tabs.append(tab)  # screenshotted when the test ends
    return page


@pytest.mark.browser
async def test_an_admin_pairs_a_kitchen_tablet_that_never_sees_a_token(
    server: TestServer, pages: Pages
) -> None:
    admin = await signed_in_context(pages, server, "admin-token-test")
    dashboard = await open_in(pages, admin)
    await dashboard.goto(str(server.make_url("/dashboard")))
    await dashboard.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    panel = dashboard.locator("#pair-panel")
    await panel.wait_for(state="visible", timeout=3000)
    assert await dashboard.locator("#pair-role").input_value() == "kitchen"
    await dashboard.fill("#pair-label", "grill tablet")
    await dashboard.click("#pair-make")
    digits = dashboard.locator("#pair-digits")
    await digits.wait_for(timeout=3000)
    code = await digits.inner_text()
    assert re.fullmatch(r"\d{6}", code), code
    assert await dashboard.locator("#pair-for").inner_text() == "Kitchen · grill tablet"
    expires = await dashboard.locator("#pair-expires").inner_text()
    assert re.fullmatch(r"expires in (10:00|9:[45]\d)", expires), expires
    how = await dashboard.locator("#pair-how").inner_text()
    assert how == f"On the tablet, open {server.make_url('/login')} and type this code"
    # It counts down.
    await until_true(
        dashboard, "(before) => document.getElementById('pair-expires').textContent !== before",
        arg=expires, timeout=3)

    # The tablet: no cookie. Its kitchen screen is refused and sends it to /login.
    tablet = await pages.browser.new_context()
    pages.contexts.append(tablet)
    await tablet.add_init_script(RECORD_VIOLATIONS)
    visits = Visits()
    kitchen = await open_in(pages, tablet)
    visits.watch(kitchen)
    await kitchen.goto(str(server.make_url("/kitchen?station=grill")))
    await kitchen.wait_for_selector('#conn[data-state="refused"][data-reason="login"]',
                                    timeout=3000)
    await kitchen.click("#banner a.login-link")
    await kitchen.wait_for_url(re.compile(r"/login\?next="), timeout=3000)
    # As the dashboard shows it, spaced: the page sends the six digits.
    await kitchen.fill("#secret", f"{code[:3]} {code[3:]}")
    await kitchen.press("#secret", "Enter")
    await kitchen.wait_for_url(str(server.make_url("/kitchen?station=grill")), timeout=5000)
    await kitchen.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    assert await kitchen.evaluate("document.body.dataset.station") == "grill"

    [cookie] = [c for c in await tablet.cookies() if c["name"] == TOKEN_COOKIE]
    token = cookie["value"]
    assert token not in TOKENS and len(token) >= 16
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    # The secret travelled once, in the form's body; no address ever held it or the token.
    assert [(urlsplit(url).path, parse_qs(body)["secret"]) for url, body in visits.posts] == [
        ("/login", [code])]
    assert visits.urls, "nothing recorded"
    for url in visits.urls:
        assert code not in url and token not in url, url
        assert "token=" not in url and "secret=" not in url, url

    # A code works once: a second tablet typing it is refused, and told why.
    again = await open_in(pages, tablet)
    await tablet.clear_cookies()
    await again.goto(str(server.make_url("/login?next=%2Fkitchen")))
    await again.fill("#secret", code)
    await again.click("#login button[type=submit]")
    await again.wait_for_url(re.compile(r"/login\?failed=1&"), timeout=3000)
    await again.locator("#failed").wait_for(state="visible", timeout=2000)
    assert await again.locator("input[name=next]").input_value() == "/kitchen"

    for page in (dashboard, kitchen, again):
        assert await page.evaluate("window.cspViolations") == [], page.url
    assert [tab.errors for tab in pages.tabs] == [[], [], []]


@pytest.mark.browser
async def test_only_those_who_may_make_tokens_see_the_pairing_panel(
    server: TestServer, pages: Pages
) -> None:
    floor = await signed_in_context(pages, server, "floor-token-test")
    page = await open_in(pages, floor)
    await page.goto(str(server.make_url("/dashboard")))
    await page.wait_for_selector('body[data-role="floor"]', timeout=5000)
    assert not await page.locator("#pair-panel").is_visible()

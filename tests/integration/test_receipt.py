"""A visit's receipt (/receipt/{visit_id}, SPEC §12.3, docs/pages.md "Receipt"): the floor's and
the admin's, a page for anyone else; the same numbers as the API's check, every value escaped,
in English and Korean, the restaurant's local times; in a real Chromium, printed to 80 mm
thermal paper on one page and to A4, with no page chrome on paper."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pypdf import PdfReader

from robodyne.core.money import format_amount
from robodyne.web.auth import TOKEN_COOKIE

from ..support.api_client import Api
from ..support.browser import ARTIFACTS, Pages, browser, catalogue, pages
from ..support.server import ADMIN, TOKENS, MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROLE_TOKEN = {role: token for token, role in TOKENS.items()}
VOID = frozenset({"meta", "link", "img", "br", "input", "hr"})
# A check in dollars with everything on it: tax added, a 7.5 % service charge (SPEC §12.2).
DOLLARS = {"name": "Blue & Co <Diner>", "currency": "USD", "prices_include_tax": False,
           "service_charge_pct": 7.5}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Page(HTMLParser):
    """The receipt page parsed: each element with its attributes and its whole text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        [found] = [e for e in self.elements if e.attrs.get("id") == element_id]
        return found

    def has_id(self, element_id: str) -> bool:
        return any(e.attrs.get("id") == element_id for e in self.elements)

    def by_class(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.attrs.get("class", "").split()]

    def amount(self, row_id: str) -> int:
        return int(self.by_id(row_id).attrs["data-amount"])


async def receipt(api: Api, visit_id: int | str, token: str | None = ADMIN,
                  lang: str = "") -> tuple[int, str, Any]:
    """The page as a browser signed in with `token` gets it (the cookie /login sets)."""
    cookies = {TOKEN_COOKIE: token} if token else {}
    query = f"?lang={lang}" if lang else ""
    async with api.session.get(api.server.make_url(f"/receipt/{visit_id}{query}"),
                               cookies=cookies, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers


async def visit_now(api: Api, visit_id: int) -> dict[str, Any]:
    [visit] = [v for v in (await api.ok("GET", "/api/visits"))["items"] if v["id"] == visit_id]
    return dict(visit)


async def dined(api: Api, dishes: list[tuple[str, int, int]], label: str = "T5",
                payments: tuple[tuple[int, str, str], ...] = ()) -> dict[str, Any]:
    """A table's visit: one order of these (name, price, qty), then these (amount, method,
    reference) payments; the visit as the API has it after."""
    table = await api.table(label)
    items = []
    for name, price, qty in dishes:
        dish = await api.ok("POST", "/api/menu", {"name": name, "price": price}, 201)
        items.append({"menu_id": dish["id"], "qty": qty})
    order = await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": items}, 201)
    for amount, method, reference in payments:
        await api.ok("POST", f"/api/visits/{order['visit_id']}/payments",
                     {"amount": amount, "method": method, "reference": reference}, 201)
    return await visit_now(api, order["visit_id"])


def assert_the_same_check(page: Page, visit: dict[str, Any], lang: str = "en") -> None:
    """Every number of the page is the API's, and printed as the API's minor units."""
    check = visit["check"]
    money = [(row, check[key]) for row, key in (("subtotal", "subtotal"), ("tax", "tax"),
                                                ("total", "total"), ("paid", "paid"),
                                                ("due", "due"))]
    if check["service_charge"]:
        money.append(("service-charge", check["service_charge"]))
    else:
        assert not page.has_id("service-charge")
    for row, amount in money:
        assert page.amount(row) == amount, row
        assert format_amount(amount, check["currency"], lang) in page.by_id(row).text, row
    lines = page.by_class("line")
    assert [(int(e.attrs["data-order-id"]), int(e.attrs["data-index"]), int(e.attrs["data-qty"]),
             int(e.attrs["data-price"]), int(e.attrs["data-amount"])) for e in lines] == [
        (line["order_id"], line["index"], line["qty"], line["price"], line["amount"])
        for line in check["lines"]]
    names = [n.text for n in page.by_class("name")]
    assert names == [line["name"] for line in check["lines"]]
    payments = page.by_class("payment")
    assert [(int(e.attrs["data-id"]), e.attrs["data-method"], int(e.attrs["data-amount"]))
            for e in payments] == [(p["id"], p["method"], p["amount"]) for p in visit["payments"]]
    assert [r.text for r in page.by_class("reference")] == [
        p["reference"] for p in visit["payments"] if p["reference"]]


async def test_a_receipt_is_the_floors_and_the_admins_and_a_page_for_anyone_else(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    api = Api(session, await make_server())
    visit = await dined(api, [("Galbi", 22000, 1)])
    for token in (ADMIN, ROLE_TOKEN["floor"]):
        status, text, headers = await receipt(api, visit["id"], token)
        assert status == 200 and headers["Cache-Control"] == "no-store"
        assert "Galbi" in text and 'data-visit-id="' in text
        assert 'id="paper">' in text
    refusals: list[tuple[str | None, int, str]] = [
        (None, 401, "refused-login"), ("no-such-token-12345678", 401, "refused-login"),
        (ROLE_TOKEN["kitchen"], 403, "refused-role"),
        (ROLE_TOKEN["maintenance"], 403, "refused-role"),
        (ROLE_TOKEN["robot"], 403, "refused-role"), (ADMIN, 404, "missing")]
    for cookie, wanted, shown in refusals:
        status, text, headers = await receipt(api, visit["id"] if wanted != 404 else 999, cookie)
        assert (status, headers["Cache-Control"]) == (wanted, "no-store"), cookie
        assert f'id="{shown}" class="banner" role="alert">' in text
        assert text.count('role="alert" hidden') == 2
        assert "Galbi" not in text and "<article" not in text and 'id="paper" hidden' in text
        if wanted != 404:
            assert f'href="/login?next=%2Freceipt%2F{visit["id"]}"' in text
    for odd in ("abc", "1.5", "-1", "99999999999999999999", "%3Cb%3E"):
        status, text, _ = await receipt(api, odd)
        assert status == 404 and 'id="missing" class="banner" role="alert">' in text, odd
        assert "<b>" not in text
    # Without a token, nothing tells a stranger whether a visit is there.
    assert (await receipt(api, 999, None))[0] == 401
    # A token typed into the address bar becomes the cookie, and leaves the address.
    async with session.get(api.server.make_url(f"/receipt/{visit['id']}?token={ADMIN}&lang=ko"),
                           allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == f"/receipt/{visit['id']}?lang=ko"


async def test_the_receipt_prints_the_numbers_the_api_has_every_value_escaped(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    api = Api(session, await make_server(restaurant=DOLLARS))
    visit = await dined(api, [("<b>x</b>", 1010, 1), ("Fries & \"dip\"", 350, 3)],
                        label="<i>T&1</i>",
                        payments=((1000, "card", "<script>alert(1)</script>"),
                                  (200, "cash", "")))
    check = visit["check"]
    # 1010 + 1050 = 2060; charge 154.5 → 155; tax 221.5 → 222; total 2437 (SPEC §12.2).
    assert (check["subtotal"], check["service_charge"], check["tax"], check["total"]) == (
        2060, 155, 222, 2437)
    status, text, headers = await receipt(api, visit["id"], ROLE_TOKEN["floor"], "en")
    assert status == 200 and headers["Content-Language"] == "en"
    page = Page(text)
    assert_the_same_check(page, visit)
    assert "$24.37" in page.by_id("total").text and "$12.37" in page.by_id("due").text
    assert "7.5%" in page.by_id("service-charge").text and "10%" in page.by_id("tax").text
    # Tax added: said before the total.
    rows = [e.attrs["id"] for e in page.elements if e.tag == "tr" and "sum" in e.attrs.get(
        "class", "").split()]
    assert rows == ["subtotal", "service-charge", "tax", "total", "paid", "due"]
    assert "3 × $3.50" in page.by_class("each")[1].text
    # What people typed is shown as they typed it, never as markup.
    for raw, escaped in (("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
                         ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
                         ("<i>T&1</i>", "&lt;i&gt;T&amp;1&lt;/i&gt;"),
                         ("Blue & Co <Diner>", "Blue &amp; Co &lt;Diner&gt;")):
        assert escaped in text and raw not in text, raw
    assert page.by_id("table").text == "<i>T&1</i>"
    assert page.by_id("restaurant").text == "Blue & Co <Diner>"
    assert [e.tag for e in page.elements].count("script") == 1  # the page's own module
    # Still open, and owing: the receipt says so.
    [article] = page.by_class("receipt")
    assert article.attrs["data-status"] == "open"
    assert page.by_id("state").text == catalogue("en")["receipt.open"]
    assert not page.has_id("closed")


async def test_a_closed_visits_receipt_in_korean_and_english_at_the_restaurants_time(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(server={"timezone": "Asia/Seoul"},
                               restaurant={"name": "한강 식당"})
    api = Api(session, server)
    visit = await dined(api, [("비빔밥", 11000, 2), ("Soju", 5000, 1)],
                        payments=((20000, "card", "승인 0042"), (7000, "other", "")))
    await api.ok("POST", f"/api/visits/{visit['id']}/close")
    visit = await visit_now(api, visit["id"])
    seoul = ZoneInfo("Asia/Seoul")
    for lang in ("ko", "en"):
        words = catalogue(lang)
        status, text, headers = await receipt(api, visit["id"], lang=lang)
        assert status == 200 and headers["Content-Language"] == lang
        page = Page(text)
        assert_the_same_check(page, visit, lang)
        assert page.by_id("restaurant").text == "한강 식당"
        assert "₩27,000" in page.by_id("total").text and "₩0" in page.by_id("due").text
        assert f'<html lang="{lang}">' in text
        assert page.by_class("receipt")[0].attrs["data-status"] == "closed"
        assert page.by_id("state").text == words["receipt.thanks"]
        assert page.by_id("print").text == words["receipt.print"]
        assert words["receipt.subtotal"] in page.by_id("subtotal").text
        # Prices include tax (the default): the tax is said under the total, as part of it.
        assert words["receipt.tax_included"].replace("{rate}", "10") in page.by_id("tax").text
        rows = [e.attrs["id"] for e in page.elements if e.tag == "tr" and "sum" in e.attrs.get(
            "class", "").split()]
        assert rows == ["subtotal", "total", "tax", "paid", "due"]
        methods = [e.text for e in page.by_class("method")]
        assert methods == [words["receipt.method.card"], words["receipt.method.other"]]
        for stamp, element_id in ((visit["opened_at"], "opened"), (visit["closed_at"], "closed")):
            local = datetime.fromisoformat(stamp).astimezone(seoul)
            assert page.by_id(element_id).text == f"{local:%Y-%m-%d %H:%M}"
    # A party seated that ordered nothing has a receipt too: nothing ordered, nothing paid.
    table = await api.table("T9")
    seated = await api.ok("POST", "/api/visits", {"table_id": table["id"], "party_size": 3}, 201)
    status, text, _ = await receipt(api, seated["id"], lang="en")
    page = Page(text)
    assert status == 200 and page.by_class("line") == []
    assert catalogue("en")["receipt.no_lines"] in text
    assert catalogue("en")["receipt.no_payments"] in text
    assert page.by_id("party").text == "3" and page.amount("total") == 0


def squeezed(text: str) -> str:
    """Text without its white space: a PDF's text comes back with its own line breaks."""
    return "".join(text.split())


@pytest.mark.browser
async def test_the_receipt_prints_on_80_mm_paper_on_one_page_and_on_a4(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server: TestServer = await make_server(restaurant={"name": "Robodyne Bistro",
                                                       "service_charge_pct": 5})
    api = Api(session, server)
    visit = await dined(api, [("Bibimbap", 11000, 2), ("Japchae", 9000, 1),
                              ("Kimchi jjigae", 10000, 1), ("Makgeolli", 7000, 2)],
                        payments=((30000, "card", "slip 0042"), (10000, "cash", "")))
    total = format_amount(visit["check"]["total"], "KRW", "en")
    watched = await pages.watched(server, ROLE_TOKEN["floor"], {"width": 560, "height": 1000})
    page = watched.page
    response = await page.goto(str(server.make_url(f"/receipt/{visit['id']}?lang=en")))
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store"
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#total .amount").inner_text() == total
    # The slip is 72 mm wide on screen, as on paper (96 px to the inch).
    width = await page.evaluate("document.querySelector('.receipt').getBoundingClientRect().width")
    assert abs(width - 72 / 25.4 * 96) < 1
    assert await page.evaluate("window.cspViolations") == []
    assert [line for line in watched.console if line.startswith("error:")] == []
    assert watched.errors == []

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "receipt.png"), full_page=True)
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "receipt.png"), full_page=True)

    words = catalogue("en")
    for name, paper in (("80mm", {"width": "80mm"}), ("a4", {"format": "A4"})):
        pdf = await page.pdf(print_background=True, **paper)  # type: ignore[arg-type]
        (ARTIFACTS / f"receipt-{name}.pdf").write_bytes(pdf)
        printed = PdfReader(io.BytesIO(pdf)).pages
        text = squeezed("".join(sheet.extract_text() for sheet in printed))
        assert squeezed(total) in text and "RobodyneBistro" in text, name
        assert "Bibimbap" in text and "slip0042" in text, name
        # No page chrome on paper: the heading and the Print button stay on screen.
        assert squeezed(words["receipt.print"]) not in text, name
        assert len(printed) == 1, name
        if name == "80mm":
            assert abs(float(printed[0].mediabox.width) - 80 / 25.4 * 72) < 1

    # The kitchen sees the refusal, and no receipt and no Print button.
    kitchen = (await pages.watched(server, ROLE_TOKEN["kitchen"])).page
    response = await kitchen.goto(str(server.make_url(f"/receipt/{visit['id']}")))
    assert response is not None and response.status == 403
    assert await kitchen.locator("#refused-role").is_visible()
    assert await kitchen.locator("#refused-login").is_hidden()
    assert await kitchen.locator("#print").is_hidden()
    assert await kitchen.locator("#paper").is_hidden()


@pytest.mark.browser
async def test_the_order_page_links_the_chosen_tables_open_visit_to_its_receipt(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages
) -> None:
    server: TestServer = await make_server()
    api = Api(session, server)
    visit = await dined(api, [("Galbi", 22000, 1)])
    free = await api.table("T6")
    watched = await pages.watched(server, ROLE_TOKEN["floor"])
    page = watched.page
    await page.goto(str(server.make_url(f"/order?table={visit['table_id']}&lang=ko")))
    await page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    link = page.locator("#chosen-receipt")
    await link.wait_for(state="visible", timeout=5000)
    assert await link.get_attribute("href") == f"/receipt/{visit['id']}"
    assert (await link.get_attribute("target"), await link.get_attribute("rel")) == (
        "_blank", "noopener")
    assert await link.inner_text() == catalogue("ko")["order.receipt"]
    async with page.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert await tab.locator("#total").get_attribute("data-amount") == "22000"
    # A table with no open visit has no receipt to open.
    await page.goto(str(server.make_url(f"/order?table={free['id']}")))
    await page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    await page.wait_for_selector("#chosen:not([hidden])", timeout=5000)
    assert await link.is_hidden()
    assert watched.errors == []

"""The printed table links (/print/tables, SPEC §11.2, docs/guests.md) in a real Chromium: a
card per table with its label, QR code and url, in English and Korean, nothing refused by the
pages' policy; printed to an A4 PDF, six cards a page, none cut across two, no page chrome."""

from __future__ import annotations

import io
import os
from pathlib import Path

import aiohttp
import pytest
from pypdf import PdfReader

from ..support.api_client import Api
from ..support.browser import ARTIFACTS, VIEWPORT, Pages, browser, catalogue, pages, until_true
from ..support.server import ADMIN, MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LABELS = [f"Table-{letter}" for letter in "ABCDEFG"] + ["Patio 1"]


def squeezed(text: str) -> str:
    """Text without its white space: a printed url may wrap inside its card."""
    return "".join(text.split())


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_sheet_prints_a_card_per_table_with_its_qr_code_and_url(
    make_server: MakeServer, session: aiohttp.ClientSession, pages: Pages, lang: str
) -> None:
    server = await make_server()
    api = Api(session, server)
    tables = [await api.table(label) for label in LABELS]
    urls = [(await api.ok("GET", f"/api/tables/{table['id']}/link"))["url"] for table in tables]
    watched = await pages.watched(server, ADMIN, VIEWPORT)
    page, console, errors = watched.page, watched.console, watched.errors

    response = await page.goto(str(server.make_url(f"/print/tables?lang={lang}")))
    assert response is not None and response.status == 200
    words = catalogue(lang)
    await until_true(page, "(text) => document.querySelector('h1').textContent === text",
                     arg=words["print.heading"])
    await until_true(page, "(n) => document.images.length === n && [...document.images]"
                     ".every((image) => image.complete && image.naturalWidth > 0)",
                     arg=len(LABELS))
    cards = page.locator(".card")
    assert await cards.count() == len(LABELS)
    for n, (label, url) in enumerate(zip(LABELS, urls)):
        card = cards.nth(n)
        assert await card.locator(".label").inner_text() == label
        assert await card.locator(".url").inner_text() == url
        assert await card.locator(".scan").inner_text() == words["print.scan"]
        assert await card.locator("img.qr").get_attribute("aria-label") == words["print.qr"]
    assert await page.locator("#print").inner_text() == words["print.print"]
    assert await page.evaluate("document.documentElement.lang") == lang
    assert await page.evaluate("window.cspViolations") == []
    assert [line for line in console if line.startswith("error:")] == [], console
    assert errors == []

    ARTIFACTS.mkdir(exist_ok=True)
    name = "print-tables.png" if lang == "en" else f"print-tables-{lang}.png"
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1" and lang == "en":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

    pdf = await page.pdf(format="A4", print_background=True)
    (ARTIFACTS / f"print-tables-{lang}.pdf").write_bytes(pdf)
    printed = [squeezed(sheet.extract_text()) for sheet in PdfReader(io.BytesIO(pdf)).pages]
    assert len(printed) == 2  # six cards to a page
    for label, url in zip(LABELS, urls):
        # Each card whole on one page: its label and its url together.
        assert [n for n, text in enumerate(printed) if squeezed(url) in text] == [
            n for n, text in enumerate(printed) if squeezed(label) in text], label
        assert sum(squeezed(url) in text for text in printed) == 1, url
    # No page chrome on paper: the heading, the Print button and the help stay on screen.
    for chrome in ("print.heading", "print.print"):
        assert not any(squeezed(words[chrome]) in text for text in printed), chrome

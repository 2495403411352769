"""The host page (SPEC §12.4, docs/pages.md "Host page") in a real Chromium against a real
server: a party added at the stand shows its quote and its link's QR code; the free tables that
fit a party are offered smallest first and one tap seats it; call and no-show; Korean; the
kitchen refused; and the QR code's route over HTTP."""

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

from robodyne.web.print_sheet import qr_svg

from ..support.api_client import Api, assert_error
from ..support.browser import Pages, browser, catalogue, live_pages, pages, rest, until_true
from ..support.server import MakeServer
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLOOR = "floor-token-test"
KITCHEN = "kitchen-token-test"

OpenHostPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_host_page(pages: Pages) -> AsyncIterator[OpenHostPage]:
    """Opens /host signed in (the cookie /login sets) and live; when the test ends, no page it
    opened had a script error or a refusal of the pages' policy."""
    async with live_pages(pages, "/host", FLOOR, {"width": 1280, "height": 800}) as open_page:
        yield open_page


async def floor_of(session: aiohttp.ClientSession, server: TestServer,
                   *tables: tuple[str, int]) -> dict[str, int]:
    """Tables by label and seats: their ids by label."""
    made = {}
    for label, seats in tables:
        made[label] = (await rest(session, server, "POST", "/api/tables",
                                  {"label": label, "seats": seats}, expect=201))["id"]
    return made


async def join(session: aiohttp.ClientSession, server: TestServer, name: str, size: int,
               **extra: Any) -> dict[str, Any]:
    party: dict[str, Any] = await rest(session, server, "POST", "/api/customers",
                                       {"name": name, "party_size": size, **extra}, expect=201)
    return party


async def customer(session: aiohttp.ClientSession, server: TestServer,
                   customer_id: int) -> dict[str, Any]:
    items = (await rest(session, server, "GET", "/api/customers", expect=200))["items"]
    [found] = [c for c in items if c["id"] == customer_id]
    return dict(found)


def party_row(customer_id: int) -> str:
    return f'.party[data-customer-id="{customer_id}"]'


@pytest.mark.browser
async def test_a_party_added_at_the_stand_shows_its_quote_and_a_qr_code_that_loads(
    make_server: MakeServer, session: aiohttp.ClientSession, open_host_page: OpenHostPage
) -> None:
    server = await make_server()
    tables = await floor_of(session, server, ("T1", 2), ("T2", 4))
    page = await open_host_page(server)
    await expect(page.locator("#no-line")).to_be_visible()
    await page.locator("#add-name").fill("Kim")
    await page.locator("#add-size").fill("3")
    await page.locator("#add-phone").fill("010-1234")
    await page.locator("#add-note").fill("<img src=x onerror=alert(1)>")
    await page.locator("#add").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text(
        "Kim is on the list, quoted: no wait.")
    [party] = (await rest(session, server, "GET", "/api/customers", expect=200))["items"]
    assert (party["name"], party["party_size"], party["phone"], party["status"]) == (
        "Kim", 3, "010-1234", "waiting")
    row = page.locator(party_row(party["id"]))
    await expect(row.locator(".name")).to_have_text("Kim")
    await expect(row.locator(".size")).to_have_text("party of 3")
    await expect(row.locator(".quote")).to_have_text("quoted: no wait")
    # The note is text, never markup.
    await expect(row.locator(".note")).to_have_text("<img src=x onerror=alert(1)>")
    assert await row.locator(".note img").count() == 0
    # The wait so far ticks.
    await expect(row.locator(".waited")).to_have_text("0:02", timeout=5000)
    # The ticket: its quote and the QR code of its link, an image the browser drew.
    await expect(page.locator("#ticket")).to_be_visible()
    await expect(page.locator("#ticket-quote")).to_have_text("quoted: no wait")
    qr = page.locator("#ticket-qr")
    await expect(qr).to_have_attribute("src", f"/api/customers/{party['id']}/qr.svg")
    await until_true(page, "(() => { const i = document.getElementById('ticket-qr');"
                     " return i.complete && i.naturalWidth > 0; })()")
    # A party of nine, with no table to seat it, is told so.
    await page.locator("#add-name").fill("Park")
    await page.locator("#add-size").fill("9")
    await page.locator("#add").click()
    await expect(page.locator("#ticket-quote")).to_have_text("no table seats this party")
    # The one table of four taken: a wait, in whole minutes.
    await rest(session, server, "POST", "/api/visits", {"table_id": tables["T2"]}, expect=201)
    await page.locator("#add-name").fill("Lee")
    await page.locator("#add-size").fill("4")
    await page.locator("#add").click()
    await expect(page.locator("#ticket-quote")).to_have_text(re.compile(r"^quoted \d+ minutes?$"))
    await expect(page.locator(".party .name")).to_have_text(["Kim", "Park", "Lee"])
    # The QR code again, from the list.
    await page.locator("#ticket-close").click()
    await expect(page.locator("#ticket")).to_be_hidden()
    await row.locator(".show-qr").click()
    await expect(page.locator("#ticket-name")).to_have_text("Kim, party of 3")


@pytest.mark.browser
async def test_a_party_is_seated_with_one_tap_at_the_smallest_free_table_that_fits(
    make_server: MakeServer, session: aiohttp.ClientSession, open_host_page: OpenHostPage
) -> None:
    server = await make_server()
    tables = await floor_of(session, server, ("T1", 6), ("T2", 2), ("T3", 4), ("T4", 4),
                            ("T5", 1))
    # T4 is taken: not free.
    await rest(session, server, "POST", "/api/visits", {"table_id": tables["T4"],
                                                        "party_size": 4}, expect=201)
    kim = await join(session, server, "Kim", 2)
    lee = await join(session, server, "Lee", 3)
    page = await open_host_page(server)
    await expect(page.locator(".party .name")).to_have_text(["Kim", "Lee"])
    # The first in line is chosen to begin with.
    await expect(page.locator("#chosen-party")).to_have_text("Kim, party of 2")
    await expect(page.locator(".fit .label")).to_have_text(["T2", "T3", "T1"])
    await page.locator(party_row(lee["id"])).locator("button.seat").click()
    await expect(page.locator("#chosen-party")).to_have_text("Lee, party of 3")
    await expect(page.locator(".fit .label")).to_have_text(["T3", "T1"])
    await page.locator(party_row(kim["id"])).locator("button.seat").click()
    first = page.locator(".fit").first
    await expect(first).to_have_attribute("data-table-id", str(tables["T2"]))
    await first.click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text("Kim is seated at T2.")

    async def kim_seated() -> dict[str, Any] | None:
        now = await customer(session, server, kim["id"])
        return now if now["status"] == "seated" else None
    seated = await until(kim_seated, what="Kim seated")
    assert seated["table_id"] == tables["T2"] and seated["visit_id"] is not None
    table = [t for t in (await rest(session, server, "GET", "/api/tables", expect=200))["items"]
             if t["id"] == tables["T2"]][0]
    assert table["status"] == "occupied"
    # Kim leaves the line; the floor shows the party at T2 and when it sat down.
    await expect(page.locator(party_row(kim["id"]))).to_have_count(0)
    floor_t2 = page.locator(f'.floor-table[data-table-id="{tables["T2"]}"]')
    await expect(floor_t2).to_have_attribute("data-status", "occupied")
    await expect(floor_t2.locator(".who")).to_have_text("Kim · 2")
    await expect(floor_t2.locator(".since")).to_contain_text("seated")
    await expect(page.locator("#chosen-party")).to_have_text("Lee, party of 3")


@pytest.mark.browser
async def test_call_and_no_show_change_the_party_and_a_refusal_is_shown(
    make_server: MakeServer, session: aiohttp.ClientSession, open_host_page: OpenHostPage
) -> None:
    server = await make_server()
    await floor_of(session, server, ("T1", 4))
    kim = await join(session, server, "Kim", 2, note="window seat")
    lee = await join(session, server, "Lee", 2)
    page = await open_host_page(server)
    await expect(page.locator(party_row(kim["id"])).locator(".note")).to_have_text("window seat")
    await page.locator(party_row(kim["id"])).locator("button.call-party").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text("Kim is called.")
    await expect(page.locator(party_row(kim["id"]))).to_have_attribute("data-status", "called")
    await expect(page.locator(party_row(kim["id"])).locator(".called")).to_contain_text("called")
    called = await customer(session, server, kim["id"])
    assert called["status"] == "called" and called["called_at"] is not None

    await page.locator(party_row(lee["id"])).locator("button.no-show").click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text("Lee did not come.")
    await expect(page.locator(party_row(lee["id"]))).to_have_count(0)
    assert (await customer(session, server, lee["id"]))["status"] == "no_show"
    # A called party is still in line, and may be seated.
    await expect(page.locator(".party")).to_have_count(1)

    # A name of spaces only: the server's refusal, in the status line with its code.
    await page.locator("#add-name").fill("   ")
    await page.locator("#add").click()
    status = page.locator('#status[data-kind="error"]')
    await expect(status).to_contain_text("Not done:")
    assert await status.get_attribute("data-code") == "validation_error"
    # The one free table taken from elsewhere: the page stops offering it.
    await expect(page.locator(".fit")).to_have_count(1)
    [table] = (await rest(session, server, "GET", "/api/tables", expect=200))["items"]
    await rest(session, server, "POST", "/api/visits", {"table_id": table["id"]}, expect=201)
    await expect(page.locator(".fit")).to_have_count(0)
    await expect(page.locator("#no-fit")).to_be_visible()


@pytest.mark.browser
async def test_the_host_page_speaks_korean(
    make_server: MakeServer, session: aiohttp.ClientSession, open_host_page: OpenHostPage
) -> None:
    server = await make_server()
    await floor_of(session, server, ("T1", 4))
    kim = await join(session, server, "김", 2)
    ko = catalogue("ko")
    page = await open_host_page(server, "?lang=ko")
    assert await page.title() == ko["host.title"]
    await expect(page.locator("h1")).to_have_text(ko["host.heading"])
    await expect(page.locator("#add")).to_have_text(ko["host.add_button"])
    await expect(page.locator("#line-heading")).to_have_text(ko["host.line"])
    row = page.locator(party_row(kim["id"]))
    await expect(row.locator(".size")).to_have_text("2명")
    await expect(row.locator(".quote")).to_have_text(ko["host.quote_now"])
    await expect(row.locator("button.call-party")).to_have_text(ko["host.call"])
    await expect(page.locator(".fit strong")).to_have_text(ko["host.seat_here"])
    await expect(page.locator(".floor-table .status")).to_have_text(
        f'{ko["table.status.available"]} · 4석')
    await page.locator(".fit").first.click()
    await expect(page.locator('#status[data-kind="ok"]')).to_have_text("김 님을 T1에 안내했습니다.")


@pytest.mark.browser
async def test_the_kitchen_is_refused_the_host_page(
    make_server: MakeServer, pages: Pages
) -> None:
    server = await make_server()
    watched = await pages.watched(server, KITCHEN)
    await watched.page.goto(str(server.make_url("/host")))
    await watched.page.wait_for_selector('#conn[data-state="refused"]', timeout=5000)
    await expect(watched.page.locator("#banner")).to_contain_text("not allowed")
    assert await watched.page.evaluate("window.cspViolations") == []


async def test_the_qr_route_draws_the_partys_full_link_for_the_admin_and_the_floor(
    api: Api, server: TestServer
) -> None:
    await api.table("T1", 2)
    party = await api.ok("POST", "/api/customers", {"name": "Kim", "party_size": 2}, 201)
    path = f"/api/customers/{party['id']}/qr.svg"
    for token in ("admin-token-test", FLOOR):
        reply = await api.call("GET", path, token=token)
        assert reply.status == 200 and reply.content_type == "image/svg+xml"
        assert reply.headers["Cache-Control"] == "no-store"
        # The full url of the party's page, under the server's own scheme and host.
        assert reply.body == qr_svg(str(server.make_url(party["link"])))
    assert_error(await api.call("GET", path, token=KITCHEN), 403, "forbidden")
    assert_error(await api.call("GET", path, token=None), 401, "unauthorized")
    assert_error(await api.call("GET", "/api/customers/999/qr.svg"), 404, "not_found")


@pytest.mark.browser
async def test_host_page_screenshot(
    make_server: MakeServer, session: aiohttp.ClientSession, open_host_page: OpenHostPage
) -> None:
    """docs/screenshots/host-page.png (written when ROBODYNE_UPDATE_SCREENSHOTS=1;
    test-artifacts/ always has it): a Friday's line, a party just added, a busy floor."""
    server = await make_server()
    tables = await floor_of(session, server, ("T1", 2), ("T2", 2), ("T3", 4), ("T4", 4),
                            ("T5", 4), ("T6", 6), ("T7", 8), ("T8", 2), ("T9", 2))
    for label, size in (("T1", 2), ("T3", 3), ("T4", 4), ("T6", 5), ("T7", 6)):
        await rest(session, server, "POST", "/api/visits",
                   {"table_id": tables[label], "party_size": size}, expect=201)
    await rest(session, server, "PATCH", f"/api/tables/{tables['T5']}",
               {"status": "needs_cleaning"}, expect=200)
    await rest(session, server, "PATCH", f"/api/tables/{tables['T8']}",
               {"status": "reserved"}, expect=200)
    park = await join(session, server, "Park", 4, note="birthday, cake at 8")
    choi = await join(session, server, "Choi", 2)
    await join(session, server, "Jung", 5, note="one wheelchair")
    await rest(session, server, "POST", f"/api/customers/{park['id']}/call", expect=200)
    seated = await join(session, server, "Han", 2)
    await rest(session, server, "POST", f"/api/customers/{seated['id']}/seat",
               {"table_id": tables["T2"]}, expect=200)
    page = await open_host_page(server)
    await page.locator(party_row(choi["id"])).locator("button.seat").click()
    await page.locator("#add-name").fill("Yoon")
    await page.locator("#add-size").fill("2")
    await page.locator("#add-note").fill("high chair")
    await page.locator("#add").click()
    await expect(page.locator(".party")).to_have_count(4)
    await until_true(page, "(() => { const i = document.getElementById('ticket-qr');"
                     " return i.complete && i.naturalWidth > 0; })()")
    await until_true(page, "document.fonts.status === 'loaded'")
    shot = Path(__file__).resolve().parents[1] / "test-artifacts"
    shot.mkdir(exist_ok=True)
    await page.screenshot(path=str(shot / "host-page.png"))
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "host-page.png"))

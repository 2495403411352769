"""The dashboard's Today view (docs/pages.md, "Today") in a real Chromium against a real server
holding the hand-made day of tests/support/seeded_day.py, whose numbers tests/unit/test_daybook.py
works out by hand: the figures, the chart, the CSV download, both languages, who sees it."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from robodyne.app import PARTS
from robodyne.web.auth import TOKEN_COOKIE

from ..support.browser import (
    ARTIFACTS, RECORD_VIOLATIONS, VIEWPORT, Pages, Tab, browser, catalogue, pages,
)
from ..support.seeded_day import DAY, ZONE, seed_day, seed_sales
from ..support.server import MakeServer
from ..support.wait import until

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN = "admin-token-test"
STATIONS = ["grill", "fry", "cold", "bar"]
# Chromium's Intl.DurationFormat says "6 min, 40 sec"; without it i18n.js says "6 min 40 sec".
SIX_MIN_40 = re.compile(r"6 min,? 40 s(ec)?")


async def seeded(make_server: MakeServer, currency: str = "KRW") -> TestServer:
    """A restaurant in Seoul with four stations and the seeded day, 2026-11-30, in its
    database: its orders, and its visits and payments."""
    made = await make_server(server={"timezone": ZONE}, restaurant={"currency": currency},
                             kitchen={"stations": STATIONS, "default_station": "grill"})
    await seed_day(made.app[PARTS].store)
    await seed_sales(made.app[PARTS].store)
    return made


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await seeded(make_server)


async def open_dashboard(pages: Pages, server: TestServer, token: str = ADMIN,
                         lang: str = "en", requests: list[str] | None = None,
                         fake_clock: bool = False) -> Tab:
    """The dashboard in a browser of the language's locale holding the cookie /login sets,
    recording what the page's policy refuses from before its first script runs; optionally
    every address it asks for, and with a clock the test moves (page.clock)."""
    context = await pages.browser.new_context(viewport=VIEWPORT,
                                              locale={"en": "en-US", "ko": "ko-KR"}[lang])
    pages.contexts.append(context)
    await context.add_cookies([{"name": TOKEN_COOKIE, "value": token,
                                "url": str(server.make_url("/"))}])
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    tab = Tab(page)
    page.on("pageerror", lambda err: tab.errors.append(str(err)))
    if requests is not None:
        page.on("request", lambda request: requests.append(request.url))
    pages.tabs.append(tab)  # screenshotted when the test ends
    if fake_clock:
        await page.clock.install()
    await page.goto(str(server.make_url(f"/dashboard?lang={lang}")))
    await page.wait_for_selector("body[data-role]", timeout=5000)
    return tab


async def show_day(page: Page, date: str) -> None:
    await page.fill("#today-date", date)
    await expect(page.locator("#today-panel")).to_have_attribute("data-date", date)
    await expect(page.locator("#today-panel")).not_to_have_attribute("data-loading", "true")


async def bar_heights(page: Page) -> dict[str, float]:
    heights: dict[str, float] = await page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#today-chart rect.bar')]"
        ".map((bar) => [bar.dataset.hour, bar.getBBox().height]))")
    return heights


async def test_the_admin_sees_a_days_numbers_its_hours_and_downloads_its_orders(
    server: TestServer, pages: Pages
) -> None:
    tab = await open_dashboard(pages, server)
    page = tab.page
    panel = page.locator("#today-panel")
    await expect(panel).to_be_visible()
    assert await page.locator("#today-heading").text_content() == "Today"
    # It opens on the restaurant's today, not the tablet's.
    today = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    await expect(panel).to_have_attribute("data-date", today)
    assert await page.input_value("#today-date") == today
    assert await page.locator("#today-next").is_disabled()

    await show_day(page, DAY.isoformat())
    assert await page.locator("#today-orders .value").inner_text() == "5"
    by_status = page.locator("#today-orders .by-status li")
    assert await by_status.evaluate_all(
        "(lis) => lis.map((li) => [li.dataset.status, li.querySelector('.n').textContent])") == [
        ["preparing", "1"], ["served", "3"], ["cancelled", "1"]]
    assert await by_status.all_inner_texts() == ["1 preparing", "3 served", "1 cancelled"]

    items = page.locator("#today-items tbody tr")
    await expect(items).to_have_count(5)
    assert await items.first.get_attribute("data-item") == "Bulgogi"
    assert await items.first.locator(".qty").inner_text() == "3"
    assert await items.first.locator(".cancelled").inner_text() == ""
    assert await page.locator('#today-items tr[data-item="Soju"] .cancelled').inner_text() == "3"

    prep = await page.locator("#today-prep .median").inner_text()
    assert SIX_MIN_40.fullmatch(prep), prep
    assert "10 min" in await page.locator("#today-prep .p90").inner_text()  # 600 s
    delivery = await page.locator("#today-delivery .median").inner_text()
    assert re.fullmatch(r"1 min,? 30 s(ec)?", delivery), delivery  # 90 s
    assert "3 orders" in await page.locator("#today-delivery .sub").inner_text()
    grill = page.locator('#today-stations tr[data-station="grill"]')
    assert await grill.locator("td").first.inner_text() == "Grill"
    assert await grill.locator(".count").inner_text() == "4"
    assert re.fullmatch(r"4 min,? 10 s(ec)?", await grill.locator(".median").inner_text())
    assert await page.locator('#today-stations tr[data-station="fry"] .median').inner_text() == "—"

    bot1 = page.locator('#today-robots tr[data-robot-id="bot-1"]')
    assert await bot1.locator(".name").inner_text() == "bot-1"
    assert await bot1.locator(".served").inner_text() == "2"
    assert await bot1.locator(".outcomes").inner_text() == "completed 2 · failed 1"
    assert await page.locator('#today-robots tr[data-robot-id="bot-2"] .served').inner_text() == "1"
    # Only the kinds of task that happened.
    tasks = page.locator("#today-tasks tbody tr")
    assert await tasks.evaluate_all("(rows) => rows.map((row) => row.dataset.kind)") == [
        "deliver", "return"]
    assert await tasks.first.locator(".outcomes").inner_text() == "completed 3 · failed 1"
    stock = page.locator("#today-stock li")
    assert await stock.evaluate_all(
        "(lis) => lis.map((li) => [li.dataset.type, li.querySelector('.n').textContent])") == [
        ["inventory_low", "2"], ["menu_item_unavailable", "1"]]

    # The chart: a bar per hour, labelled by the restaurant's hour; a line through the hours
    # whose orders were delivered.
    chart = page.locator("#today-chart")
    assert await chart.get_attribute("role") == "img"
    label = await chart.get_attribute("aria-label")
    assert label and label.startswith("Orders placed and median delivery time per hour")
    assert await chart.locator("title").first.text_content() == label
    await expect(chart.locator("rect.bar")).to_have_count(24)
    heights = await bar_heights(page)
    assert list(heights) == [str(hour) for hour in range(24)]
    assert {hour for hour, height in heights.items() if height > 0} == {"11", "12", "23"}
    assert heights["11"] == heights["12"] > heights["23"] > 0  # two orders, two, one
    assert await chart.locator("text.x").all_text_contents() == [str(n) for n in range(24)]
    points = chart.locator("circle.point")
    assert await points.evaluate_all("(ps) => ps.map((p) => [p.dataset.hour, p.dataset.median])"
                                     ) == [["11", "90"], ["23", "90"]]
    # Nothing was delivered from 12:00 to 22:59: the line crosses those hours dashed.
    assert await chart.locator(".delivery-line").evaluate_all(
        "(ls) => ls.map((l) => l.classList.contains('gap'))") == [True]
    assert await chart.locator("text.axis-title.right").text_content() == "delivery, s"
    # Legible on the tablet: the hour labels are real text of a readable size, none overlapping.
    boxes = await chart.locator("text.x").evaluate_all(
        "(ts) => ts.map((t) => { const r = t.getBoundingClientRect();"
        " return [r.left, r.right, parseFloat(getComputedStyle(t).fontSize)]; })")
    assert all(size >= 12 for _, _, size in boxes)
    assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:])), boxes

    # The export: that day's orders as the server's CSV, one row per dish.
    export = page.locator("#today-export")
    assert await export.inner_text() == "Export CSV"
    href = await export.get_attribute("href")
    assert href == "/api/export/orders.csv?from=2026-11-30&to=2026-11-30"
    async with page.expect_download() as started:
        await export.click()
    download = await started.value
    assert download.suggested_filename == "orders-2026-11-30-to-2026-11-30.csv"
    saved = await download.path()
    rows = list(csv.DictReader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 7
    assert [row["item"] for row in rows][:2] == ["Bulgogi", "Soju"]

    assert await page.evaluate("window.cspViolations") == []
    assert tab.errors == [] and tab.dialogs == []


async def test_the_days_sales_its_payments_turn_time_and_top_dishes(
    server: TestServer, pages: Pages
) -> None:
    """The sales of tests/support/seeded_day.py's visits, as tests/unit/test_daybook.py works
    them out: two checks closed, 63000 won."""
    tab = await open_dashboard(pages, server)
    page = tab.page
    await show_day(page, DAY.isoformat())
    sales = page.locator("#today-sales")
    assert await page.locator("#today-panel h3").all_inner_texts() == [
        "Orders", "Prep time", "Delivery time", "Sales", "Payments", "Table turn",
        "Wait for a table", "Items sold",
        "Top dishes by revenue", "Prep time by station", "Deliveries by robot", "Robot tasks",
        "Stock events"]
    assert await sales.locator(".gross").inner_text() == "₩63,000"
    assert await sales.locator(".sub").inner_text() == "2 checks · 5 covers · average ₩31,500"
    methods = page.locator("#today-payments li")
    assert await methods.evaluate_all(
        "(lis) => lis.map((li) => [li.dataset.method, li.innerText.replace(/\\s+/g, ' ')])"
    ) == [["cash", "Cash ₩20,000"], ["card", "Card ₩43,000"], ["other", "Other ₩0"]]
    turn = page.locator("#today-turn")
    median = await turn.locator(".median").inner_text()  # 3450 s
    assert re.fullmatch(r"57 min,? 30 s(ec)?", median), median
    assert re.search(r"1 hr,? 10 min", await turn.locator(".p90").inner_text())  # 4200 s
    assert await turn.locator(".count").inner_text() == "2 visits"
    # The parties from the line: 1050 s median, 150 s sooner than quoted (seeded_day.PARTIES).
    wait = page.locator("#today-wait")
    assert re.fullmatch(r"17 min,? 30 s(ec)?", await wait.locator(".median").inner_text())
    assert await wait.locator(".count").inner_text() == "2 parties"
    assert re.fullmatch(r"median 2 min,? 30 s(ec)? within the quote",
                        await wait.locator(".over-quote").inner_text())
    dishes = page.locator("#today-revenue tbody tr")
    assert await dishes.evaluate_all(
        "(rows) => rows.map((row) => [row.dataset.item, row.querySelector('.qty').textContent,"
        " row.querySelector('.revenue').textContent])") == [
        ["Bulgogi", "2", "₩30,000"], ["Galbi", "1", "₩28,000"], ["Soju", "1", "₩5,000"]]
    # A day with nothing settled says so.
    await show_day(page, "2026-11-01")
    assert await sales.locator(".gross").inner_text() == "₩0"
    assert await page.locator("#today-revenue .empty").inner_text() == "No dish paid for yet."
    assert await page.locator("#today-turn .sub").inner_text() == "no visit closed yet"
    assert await page.locator("#today-wait .sub").inner_text() == (
        "no party seated from the line yet")
    assert await page.evaluate("window.cspViolations") == []
    assert tab.errors == []


async def test_the_sales_are_drawn_from_the_minor_unit_of_the_restaurants_currency(
    make_server: MakeServer, pages: Pages
) -> None:
    tab = await open_dashboard(pages, await seeded(make_server, "USD"))
    page = tab.page
    await show_day(page, DAY.isoformat())
    assert await page.locator("#today-sales .gross").inner_text() == "$630.00"
    assert await page.locator("#today-sales .average").inner_text() == "average $315.00"
    assert await page.locator('#today-revenue tr[data-item="Soju"] .revenue').inner_text() == (
        "$50.00")
    assert tab.errors == []


async def test_the_arrows_step_a_day_and_only_today_refreshes_every_minute(
    server: TestServer, pages: Pages
) -> None:
    requests: list[str] = []
    tab = await open_dashboard(pages, server, requests=requests, fake_clock=True)
    page = tab.page

    def asked() -> list[str]:
        return [url.split("/api/reports/daily", 1)[1] for url in requests
                if "/api/reports/daily" in url]

    async def asked_times(count: int) -> bool:
        return len(asked()) == count

    panel = page.locator("#today-panel")
    today = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    await expect(panel).to_have_attribute("data-date", today)
    assert asked() == [""]  # today: the server says which day that is
    await page.clock.fast_forward(61_000)
    await until(lambda: asked_times(2))
    assert asked()[1] == ""

    await show_day(page, "2026-12-01")
    await page.click("#today-previous")
    await expect(panel).to_have_attribute("data-date", "2026-11-30")
    assert await page.locator("#today-orders .value").inner_text() == "5"
    assert asked()[2:] == ["?date=2026-12-01", "?date=2026-11-30"]
    assert await page.locator("#today-export").get_attribute("href") == (
        "/api/export/orders.csv?from=2026-11-30&to=2026-11-30")
    # A past day stays as it is: no refresh, however long it is shown.
    await page.clock.fast_forward(125_000)
    await page.wait_for_timeout(300)
    assert len(asked()) == 4
    await page.click("#today-next")
    await expect(panel).to_have_attribute("data-date", "2026-12-01")
    # Back to today: the refresh is on again.
    await page.click("#today-back")
    await expect(panel).to_have_attribute("data-date", today)
    assert await page.locator("#today-back").is_hidden()
    assert await page.locator("#today-next").is_disabled()
    count = len(asked())
    await page.clock.fast_forward(61_000)
    await until(lambda: asked_times(count + 1))
    assert tab.errors == []


async def test_the_korean_page_says_it_in_korean(server: TestServer, pages: Pages) -> None:
    words = catalogue("ko")
    tab = await open_dashboard(pages, server, lang="ko")
    page = tab.page
    await expect(page.locator("#today-heading")).to_have_text(words["today.heading"])
    assert words["today.heading"] == "오늘"
    await show_day(page, DAY.isoformat())
    assert await page.locator("#today-export").inner_text() == "CSV 내보내기"
    assert await page.locator("#today-prep .median").inner_text() == "6분 40초"
    assert await page.locator('#today-stations tr[data-station="grill"] td').first.inner_text(
    ) == "그릴"
    texts = await page.locator("#today-panel h3").all_inner_texts()
    assert texts[:6] == ["주문", "조리 시간", "배달 시간", "매출", "결제", "테이블 회전"]
    assert await page.locator("#today-sales .gross").inner_text() == "₩63,000"
    assert await page.locator("#today-sales .sub").inner_text() == (
        "계산 2건 · 손님 5명 · 건당 평균 ₩31,500")
    assert await page.locator('#today-payments li[data-method="card"]').inner_text() == (
        "카드\n₩43,000")
    assert await page.locator("#today-orders .by-status li").all_inner_texts() == [
        "1 준비 중", "3 서빙 완료", "1 취소"]
    assert await page.locator("#today-chart text.axis-title.right").text_content() == "배달(초)"
    assert await page.evaluate("window.cspViolations") == []
    assert tab.errors == []


@pytest.mark.parametrize("token", ["kitchen-token-test", "floor-token-test"])
async def test_the_today_view_is_only_for_the_owner(
    server: TestServer, pages: Pages, token: str
) -> None:
    asked: list[str] = []
    tab = await open_dashboard(pages, server, token=token, requests=asked)
    page = tab.page
    # body[data-role] is set as /api/me answers, in the step that shows or hides the panel.
    assert not await page.locator("#today-panel").is_visible()
    assert await page.locator("#today-chart rect").count() == 0
    await page.wait_for_timeout(300)
    assert [url for url in asked if "/api/reports/" in url] == []
    assert any(url.endswith("/api/me") for url in asked)
    assert tab.errors == []


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_today_screenshots(server: TestServer, pages: Pages, lang: str) -> None:
    """The Today view at 1280×800 in test-artifacts/dashboard-today-{lang}.png, and in
    docs/screenshots/ when ROBODYNE_UPDATE_SCREENSHOTS=1."""
    tab = await open_dashboard(pages, server, lang=lang)
    page = tab.page
    await show_day(page, DAY.isoformat())
    await page.evaluate("document.getElementById('today-panel').scrollIntoView()")
    name = f"dashboard-today-{lang}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / name)
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / name)
    assert tab.errors == []

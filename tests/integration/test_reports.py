"""The day's report and the orders export through HTTP on a real server and SQLite file
(docs/api.md, "Reports"): the seeded day of tests/support/seeded_day.py, whose numbers are
worked out by hand in tests/unit/test_daybook.py."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import PARTS
from robodyne.domain.daybook import EXPORT_COLUMNS

from ..conftest import MakeServer
from ..support.api_client import Api, assert_error
from ..support.seeded_day import DAY, FORMULA_NOTE, QUOTED_NOTE, ZONE, seed_day
from ..support.server import ADMIN

KITCHEN = "kitchen-token-test"


@pytest.fixture
async def seoul(make_server: MakeServer) -> TestServer:
    server = await make_server(server={"timezone": ZONE})
    await seed_day(server.app[PARTS].store)
    return server


@pytest.fixture
def api(session: aiohttp.ClientSession, seoul: TestServer) -> Api:
    return Api(session, seoul)


async def _csv(session: aiohttp.ClientSession, server: TestServer, token: str = ADMIN,
               **query: str) -> tuple[aiohttp.ClientResponse, bytes]:
    async with session.get(server.make_url("/api/export/orders.csv").with_query(query),
                           headers={"Authorization": f"Bearer {token}"}) as response:
        return response, await response.read()


async def test_the_report_of_a_day_in_the_restaurants_zone(api: Api) -> None:
    report = await api.ok("GET", f"/api/reports/daily?date={DAY}")
    assert report["date"] == "2026-11-30" and report["timezone"] == ZONE
    assert report["orders"]["total"] == 5 and report["orders"]["by_status"]["served"] == 3
    assert report["items"][0] == {"name": "Bulgogi", "category": "mains", "qty": 3,
                                  "cancelled_qty": 0, "orders": 2}
    assert report["delivery_time"] == {"count": 3, "median_s": 90.0, "p90_s": 120.0}
    assert report["stations"]["grill"]["median_s"] == 250.0
    assert [r["robot_id"] for r in report["robots"]] == ["bot-1", "bot-2"]
    assert report["stock"]["counts"] == {"inventory_low": 2, "menu_item_unavailable": 1}


async def test_without_a_date_the_report_is_of_today(api: Api) -> None:
    table = await api.table()
    await api.order(table["id"], "Bibimbap")
    report = await api.ok("GET", "/api/reports/daily")
    assert report["date"] == datetime.now(ZoneInfo(ZONE)).date().isoformat()
    assert report["orders"]["total"] == 1
    assert report["items"] == [{"name": "Bibimbap", "category": "", "qty": 1,
                                "cancelled_qty": 0, "orders": 1}]


@pytest.mark.parametrize("date", ["30-11-2026", "2026-11-31", "today", "2026-1-1", "x" * 300])
async def test_a_date_that_is_not_yyyy_mm_dd_is_a_400(api: Api, date: str) -> None:
    assert_error(await api.call("GET", f"/api/reports/daily?date={date}"), 400,
                 "validation_error")


@pytest.mark.parametrize(("token", "status", "code"), [
    (KITCHEN, 403, "forbidden"), ("maintenance-token-test", 403, "forbidden"),
    (None, 401, "unauthorized")])
async def test_the_report_and_the_export_are_the_owners(
    api: Api, token: str | None, status: int, code: str
) -> None:
    for path in (f"/api/reports/daily?date={DAY}", f"/api/export/orders.csv?from={DAY}"):
        assert_error(await api.call("GET", path, token=token), status, code)


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_export_is_rfc4180_csv_one_row_per_item(
    session: aiohttp.ClientSession, seoul: TestServer
) -> None:
    response, body = await _csv(session, seoul, **{"from": str(DAY), "to": str(DAY)})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="orders-2026-11-30-to-2026-11-30.csv"')
    # Excel's UTF-8 mark, then the header; each record ends CRLF (RFC 4180), and the one
    # newline typed in a note stays inside its quoted field.
    assert body.startswith("\ufefforder_id,placed_at,".encode())
    assert body.count(b"\r\n") == 1 + 7
    rows = _rows(body)
    assert [(r["order_id"], r["item"], r["qty"]) for r in rows] == [
        ("1", "Bulgogi", "2"), ("1", "Soju", "1"), ("2", "Galbi", "1"), ("3", "Bulgogi", "1"),
        ("3", "Fries", "2"), ("4", "Soju", "3"), ("5", "김치찌개", "1")]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    first = rows[0]
    assert (first["placed_at"], first["served_at"]) == ("2026-11-30T11:00:00+09:00",
                                                        "2026-11-30T11:07:40+09:00")
    assert (first["table"], first["station"], first["robot_id"], first["task_status"]) == (
        "T7", "grill", "bot-1", "completed")
    assert first["order_note"] == QUOTED_NOTE  # the comma, quotes and newline come back whole
    assert first["modifiers"] == "no onion; extra rice"
    # A note a spreadsheet would run as a formula is text there, behind an apostrophe.
    assert rows[3]["item_note"] == "'" + FORMULA_NOTE
    assert rows[4]["item_done_at"] == "" and rows[4]["robot_id"] == ""


async def test_the_export_range_includes_both_days_and_defaults_to_one(
    session: aiohttp.ClientSession, seoul: TestServer
) -> None:
    _, two_days = await _csv(session, seoul, **{"from": "2026-11-29", "to": str(DAY)})
    assert len(_rows(two_days)) == 8  # and the previous evening's last order
    _, only_to = await _csv(session, seoul, to=str(DAY))
    assert len(_rows(only_to)) == 7
    _, empty = await _csv(session, seoul, **{"from": "2020-01-01", "to": "2020-01-02"})
    assert _rows(empty) == [] and empty.decode("utf-8-sig").startswith("order_id,")


@pytest.mark.parametrize("query", [{"from": "2026-12-01", "to": "2026-11-30"},
                                   {"from": "yesterday"}, {"to": "2026-13-01"}])
async def test_a_bad_export_range_is_a_400_before_any_row(
    session: aiohttp.ClientSession, seoul: TestServer, query: dict[str, str]
) -> None:
    response, body = await _csv(session, seoul, **query)
    assert response.status == 400 and response.content_type == "application/json"
    assert orjson.loads(body)["error"]["code"] == "validation_error"

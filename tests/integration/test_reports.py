"""The day's report and the orders export through HTTP on a real server and SQLite file
(docs/api.md, "Reports"): the seeded day of tests/support/seeded_day.py, whose numbers are
worked out by hand in tests/unit/test_daybook.py."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import socket
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import PARTS
from robodyne.core.models import LogLevel
from robodyne.domain.daybook import EXPORT_COLUMNS

from ..conftest import MakeServer
from ..support.api_client import Api, assert_error
from ..support.seeded_day import DAY, FORMULA_NOTE, QUOTED_NOTE, ZONE, seed_day
from ..support.server import ADMIN
from ..support.wait import until

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
                                  "cancelled_qty": 0, "orders": 2, "revenue": 0,
                                  "revenue_qty": 0}
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
                                "cancelled_qty": 0, "orders": 1, "revenue": 0,
                                "revenue_qty": 0}]  # its visit is still open


@pytest.mark.parametrize("date", ["30-11-2026", "2026-11-31", "today", "2026-1-1", "x" * 300,
                                  "2026-W48-1", "9999-12-31", "0001-01-01"])
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


async def _snapshot_held(server: TestServer) -> bool:
    """Whether an open read snapshot keeps the WAL from being checkpointed and reset: what a
    stalled export would do to the database for as long as it lasted."""
    store = server.app[PARTS].store
    await store.add_systemlog(LogLevel.INFO, "test", "a write for the WAL")
    with closing(sqlite3.connect(store.path, timeout=0.05)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return bool(busy)


async def _many_orders(server: TestServer, orders: int, items: int = 4) -> int:
    """`orders` orders of `items` items on the seeded day; the rows that makes."""
    async with server.app[PARTS].store.transaction() as db:
        await db.executemany(
            "INSERT INTO orders (table_id, status, items, created_at, updated_at)"
            " VALUES (7, 'served', ?, ?, ?)",
            [(orjson.dumps([{"name": f"Dish {n % 13}", "qty": 1, "note": "x" * 120,
                             "station": "grill"}] * items).decode(),
              f"2026-11-30T0{n % 10}:00:00.000Z", f"2026-11-30T0{n % 10}:00:00.000Z")
             for n in range(orders)])
    return orders * items


async def _until_released(server: TestServer, timeout: float = 5.0) -> None:
    async def released() -> bool:
        return not await _snapshot_held(server)
    await until(released, timeout, "the export's snapshot released")


async def test_an_export_of_many_batches_is_one_file_with_every_row_once(
    session: aiohttp.ClientSession, seoul: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("robodyne.store.report_queries.EXPORT_BATCH", 2)
    added = await _many_orders(seoul, 25, items=3)
    response, body = await _csv(session, seoul, to=str(DAY))
    assert response.status == 200
    assert body.count("\ufeff".encode()) == 1 and body.count(b"order_id,placed_at") == 1
    rows = _rows(body)
    assert len(rows) == 7 + added
    per_order = Counter(int(row["order_id"]) for row in rows)
    assert [per_order[n] for n in range(1, 6)] == [2, 1, 2, 1, 1]  # the seeded day's
    assert set(per_order.values()) == {1, 2, 3} and len(per_order) == 5 + 25
    assert body.count(b"\r\n") == 1 + len(rows)


async def test_an_export_the_client_cuts_ends_quietly_and_closes_its_snapshot(
    session: aiohttp.ClientSession, seoul: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="robodyne.web.reports")
    await _many_orders(seoul, 10_000)
    assert not await _snapshot_held(seoul)
    async with session.get(seoul.make_url("/api/export/orders.csv").with_query(to=str(DAY)),
                           headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert response.status == 200
        await response.content.read(10_000)
        assert await _snapshot_held(seoul)  # the export's own snapshot, still streaming
        response.close()
    await _until_released(seoul)
    cut = [r for r in caplog.records if r.name == "robodyne.web.reports"]
    # The test server cancels the handler of a lost connection (aiohttp's handler_cancellation);
    # run.py does not, and the next write says ConnectionResetError: one INFO line either way.
    assert [r.levelname for r in cut] == ["INFO"] and "the client went away" in cut[0].message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_export_nobody_reads_is_dropped_and_its_snapshot_closed(
    seoul: TestServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A paused download would hold the snapshot, and the WAL from resetting, for ever."""
    monkeypatch.setattr("robodyne.web.reports.STALL_S", 0.5)
    caplog.set_level(logging.INFO, logger="robodyne.web.reports")
    await _many_orders(seoul, 10_000)  # ~8 MB of CSV: more than the sockets' buffers hold
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (seoul.host, seoul.port))
    await loop.sock_sendall(sock, (
        f"GET /api/export/orders.csv?to={DAY} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ADMIN}\r\n\r\n").encode())
    try:
        await asyncio.sleep(0.3)
        assert await _snapshot_held(seoul)  # stalled, not yet given up
        await _until_released(seoul, timeout=10)
        cut = [r.getMessage() for r in caplog.records if r.name == "robodyne.web.reports"]
        assert len(cut) == 1 and "read nothing for 0.5 s" in cut[0], cut
    finally:
        sock.close()

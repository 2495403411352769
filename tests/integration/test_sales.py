"""The day's sales and the payments export through HTTP on a real server and SQLite file
(SPEC §12.5, docs/api.md "Reports"): parties seated, served, paid in cash and by card and
closed today in Seoul; the report's sales are their checks and payments to the unit, a visit
still open counts for nothing, and the exports list them."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.models import iso
from robodyne.domain.daybook import EXPORT_COLUMNS, PAYMENT_COLUMNS

from ..support.api_client import Api, assert_error
from ..support.server import ADMIN, MakeServer, db_write

FLOOR = "floor-token-test"
# A reference a spreadsheet would run as a formula.
FORMULA = "=1+2"


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server(server={"timezone": "Asia/Seoul"})


async def _party(api: Api, label: str, party_size: int, lines: list[dict[str, Any]],
                 payments: list[dict[str, Any]], close: bool = True) -> dict[str, Any]:
    """A table seated, its order placed, paid and (unless `close` is false) closed: the visit
    as it is then."""
    table = await api.table(label)
    visit = await api.ok("POST", "/api/visits",
                         {"table_id": table["id"], "party_size": party_size}, 201)
    await api.ok("POST", "/api/orders", {"table_id": table["id"], "items": lines}, 201)
    for payment in payments:
        await api.ok("POST", f"/api/visits/{visit['id']}/payments", payment, 201)
    if close:
        closed: dict[str, Any] = await api.ok("POST", f"/api/visits/{visit['id']}/close")
        return closed
    [held] = [v for v in (await api.ok("GET", "/api/visits"))["items"] if v["id"] == visit["id"]]
    return dict(held)


@pytest.fixture
async def day(api: Api) -> list[dict[str, Any]]:
    """Two parties paid and gone, one still eating: the visits, in that order."""
    galbi = await api.ok("POST", "/api/menu", {"name": "Galbi", "price": 22000}, 201)
    soju = await api.ok("POST", "/api/menu", {"name": "Soju", "price": 4501}, 201)
    first = await _party(api, "T1", 2, [{"menu_id": galbi["id"]}, {"menu_id": soju["id"]}],
                         [{"amount": 10000, "method": "cash"},
                          {"amount": 16501, "method": "card", "reference": FORMULA}])
    second = await _party(api, "T2", 3, [{"menu_id": galbi["id"]}],
                          [{"amount": 22000, "method": "card", "reference": "slip 7"}])
    eating = await _party(api, "T3", 4, [{"menu_id": soju["id"], "qty": 2}],
                          [{"amount": 1000, "method": "cash"}], close=False)
    return [first, second, eating]


async def test_the_days_sales_are_its_closed_checks_and_their_payments_to_the_unit(
    api: Api, day: list[dict[str, Any]]
) -> None:
    report = await api.ok("GET", "/api/reports/daily")
    closed = [visit for visit in day if visit["status"] == "closed"]
    assert [visit["check"]["total"] for visit in closed] == [26501, 22000]
    paid: dict[str, int] = {"cash": 0, "card": 0, "other": 0}
    for visit in closed:
        for payment in visit["payments"]:
            paid[payment["method"]] += payment["amount"]
    assert report["sales"] == {
        "checks": 2, "covers": 5,
        "gross": sum(visit["check"]["total"] for visit in closed),
        "tax": sum(visit["check"]["tax"] for visit in closed),
        "service_charge": 0, "average_check": 24251,  # 48501 / 2 = 24250.5, half up
        "payments": paid}
    # The open visit's 1000 in cash is in no sum.
    assert paid == {"cash": 10000, "card": 38501, "other": 0}
    assert report["sales"]["tax"] == 2409 + 2000  # 26501 / 11 = 2409.18…, 22000 / 11
    items = {item["name"]: item for item in report["items"]}
    assert {name: (item["qty"], item["revenue"], item["revenue_qty"])
            for name, item in items.items()} == {"Galbi": (2, 44000, 2),
                                                 "Soju": (3, 4501, 1)}
    assert report["turn_time"]["count"] == 2 and report["turn_time"]["median_s"] >= 0


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def _csv(api: Api, path: str, token: str = ADMIN, **query: str
               ) -> tuple[aiohttp.ClientResponse, bytes]:
    async with api.session.get(api.server.make_url(path).with_query(query),
                               headers={"Authorization": f"Bearer {token}"}) as response:
        return response, await response.read()


async def test_the_payments_export_is_one_row_per_payment_in_local_time(
    api: Api, day: list[dict[str, Any]]
) -> None:
    response, body = await _csv(api, "/api/export/payments.csv")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = (await api.ok("GET", "/api/reports/daily"))["date"]
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="payments-{today}-to-{today}.csv"')
    assert body.startswith(("\ufeff" + ",".join(PAYMENT_COLUMNS) + "\r\n").encode())
    rows = _rows(body)
    payments = [payment for visit in day for payment in visit["payments"]]
    assert [(int(r["id"]), int(r["visit_id"]), r["table"], int(r["amount"]), r["method"])
            for r in rows] == [
        (p["id"], visit["id"], label, p["amount"], p["method"])
        for visit, label in zip(day, ("T1", "T2", "T3")) for p in visit["payments"]]
    assert len(rows) == len(payments) == 4  # the open visit's payment too: it was taken
    # A reference a spreadsheet would run is text there; times are Seoul's, with the offset.
    assert [r["reference"] for r in rows] == ["", "'" + FORMULA, "slip 7", ""]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", r["created_at"])
               for r in rows)
    assert rows[0]["created_at"].startswith(today)
    _, empty = await _csv(api, "/api/export/payments.csv",
                          **{"from": "2020-01-01", "to": "2020-01-02"})
    assert _rows(empty) == []


@pytest.mark.parametrize(("token", "status", "code"), [
    (FLOOR, 403, "forbidden"), ("kitchen-token-test", 403, "forbidden"),
    ("nobody", 401, "unauthorized")])
async def test_the_payments_export_is_the_owners(api: Api, token: str, status: int,
                                                 code: str) -> None:
    assert_error(await api.call("GET", "/api/export/payments.csv", token=token), status, code)


async def test_a_bad_payments_range_is_a_400(api: Api) -> None:
    for query in ("from=2026-12-01&to=2026-11-30", "to=yesterday"):
        assert_error(await api.call("GET", f"/api/export/payments.csv?{query}"), 400,
                     "validation_error")


async def test_the_orders_export_prices_each_item_and_names_its_visit(
    api: Api, day: list[dict[str, Any]]
) -> None:
    _, body = await _csv(api, "/api/export/orders.csv")
    rows = _rows(body)
    assert list(rows[0])[-3:] == ["unit_price", "amount", "visit_id"]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [(r["table"], r["item"], r["qty"], r["unit_price"], r["amount"], r["visit_id"])
            for r in rows] == [
        ("T1", "Galbi", "1", "22000", "22000", str(day[0]["id"])),
        ("T1", "Soju", "1", "4501", "4501", str(day[0]["id"])),
        ("T2", "Galbi", "1", "22000", "22000", str(day[1]["id"])),
        ("T3", "Soju", "2", "4501", "9002", str(day[2]["id"]))]


async def test_the_days_waits_are_the_parties_from_the_line_against_their_quotes(
    api: Api, server: TestServer
) -> None:
    tables = [(await api.table(f"W{n}", 4))["id"] for n in range(4)]
    parties = [await api.ok("POST", "/api/customers", {"name": f"P{n}", "party_size": 2}, 201)
               for n in range(3)]
    for party, table_id in zip(parties, tables):
        await api.ok("POST", f"/api/customers/{party['id']}/seat", {"table_id": table_id})
    # A party recorded seated never stood in line: not a wait.
    await api.ok("POST", "/api/customers", {"name": "Walk-in", "party_size": 2,
                                            "status": "seated", "table_id": tables[3]}, 201)
    # Joined at 12:00, quoted 10, 20 and (none) minutes, seated after 5, 30 and 60 minutes.
    for party, waited_min, quoted_min in zip(parties, (5, 30, 60), (10, 20, None)):
        seated = datetime.now(timezone.utc).replace(microsecond=0)
        db_write(server, "UPDATE customers SET created_at = ?, seated_at = ?, quoted_wait_s = ?"
                 " WHERE id = ?", iso(seated - timedelta(minutes=waited_min)), iso(seated),
                 None if quoted_min is None else quoted_min * 60, party["id"])
    wait = (await api.ok("GET", "/api/reports/daily"))["wait"]
    # Median of 300, 1800, 3600 s; p90 by the report's percentile; waited minus quoted:
    # -300 and +600 s, median +150 s (the third had no quote).
    assert wait["count"] == 3 and wait["median_s"] == 1800.0
    assert wait["p90_s"] is not None and 1800.0 < wait["p90_s"] <= 3600.0
    assert wait["over_quote_median_s"] == 150.0

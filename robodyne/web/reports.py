"""GET /api/reports/daily and GET /api/export/orders.csv (docs/api.md, "Reports"): the
owner's numbers as JSON, and the orders as a spreadsheet the accountant can open."""

from __future__ import annotations

import csv
import io
import logging
from contextlib import aclosing
from typing import Any, Final

from aiohttp import web

from ..core.days import day_range, parse_day
from ..domain.daybook import EXPORT_COLUMNS, TYPED_COLUMNS, Daybook
from .api import json_response
from .auth import Auth

log = logging.getLogger(__name__)

# Excel reads a CSV file as the PC's legacy code page unless it starts with a UTF-8 byte order
# mark, and a restaurant's dish names are Hangul: the mark is what makes them readable there.
BOM: Final = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet; a guest's note such as
# "=HYPERLINK(...)" must stay text (OWASP, "CSV Injection"), so it gets a leading apostrophe.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def _as_text(row: list[Any]) -> list[Any]:
    """The row with every typed cell that a spreadsheet would run kept as text."""
    for column in TYPED_COLUMNS:
        value = row[column]
        if value and value.startswith(FORMULA_STARTS):
            row[column] = "'" + value
    return row


class Reports:
    """The report and export handlers, for the roles of core.roles.REPORT_ROLES."""

    def __init__(self, daybook: Daybook, auth: Auth) -> None:
        self._daybook = daybook
        self._auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/reports/daily", self.daily),
                web.get("/api/export/orders.csv", self.export)]

    async def daily(self, request: web.Request) -> web.Response:
        self._auth.require_reports(request)
        day = parse_day(request.query.get("date"), self._daybook.zone)
        return json_response(await self._daybook.daily(day))

    async def export(self, request: web.Request) -> web.StreamResponse:
        """The orders placed from `from` to `to` (both days included; `to` defaults to today,
        `from` to `to`), one row per item, streamed a batch at a time: memory stays flat."""
        self._auth.require_reports(request)
        zone = self._daybook.zone
        last = parse_day(request.query.get("to"), zone)
        first = parse_day(request.query.get("from"), zone) if "from" in request.query else last
        day_range(first, last, zone)  # refuses a range that ends before it begins, as a 400
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="orders-{first}-to-{last}.csv"'})
        await response.prepare(request)
        buffer = io.StringIO()
        buffer.write(BOM)
        writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes doubled
        writer.writerow(EXPORT_COLUMNS)
        rows = 0
        try:
            async with aclosing(self._daybook.rows(first, last)) as batches:
                async for batch in batches:
                    writer.writerows(map(_as_text, batch))  # None is written as ""
                    rows += len(batch)
                    await response.write(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
            if buffer.tell():
                await response.write(buffer.getvalue().encode())
            await response.write_eof()
        except ConnectionResetError:
            log.info("export of orders placed %s to %s cut by the client after %d rows",
                     first, last, rows)
            return response
        log.info("exported %d order items placed %s to %s", rows, first, last)
        return response

"""GET /api/reports/daily, GET /api/export/orders.csv and GET /api/export/payments.csv
(docs/api.md, "Reports"): the owner's numbers as JSON, and the orders and the payments as
spreadsheets the accountant can open."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from aiohttp import web

from ..core.days import parse_day
from ..core.errors import StorageUnavailable
from ..domain.daybook import (
    EXPORT_COLUMNS,
    PAYMENT_COLUMNS,
    PAYMENT_TYPED,
    TYPED_COLUMNS,
    Daybook,
    Export,
)
from .needs import Caller
from .responses import json_response

log = logging.getLogger(__name__)

# Excel reads a CSV file as the PC's legacy code page unless it starts with a UTF-8 byte order
# mark, and a restaurant's dish names are Hangul: the mark is what makes them readable there.
BOM: Final = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet; a guest's note such as
# "=HYPERLINK(...)" must stay text (OWASP, "CSV Injection"), so it gets a leading apostrophe.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# Seconds an export waits for a client that reads nothing (a paused download, a closed lid).
STALL_S: Final = 30.0


def _as_text(row: list[Any], typed: Sequence[int]) -> list[Any]:
    """The row with every typed cell that a spreadsheet would run kept as text."""
    for column in typed:
        value = row[column]
        if value and value.startswith(FORMULA_STARTS):
            row[column] = "'" + value
    return row


@dataclass(frozen=True)
class _File:
    """What one export writes: its name, header and typed columns, and its rows (entered
    before the answer begins, so that a refusal is still an error answer)."""

    name: str
    columns: Sequence[str]
    typed: Sequence[int]
    rows: AbstractAsyncContextManager[Export]


class Reports:
    """The report and export handlers (for the roles of core.roles.REPORT_ROLES)."""

    def __init__(self, daybook: Daybook) -> None:
        self._daybook = daybook

    async def daily(self, request: web.Request, caller: Caller) -> web.Response:
        day = parse_day(request.query.get("date"), self._daybook.zone)
        return json_response(await self._daybook.daily(day))

    async def export(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """The orders placed from `from` to `to` (both days included; `to` defaults to today,
        `from` to `to`), one row per item, streamed a batch at a time: memory stays flat."""
        first, last = self._range(request)
        return await self._send_file(request, _File(
            "orders", EXPORT_COLUMNS, TYPED_COLUMNS, self._daybook.export(first, last)),
            first, last, "order items placed")

    async def payments(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """The payments recorded from `from` to `to`, one row each, as `export` streams."""
        first, last = self._range(request)
        return await self._send_file(request, _File(
            "payments", PAYMENT_COLUMNS, PAYMENT_TYPED, self._daybook.payments(first, last)),
            first, last, "payments recorded")

    def _range(self, request: web.Request) -> tuple[date, date]:
        zone = self._daybook.zone
        last = parse_day(request.query.get("to"), zone)
        first = parse_day(request.query.get("from"), zone) if "from" in request.query else last
        return first, last

    async def _send_file(self, request: web.Request, file: _File, first: date, last: date,
                         what: str) -> web.StreamResponse:
        async with AsyncExitStack() as stack:
            # A bad range or an unreadable database (StorageUnavailable) is an error answer,
            # before the 200.
            rows = await stack.enter_async_context(file.rows)
            response = web.StreamResponse(headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition":
                    f'attachment; filename="{file.name}-{first}-to-{last}.csv"'})
            await response.prepare(request)
            sent = await self._stream(request, response, rows, file)
        if sent is not None:
            log.info("exported %d %s %s to %s", sent, what, first, last)
        return response

    async def _stream(self, request: web.Request, response: web.StreamResponse,
                      rows: Export, file: _File) -> int | None:
        """Write the CSV; the rows written, or None when it was cut (and said so in the log):
        then the connection is dropped, so the client cannot take a short file for whole."""
        buffer = io.StringIO()
        buffer.write(BOM)
        writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes doubled
        writer.writerow(file.columns)
        written = 0
        try:
            async for batch in rows:
                writer.writerows(_as_text(row, file.typed) for row in batch)  # None: ""
                written += len(batch)
                await _send(response, buffer)
            await _send(response, buffer)
            await response.write_eof()
            return written
        except asyncio.CancelledError:  # aiohttp's handler_cancellation (its test server's)
            log.info("export cut after %d rows: cancelled (the client went away, or the"
                     " server is stopping)", written)
            raise
        except ConnectionResetError:
            level, why = logging.INFO, "the client went away"
        except TimeoutError:
            level, why = logging.INFO, f"the client read nothing for {STALL_S:g} s"
        except StorageUnavailable as err:
            level, why = logging.WARNING, str(err)
        log.log(level, "export cut after %d rows: %s", written, why)
        if request.transport is not None:
            request.transport.abort()
        return None


async def _send(response: web.StreamResponse, buffer: io.StringIO) -> None:
    """The buffer's text to the client, then an empty buffer. A client that stops reading
    would hold the export's snapshot open, and with it the database's WAL from resetting:
    after STALL_S without progress, TimeoutError."""
    if not buffer.tell():
        return
    async with asyncio.timeout(STALL_S):
        await response.write(buffer.getvalue().encode())
    buffer.seek(0)
    buffer.truncate()

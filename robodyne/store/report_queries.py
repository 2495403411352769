"""The SQL of the day's report, the orders export and the payments export (docs/api.md,
"Reports").

Each query reads one range of `created_at` through that column's index. The orders' and the
tasks' queries name it (INDEXED BY) so that the planner cannot pick another: a GROUP BY o.id
made it scan every order in rowid order, and a status condition sent the task times through
tasks_by_status, both reading the whole year for one day. The planner picks events_by_type for
the stock events by itself. The sales read the visits closed in the range through
visits_by_status (status, closed_at), the waits the parties seated in it through
customers_by_seated, and the payments export its range of payments'
created_at through payments_by_created. `python -m bench reports` prints each query's plan.

They run on a connection of their own (Store.report_reader), never the writers' one: a month's
export must not queue the robots' writes behind it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Final

import aiosqlite

from ..core.events import STOCK_EVENTS
from .errors import READ_FAILED, translated
from .sqltext import in_range, sql_list

# Seconds between two stored stamps; julianday is exact to about 10 µs, so round to ms.
SECONDS: Final = "round((julianday({end}) - julianday({start})) * 86400.0, 3)"
DAY: Final = in_range("o.created_at")
ORDERS: Final = "orders o INDEXED BY orders_by_created"
TASKS_BY_DAY: Final = "tasks INDEXED BY tasks_by_created"
VISITS_CLOSED: Final = "visits v INDEXED BY visits_by_status"
# A visit belongs to the day it was closed (a check is a sale once it is settled).
CLOSED: Final = f"v.status = 'closed' AND {in_range('v.closed_at')}"
STOCK_SQL: Final = sql_list(STOCK_EVENTS)
# Stock events listed in a report; the counts cover them all.
STOCK_LISTED: Final = 100
# Rows a batch: the loop formats a batch in one go, and aiosqlite's thread builds its rows
# holding the GIL, so this bounds how long an export holds up everything else. Measured on a
# year (docs/benchmarks.md): 250 rows let the robots topic's p99 rise 1.46-1.96x during an
# export, 100 rows 1.18-1.26x, at the same 48,000-68,000 rows/s.
EXPORT_BATCH: Final = 100

ORDER_TIMES: Final = f"""
    SELECT o.created_at, o.status, o.robot_id,
           {SECONDS.format(start="o.created_at", end="o.ready_at")} AS prep_s,
           {SECONDS.format(start="o.ready_at", end="o.served_at")} AS delivery_s
    FROM {ORDERS} WHERE {DAY} ORDER BY o.created_at
"""
# A dish is one row however its name was typed: the menu's name when the menu has it (names
# there are unique without regard to case, as an order's items are routed).
ITEMS_SOLD: Final = f"""
    SELECT coalesce(m.name, json_extract(i.value, '$.name')) AS name,
           coalesce(m.category, '') AS category,
           sum(CASE WHEN o.status != 'cancelled' THEN json_extract(i.value, '$.qty') END) AS qty,
           sum(CASE WHEN o.status = 'cancelled' THEN json_extract(i.value, '$.qty') END)
               AS cancelled_qty,
           count(DISTINCT CASE WHEN o.status != 'cancelled' THEN o.id END) AS orders
    FROM {ORDERS} JOIN json_each(o.items) i
        LEFT JOIN menu m ON m.name = json_extract(i.value, '$.name')
    WHERE {DAY} GROUP BY 1 ORDER BY qty DESC, name
"""
# A station's time: placed until its last item was crossed off, for the orders whose every
# item there is done (a station still cooking has no time yet).
STATION_TIMES: Final = f"""
    SELECT station, seconds FROM (
        SELECT json_extract(i.value, '$.station') AS station,
               {SECONDS.format(start="o.created_at",
                               end="max(json_extract(i.value, '$.done_at'))")} AS seconds,
               min(coalesce(json_extract(i.value, '$.done'), 0)) AS all_done
        FROM {ORDERS} JOIN json_each(o.items) i
        WHERE {DAY} AND o.status != 'cancelled'
        GROUP BY o.id, station)
    WHERE all_done AND seconds IS NOT NULL AND station != ''
    ORDER BY station, seconds
"""
TASKS: Final = f"""
    SELECT kind, status, robot_id, count(*) AS count FROM {TASKS_BY_DAY}
    WHERE {in_range("created_at")} GROUP BY kind, status, robot_id
"""
# A task's time: created until it completed (queued, assigned and on its way included).
TASK_TIMES: Final = f"""
    SELECT kind, {SECONDS.format(start="created_at", end="finished_at")} AS seconds
    FROM {TASKS_BY_DAY}
    WHERE {in_range("created_at")} AND status = 'completed' AND finished_at IS NOT NULL
    ORDER BY kind, seconds
"""
STOCK_COUNTS: Final = f"""
    SELECT type, count(*) AS count FROM events
    WHERE type IN ({STOCK_SQL}) AND {in_range("created_at")} GROUP BY type
"""
STOCK_LIST: Final = f"""
    SELECT id, type, message, data, created_at FROM events
    WHERE type IN ({STOCK_SQL}) AND {in_range("created_at")}
    ORDER BY created_at, id LIMIT {STOCK_LISTED}
"""
# The sales: the checks of the visits closed in the range, as they were when they closed
# (`bill` is the check's JSON, core/money.Check). Sums of integers: SQLite's are exact.
SALES: Final = f"""
    SELECT count(*) AS checks,
           coalesce(sum(coalesce(v.party_size, 0)), 0) AS covers,
           coalesce(sum(json_extract(v.bill, '$.total')), 0) AS gross,
           coalesce(sum(json_extract(v.bill, '$.tax')), 0) AS tax,
           coalesce(sum(json_extract(v.bill, '$.service_charge')), 0) AS service_charge
    FROM {VISITS_CLOSED} WHERE {CLOSED}
"""
SALES_PAYMENTS: Final = f"""
    SELECT p.method, sum(p.amount) AS amount
    FROM {VISITS_CLOSED} JOIN payments p ON p.visit_id = v.id
    WHERE {CLOSED} GROUP BY p.method
"""
# Each dish's lines on those checks, named as ITEMS_SOLD names it.
REVENUE: Final = f"""
    SELECT coalesce(m.name, json_extract(l.value, '$.name')) AS name,
           coalesce(m.category, '') AS category,
           sum(json_extract(l.value, '$.amount')) AS revenue,
           sum(json_extract(l.value, '$.qty')) AS qty
    FROM {VISITS_CLOSED} JOIN json_each(v.bill, '$.lines') l
        LEFT JOIN menu m ON m.name = json_extract(l.value, '$.name')
    WHERE {CLOSED} GROUP BY 1
"""
TURN_TIMES: Final = f"""
    SELECT {SECONDS.format(start="v.opened_at", end="v.closed_at")} AS seconds
    FROM {VISITS_CLOSED} WHERE {CLOSED} ORDER BY seconds
"""
# The parties that joined the line (they have a page's code; one only recorded seated never
# waited) and were seated in the range: joined → seated, and that against their quote.
WAITS: Final = f"""
    SELECT {SECONDS.format(start="c.created_at", end="c.seated_at")} AS seconds,
           c.quoted_wait_s AS quoted_s
    FROM customers c INDEXED BY customers_by_seated
    WHERE {in_range("c.seated_at")} AND c.code IS NOT NULL ORDER BY seconds
"""
# The items come in their order within an order from json_each's walk of the array; adding
# i.key to the ORDER BY made SQLite sort the whole range before the first row.
EXPORT: Final = f"""
    SELECT o.id, o.created_at, o.ready_at, o.served_at, o.status, o.priority, o.table_id,
           t.label, o.robot_id, o.task_id, k.status, o.note,
           json_extract(i.value, '$.name'), json_extract(i.value, '$.qty'),
           json_extract(i.value, '$.station'), json_extract(i.value, '$.modifiers'),
           json_extract(i.value, '$.note'), json_extract(i.value, '$.done_at'),
           coalesce(json_extract(i.value, '$.price'), 0),
           json_extract(i.value, '$.qty') * coalesce(json_extract(i.value, '$.price'), 0),
           o.visit_id
    FROM {ORDERS} JOIN json_each(o.items) i
        LEFT JOIN dining_tables t ON t.id = o.table_id
        LEFT JOIN tasks k ON k.id = o.task_id
    WHERE {DAY} ORDER BY o.created_at, o.id
"""

# One row per payment recorded in the range, in the order they were taken.
PAYMENT_ROWS: Final = f"""
    SELECT p.id, p.visit_id, t.label, p.amount, p.method, p.reference, p.created_at
    FROM payments p INDEXED BY payments_by_created
        LEFT JOIN visits v ON v.id = p.visit_id
        LEFT JOIN dining_tables t ON t.id = v.table_id
    WHERE {in_range("p.created_at")} ORDER BY p.created_at, p.id
"""


class ReportReader:
    """The queries above on one read-only snapshot, each for the range [start, end) of UTC
    stamps (core.days.day_range)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def order_times(self, start: str, end: str) -> list[dict[str, Any]]:
        """Each order placed in the range: its status, robot, prep and delivery seconds."""
        return await self._all(ORDER_TIMES, start, end)

    async def items_sold(self, start: str, end: str) -> list[dict[str, Any]]:
        return await self._all(ITEMS_SOLD, start, end)

    async def station_times(self, start: str, end: str) -> dict[str, list[float]]:
        """Each station's times, sorted, for the orders placed in the range."""
        return await self._grouped(STATION_TIMES, start, end)

    async def tasks(self, start: str, end: str) -> list[dict[str, Any]]:
        return await self._all(TASKS, start, end)

    async def task_times(self, start: str, end: str) -> dict[str, list[float]]:
        """Each kind's completed tasks' times, sorted, for the tasks created in the range."""
        return await self._grouped(TASK_TIMES, start, end)

    async def stock_events(self, start: str, end: str
                           ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """How many of each stock event, and the first STOCK_LISTED of them."""
        counts = {row["type"]: row["count"]
                  for row in await self._all(STOCK_COUNTS, start, end)}
        return counts, await self._all(STOCK_LIST, start, end)

    async def sales(self, start: str, end: str) -> dict[str, Any]:
        """Checks, covers, gross, tax and service charge of the visits closed in the range,
        and what their payments came to by method."""
        [totals] = await self._all(SALES, start, end)
        payments = {row["method"]: row["amount"]
                    for row in await self._all(SALES_PAYMENTS, start, end)}
        return {**totals, "payments": payments}

    async def revenue(self, start: str, end: str) -> list[dict[str, Any]]:
        """Per dish, the amounts and quantity of its lines on the checks closed in the range."""
        return await self._all(REVENUE, start, end)

    async def turn_times(self, start: str, end: str) -> list[float]:
        """Opened → closed of each visit closed in the range, in seconds, sorted."""
        return [row["seconds"] for row in await self._all(TURN_TIMES, start, end)]

    async def waits(self, start: str, end: str) -> list[tuple[float, int | None]]:
        """(seconds waited, seconds quoted) of each party from the line seated in the range,
        sorted by the wait."""
        return [(row["seconds"], row["quoted_s"]) for row in await self._all(WAITS, start, end)]

    def order_item_rows(self, start: str, end: str
                        ) -> AsyncGenerator[list[aiosqlite.Row], None]:
        """One row per order item of the orders placed in the range, EXPORT_BATCH at a time."""
        return self._batches(EXPORT, start, end)

    def payment_rows(self, start: str, end: str) -> AsyncGenerator[list[aiosqlite.Row], None]:
        """One row per payment recorded in the range, EXPORT_BATCH at a time."""
        return self._batches(PAYMENT_ROWS, start, end)

    async def _batches(self, sql: str, start: str, end: str
                       ) -> AsyncGenerator[list[aiosqlite.Row], None]:
        with translated(READ_FAILED):
            async with self._db.execute(sql, {"start": start, "end": end}) as cursor:
                while rows := await cursor.fetchmany(EXPORT_BATCH):
                    yield list(rows)

    async def _all(self, sql: str, start: str, end: str) -> list[dict[str, Any]]:
        with translated(READ_FAILED):
            async with self._db.execute(sql, {"start": start, "end": end}) as cursor:
                return [dict(row) for row in await cursor.fetchall()]

    async def _grouped(self, sql: str, start: str, end: str) -> dict[str, list[float]]:
        """Rows of (name, seconds), sorted by both, as each name's sorted seconds."""
        times: dict[str, list[float]] = {}
        for name, seconds in (tuple(row.values()) for row in await self._all(sql, start, end)):
            times.setdefault(name, []).append(seconds)
        return times

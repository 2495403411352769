"""The SQL of the day's report and the orders export (docs/api.md, "Reports"): each query
reads one range of `created_at` through its index, named (INDEXED BY) so that the planner
cannot pick another: a GROUP BY o.id made it scan every order in rowid order, and a status
condition sent the task times through tasks_by_status, both reading the whole year for a day.
`python -m bench reports` prints each query's plan.

They run on a connection of their own (Store.reading), never the writers' one: a month's
export must not queue the robots' writes behind it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Final

import aiosqlite

from ..core.events import STOCK_EVENTS

# Seconds between two stored stamps; julianday is exact to about 10 µs, so round to ms.
SECONDS = "round((julianday({end}) - julianday({start})) * 86400.0, 3)"
DAY = "o.created_at >= :start AND o.created_at < :end"
STOCK_SQL: Final = ", ".join(f"'{kind}'" for kind in sorted(STOCK_EVENTS))
# Stock events listed in a report; the counts cover them all.
STOCK_LISTED: Final = 100
# Rows a batch: the loop formats a batch in one go, so this bounds how long an export holds up
# everything else (a year's export runs at ~54,000 rows/s, ~19 µs a row end to end: ~5 ms).
EXPORT_BATCH: Final = 250

ORDER_TIMES = f"""
    SELECT o.created_at, o.status, o.robot_id,
           {SECONDS.format(start="o.created_at", end="o.ready_at")} AS prep_s,
           {SECONDS.format(start="o.ready_at", end="o.served_at")} AS delivery_s
    FROM orders o INDEXED BY orders_by_created WHERE {DAY} ORDER BY o.created_at
"""
ITEMS_SOLD = f"""
    SELECT json_extract(i.value, '$.name') AS name, coalesce(m.category, '') AS category,
           sum(CASE WHEN o.status != 'cancelled' THEN json_extract(i.value, '$.qty') END) AS qty,
           sum(CASE WHEN o.status = 'cancelled' THEN json_extract(i.value, '$.qty') END)
               AS cancelled_qty,
           count(DISTINCT CASE WHEN o.status != 'cancelled' THEN o.id END) AS orders
    FROM orders o INDEXED BY orders_by_created JOIN json_each(o.items) i LEFT JOIN menu m
        ON m.name = json_extract(i.value, '$.name')
    WHERE {DAY} GROUP BY 1 ORDER BY qty DESC, name
"""
# A station's time: placed until its last item was crossed off, for the orders whose every
# item there is done (a station still cooking has no time yet).
STATION_TIMES = f"""
    SELECT station, seconds FROM (
        SELECT json_extract(i.value, '$.station') AS station,
               {SECONDS.format(start="o.created_at",
                               end="max(json_extract(i.value, '$.done_at'))")} AS seconds,
               min(coalesce(json_extract(i.value, '$.done'), 0)) AS all_done
        FROM orders o INDEXED BY orders_by_created JOIN json_each(o.items) i
        WHERE {DAY} AND o.status != 'cancelled'
        GROUP BY o.id, station)
    WHERE all_done AND seconds IS NOT NULL AND station != ''
    ORDER BY station, seconds
"""
TASKS = """
    SELECT kind, status, robot_id, count(*) AS count FROM tasks INDEXED BY tasks_by_created
    WHERE created_at >= :start AND created_at < :end GROUP BY kind, status, robot_id
"""
# A task's time: created until it completed (queued, assigned and on its way included).
TASK_TIMES = f"""
    SELECT kind, {SECONDS.format(start="created_at", end="finished_at")} AS seconds
    FROM tasks INDEXED BY tasks_by_created
    WHERE created_at >= :start AND created_at < :end AND status = 'completed'
        AND finished_at IS NOT NULL
    ORDER BY kind, seconds
"""
STOCK_COUNTS = f"""
    SELECT type, count(*) AS count FROM events
    WHERE type IN ({STOCK_SQL}) AND created_at >= :start AND created_at < :end GROUP BY type
"""
STOCK_LIST = f"""
    SELECT id, type, message, data, created_at FROM events
    WHERE type IN ({STOCK_SQL}) AND created_at >= :start AND created_at < :end
    ORDER BY created_at, id LIMIT {STOCK_LISTED}
"""
# The items come in their order within an order from json_each's walk of the array; adding
# i.key to the ORDER BY made SQLite sort the whole range before the first row.
EXPORT = f"""
    SELECT o.id, o.created_at, o.ready_at, o.served_at, o.status, o.priority, o.table_id,
           t.label, o.robot_id, o.task_id, k.status, o.note,
           json_extract(i.value, '$.name'), json_extract(i.value, '$.qty'),
           json_extract(i.value, '$.station'), json_extract(i.value, '$.modifiers'),
           json_extract(i.value, '$.note'), json_extract(i.value, '$.done_at')
    FROM orders o INDEXED BY orders_by_created JOIN json_each(o.items) i
        LEFT JOIN dining_tables t ON t.id = o.table_id
        LEFT JOIN tasks k ON k.id = o.task_id
    WHERE {DAY} ORDER BY o.created_at, o.id
"""


async def _all(db: aiosqlite.Connection, sql: str, start: str, end: str
               ) -> list[dict[str, Any]]:
    async with db.execute(sql, {"start": start, "end": end}) as cursor:
        return [dict(row) for row in await cursor.fetchall()]


async def order_times(db: aiosqlite.Connection, start: str, end: str) -> list[dict[str, Any]]:
    """Each order placed in [start, end): its status, robot, prep and delivery seconds."""
    return await _all(db, ORDER_TIMES, start, end)


async def items_sold(db: aiosqlite.Connection, start: str, end: str) -> list[dict[str, Any]]:
    return await _all(db, ITEMS_SOLD, start, end)


async def station_times(db: aiosqlite.Connection, start: str, end: str
                        ) -> dict[str, list[float]]:
    """Each station's times, sorted, for the orders placed in [start, end)."""
    return await _grouped(db, STATION_TIMES, start, end)


async def tasks(db: aiosqlite.Connection, start: str, end: str) -> list[dict[str, Any]]:
    return await _all(db, TASKS, start, end)


async def task_times(db: aiosqlite.Connection, start: str, end: str) -> dict[str, list[float]]:
    """Each kind's completed tasks' times, sorted, for the tasks created in [start, end)."""
    return await _grouped(db, TASK_TIMES, start, end)


async def _grouped(db: aiosqlite.Connection, sql: str, start: str, end: str
                   ) -> dict[str, list[float]]:
    """Rows of (name, seconds), sorted by both, as each name's sorted seconds."""
    times: dict[str, list[float]] = {}
    for name, seconds in (tuple(row.values()) for row in await _all(db, sql, start, end)):
        times.setdefault(name, []).append(seconds)
    return times


async def stock_events(db: aiosqlite.Connection, start: str, end: str
                       ) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """How many of each stock event, and the first STOCK_LISTED of them."""
    counts = {row["type"]: row["count"] for row in await _all(db, STOCK_COUNTS, start, end)}
    return counts, await _all(db, STOCK_LIST, start, end)


async def order_item_rows(db: aiosqlite.Connection, start: str, end: str
                          ) -> AsyncGenerator[list[aiosqlite.Row], None]:
    """One row per order item of the orders placed in [start, end), EXPORT_BATCH at a time."""
    async with db.execute(EXPORT, {"start": start, "end": end}) as cursor:
        while rows := await cursor.fetchmany(EXPORT_BATCH):
            yield list(rows)

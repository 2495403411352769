"""The restaurant's numbers for a day, and its orders and payments as rows for the accountant
(docs/api.md, "Reports"): what the dashboard's Today view, the expo's prep times and the CSV
exports read."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import aclosing, asynccontextmanager
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

import orjson

from ..core.days import WallClock, day_range, parse_day
from ..core.durations import spread
from ..core.models import OrderStatus, TaskKind
from ..store.store import Store
from .sales import sales, waits, with_revenue

EXPORT_COLUMNS: Final = (
    "order_id", "placed_at", "ready_at", "served_at", "status", "priority", "table_id",
    "table", "robot_id", "task_id", "task_status", "order_note", "item", "qty", "station",
    "modifiers", "item_note", "item_done_at", "unit_price", "amount", "visit_id")
# The columns of EXPORT_COLUMNS that hold a stored UTC stamp, shown in the restaurant's time.
_STAMPS: Final = tuple(EXPORT_COLUMNS.index(name) for name in (
    "placed_at", "ready_at", "served_at", "item_done_at"))
_MODIFIERS: Final = EXPORT_COLUMNS.index("modifiers")
# The columns of EXPORT_COLUMNS that hold what people typed (staff, or guests at a table).
TYPED_COLUMNS: Final = tuple(EXPORT_COLUMNS.index(name) for name in (
    "table", "robot_id", "order_note", "item", "station", "modifiers", "item_note"))
PAYMENT_COLUMNS: Final = (
    "id", "visit_id", "table", "amount", "method", "reference", "created_at")
# The columns of PAYMENT_COLUMNS that people typed: a table's label, a slip's reference.
PAYMENT_TYPED: Final = (PAYMENT_COLUMNS.index("table"), PAYMENT_COLUMNS.index("reference"))
_PAID_AT: Final = PAYMENT_COLUMNS.index("created_at")
_HOUR: Final = timedelta(hours=1)
# A row of the store as a row of the file, times in the restaurant's zone.
Shape = Callable[[Iterable[Any], WallClock], list[Any]]


class Daybook:
    """Reads the store on a connection of its own (Store.report_reader) in the restaurant's
    zone."""

    def __init__(self, store: Store, zone: tzinfo, stations: list[str]) -> None:
        self._store = store
        # The restaurant's zone: what a day is, and how the export shows times.
        self.zone = zone
        self._stations = stations

    async def daily(self, day: date) -> dict[str, Any]:
        """The day's report: orders placed that day, with what became of them so far."""
        start, end = day_range(day, day, self.zone)
        async with self._store.report_reader() as reader:
            times = await reader.order_times(start, end)
            items = await reader.items_sold(start, end)
            stations = await reader.station_times(start, end)
            tasks = await reader.tasks(start, end)
            task_times = await reader.task_times(start, end)
            stock_counts, stock_events = await reader.stock_events(start, end)
            sold = await reader.sales(start, end)
            revenue = await reader.revenue(start, end)
            turns = await reader.turn_times(start, end)
            seated = await reader.waits(start, end)
        return {
            "date": day.isoformat(), "timezone": str(self.zone), "from": start, "to": end,
            "orders": {"total": len(times), "by_status": _by_status(times)},
            "sales": sales(sold),
            "items": with_revenue(items, revenue),
            "prep_time": spread(_sorted(row["prep_s"] for row in times)),
            "delivery_time": spread(_sorted(row["delivery_s"] for row in times)),
            "stations": self._station_spreads(stations),
            "robots": _robots(times, tasks),
            "tasks": _tasks(tasks),
            "task_time": {kind.value: spread(task_times.get(kind, [])) for kind in TaskKind},
            "stock": {"counts": stock_counts, "events": [
                {**event, "data": orjson.loads(event["data"])} for event in stock_events]},
            "turn_time": spread(turns),
            "wait": waits(seated),
            "hours": self._hours(start, end, times),
        }

    async def station_prep(self, day: date | None = None) -> dict[str, Any]:
        """Each station's prep time over the orders placed on `day` (today by default): what
        the expo shows."""
        day = day or self.today()
        start, end = day_range(day, day, self.zone)
        async with self._store.report_reader() as reader:
            times = await reader.station_times(start, end)
        return {"date": day.isoformat(), "stations": self._station_spreads(times)}

    def today(self) -> date:
        """Today in the restaurant's zone, whatever the box's clock says of its own."""
        return parse_day(None, self.zone)

    @asynccontextmanager
    async def export(self, first: date, last: date) -> AsyncIterator[Export]:
        """EXPORT_COLUMNS rows, one per order item of the orders placed from `first` to `last`
        (both included), a batch at a time, read from one snapshot of the file.

        The range is checked, the snapshot opened and the first batch read on entering: a
        caller that starts its answer only then answers a refusal (a bad range, a database
        that cannot be read) as an error, not as a cut file.
        """
        start, end = day_range(first, last, self.zone)
        async with self._store.report_reader() as reader, aclosing(
                reader.order_item_rows(start, end)) as batches:
            yield await self._export(batches, _row)

    @asynccontextmanager
    async def payments(self, first: date, last: date) -> AsyncIterator[Export]:
        """PAYMENT_COLUMNS rows, one per payment recorded from `first` to `last` (both
        included), as `export` reads its rows."""
        start, end = day_range(first, last, self.zone)
        async with self._store.report_reader() as reader, aclosing(
                reader.payment_rows(start, end)) as batches:
            yield await self._export(batches, _payment_row)

    async def _export(self, batches: AsyncGenerator[list[Any], None], shape: Shape) -> Export:
        return Export(await anext(batches, []), batches, WallClock(self.zone), shape)

    def _station_spreads(self, times: dict[str, list[float]]) -> dict[str, Any]:
        names = list(self._stations) + sorted(set(times) - set(self._stations))
        return {name: spread(times.get(name, [])) for name in names}

    def _hours(self, start: str, end: str, times: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Orders placed and their delivery time, per hour of the day (23 or 25 on the days
        the clocks change): the chart of the Today view."""
        first = datetime.fromisoformat(start)
        # Lord Howe's clocks move by 30 minutes: its days of 23.5 and 24.5 hours end on a half.
        count = math.ceil((datetime.fromisoformat(end) - first) / _HOUR)
        placed: list[int] = [0] * count
        delivered: list[list[float]] = [[] for _ in range(count)]
        for row in times:
            hour = min(count - 1, int((datetime.fromisoformat(row["created_at"]) - first)
                                      / _HOUR))
            placed[hour] += 1
            if row["delivery_s"] is not None:
                delivered[hour].append(row["delivery_s"])
        return [{"start": (first + n * _HOUR).astimezone(self.zone).isoformat(),
                 "orders": placed[n],
                 "delivery_median_s": spread(sorted(delivered[n]))["median_s"]}
                for n in range(count)]


class Export:
    """An export's batches of rows, its first batch already read (Daybook.export and
    Daybook.payments), each row shaped for the file."""

    def __init__(self, first: list[Any], rest: AsyncIterator[list[Any]],
                 clock: WallClock, shape: Shape) -> None:
        self._first: list[Any] | None = first
        self._rest = rest
        self._clock = clock
        self._shape = shape

    def __aiter__(self) -> Export:
        return self

    async def __anext__(self) -> list[list[Any]]:
        batch, self._first = self._first, None
        if not batch:
            batch = await anext(self._rest)  # StopAsyncIteration: the last one was sent
        return [self._shape(row, self._clock) for row in batch]


def _row(row: Iterable[Any], clock: WallClock) -> list[Any]:
    values = list(row)
    for column in _STAMPS:
        values[column] = clock(values[column])
    modifiers = values[_MODIFIERS]
    values[_MODIFIERS] = "; ".join(orjson.loads(modifiers)) if modifiers else ""
    return values


def _payment_row(row: Iterable[Any], clock: WallClock) -> list[Any]:
    values = list(row)
    values[_PAID_AT] = clock(values[_PAID_AT])
    return values


def _sorted(values: Iterable[float | None]) -> list[float]:
    return sorted(value for value in values if value is not None)


def _by_status(times: list[dict[str, Any]]) -> dict[str, int]:
    counted = Counter(row["status"] for row in times)
    return {status.value: counted.get(status, 0) for status in OrderStatus}


def _tasks(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Tasks created that day, per kind and what became of them."""
    kinds: dict[str, Counter[str]] = {kind.value: Counter() for kind in TaskKind}
    for row in rows:
        kinds.setdefault(row["kind"], Counter())[row["status"]] += row["count"]
    return {kind: dict(counted) for kind, counted in kinds.items()}


def _robots(times: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per robot: the orders it served, their delivery time, its delivery tasks' outcomes."""
    served: dict[str, list[float | None]] = {}
    for row in times:
        if row["status"] == OrderStatus.SERVED and row["robot_id"]:
            served.setdefault(row["robot_id"], []).append(row["delivery_s"])
    outcomes: dict[str, Counter[str]] = {}
    for row in tasks:
        if row["kind"] == TaskKind.DELIVER and row["robot_id"]:
            outcomes.setdefault(row["robot_id"], Counter())[row["status"]] += row["count"]
    return [{"robot_id": robot, "orders_served": len(served.get(robot, [])),
             "delivery_time": spread(_sorted(served.get(robot, []))),
             "deliver_tasks": dict(outcomes.get(robot, Counter()))}
            for robot in sorted(set(served) | set(outcomes))]

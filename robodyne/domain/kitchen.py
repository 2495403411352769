"""The kitchen's own numbers: today's prep time per station (docs/api.md, "Kitchen")."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, time, timezone, tzinfo
from typing import Any

from ..core.models import Order, iso
from ..store.store import Store


def _percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: a value that was really measured, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def station_times(orders: list[Order]) -> dict[str, list[float]]:
    """Seconds from placed until the last item at each station was done, per station, for
    the orders whose every item there is done."""
    times: dict[str, list[float]] = {}
    for order in orders:
        placed = datetime.fromisoformat(order.created_at)
        by_station: dict[str, list[str | None]] = {}
        for item in order.items:
            by_station.setdefault(item.station, []).append(item.done_at if item.done else None)
        for station, stamps in by_station.items():
            if all(stamps):
                last = max(datetime.fromisoformat(stamp) for stamp in stamps if stamp)
                times.setdefault(station, []).append((last - placed).total_seconds())
    return times


async def prep_times(store: Store, stations: list[str], zone: tzinfo,
                     now: datetime | None = None) -> dict[str, Any]:
    """Today's (in the restaurant's zone) station times: count, median and 90th percentile."""
    local_now = (now or datetime.now(timezone.utc)).astimezone(zone)
    midnight = datetime.combine(local_now.date(), time(), tzinfo=zone)
    orders = await store.orders_since(iso(midnight.astimezone(timezone.utc)))
    times = station_times(orders)
    return {"date": local_now.date().isoformat(), "stations": {
        station: {"count": len(times.get(station, [])),
                  "median_s": statistics.median(times[station]) if times.get(station) else None,
                  "p90_s": _percentile(times.get(station, []), 0.9)}
        for station in stations}}


class KitchenStats:
    """Today's prep times for the expo screen, in the restaurant's day."""

    def __init__(self, store: Store, stations: list[str], zone: tzinfo) -> None:
        self._store = store
        self._stations = stations
        self._zone = zone

    async def prep_times(self) -> dict[str, Any]:
        return await prep_times(self._store, self._stations, self._zone)

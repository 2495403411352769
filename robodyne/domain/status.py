"""The status topic's one item: health, uptime, connections, robots, open orders, tasks."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import suppress
from typing import Any, Final

from .. import __version__
from ..core.models import TaskStatus
from ..core.orders import CLOSED_ORDER_STATUSES
from ..core.tasks import ACTIVE
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store

# At most one status update per window, however busy the robots and orders topics are.
COALESCE_S: Final = 1.0
# Even when nothing else changes, uptime moves: it alone refreshes the item this often.
REFRESH_S: Final = 10.0


def _without_uptime(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in item.items() if k != "uptime_s"}


class StatusReporter:
    """Builds the status item and republishes it, coalesced, when its inputs change.

    It listens to the hub like any reader of its views: woken by every publish and every
    subscriber coming or going (connections are part of the item), and by the store's health
    flipping; its own publish wakes it once, to find nothing new.
    """

    def __init__(self, hub: Hub, store: Store) -> None:
        self._hub = hub
        self._store = store
        self._started_at = time.monotonic()
        self._published_at = float("-inf")
        self._changed = asyncio.Event()

    @property
    def health(self) -> str:
        return "ok" if self._store.healthy else "degraded"

    def build(self) -> dict[str, Any]:
        hub = self._hub
        robots, _ = hub.snapshot(Topic.ROBOTS)
        orders, _ = hub.snapshot(Topic.ORDERS)
        tasks, _ = hub.snapshot(Topic.TASKS)
        open_orders = Counter(o["status"] for o in orders
                              if o["status"] not in CLOSED_ORDER_STATUSES)
        return {
            "health": self.health,
            "uptime_s": int(time.monotonic() - self._started_at),
            "version": __version__,
            "epoch": hub.epoch,
            "connections": hub.connections(),
            "robots": {
                "total": len(robots),
                "online": sum(1 for r in robots if r["connected"]),
                "items": [
                    {key: r[key] for key in ("id", "name", "status", "battery", "pose")}
                    for r in robots
                ],
            },
            "orders": {"open": sum(open_orders.values()), "by_status": dict(open_orders)},
            "tasks": {"queued": sum(1 for t in tasks if t["status"] == TaskStatus.QUEUED),
                      "active": sum(1 for t in tasks if t["status"] in ACTIVE)},
        }

    def publish_if_changed(self) -> None:
        """Publish the item if anything but uptime changed, or uptime is REFRESH_S stale."""
        item = self.build()
        current, _ = self._hub.snapshot(Topic.STATUS)
        held = current[0] if current else None
        fresh = time.monotonic() - self._published_at < REFRESH_S
        if fresh and _without_uptime(held) == _without_uptime(item):
            return
        self._published_at = time.monotonic()
        self._hub.publish(Topic.STATUS, "upsert", [item])

    def _health_flipped(self, healthy: bool) -> None:
        self._changed.set()

    async def run(self) -> None:
        self._store.on_health.append(self._health_flipped)
        try:
            with self._hub.listening(self._hub.topics, self._changed):
                while True:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that
                    # lands as the wait ends (tests/unit/test_cancellation.py), and cleanup
                    # hung on it.
                    with suppress(TimeoutError):
                        async with asyncio.timeout(REFRESH_S):
                            await self._changed.wait()
                    self._changed.clear()
                    self.publish_if_changed()
                    await asyncio.sleep(COALESCE_S)
        finally:
            self._store.on_health.remove(self._health_flipped)

"""The status topic's one item: health, uptime, connections, robots and open orders."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Final

from . import __version__
from .hub import Hub
from .models import CLOSED_ORDER_STATUSES
from .storage import Store

# At most one status update per window, however busy the robots and orders topics are.
COALESCE_S: Final = 1.0
# Even when nothing changes, uptime moves: refresh at least this often.
REFRESH_S: Final = 10.0


class StatusReporter:
    """Builds the status item and republishes it, coalesced, when its inputs change."""

    def __init__(self, hub: Hub, store: Store) -> None:
        self._hub = hub
        self._store = store
        self._started_at = asyncio.get_running_loop().time()
        self._dirty = asyncio.Event()
        self._publishing = False
        hub.watch(self._changed)
        store.on_health.append(lambda healthy: self._dirty.set())

    @property
    def health(self) -> str:
        return "ok" if self._store.healthy else "degraded"

    def _changed(self, topic: str) -> None:
        if topic != "status" or not self._publishing:
            self._dirty.set()

    def build(self) -> dict[str, Any]:
        hub = self._hub
        robots, _ = hub.snapshot("robots")
        orders, _ = hub.snapshot("orders")
        open_orders = Counter(o["status"] for o in orders if o["status"] not in CLOSED_ORDER_STATUSES)
        loop_time = asyncio.get_running_loop().time()
        return {
            "health": self.health,
            "uptime_s": int(loop_time - self._started_at),
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
        }

    def publish_if_changed(self) -> None:
        item = self.build()
        current, _ = self._hub.snapshot("status")
        if current == [item]:
            return
        self._publishing = True
        try:
            self._hub.publish("status", "upsert", [item])
        finally:
            self._publishing = False

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), timeout=REFRESH_S)
            except TimeoutError:
                pass
            self._dirty.clear()
            self.publish_if_changed()
            await asyncio.sleep(COALESCE_S)

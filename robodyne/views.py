"""What each topic's snapshot holds, kept in memory and updated by every publish."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta, timezone
from typing import Any

from .const import CLOSED_ORDER_WINDOW_S

Record = dict[str, Any]


def _by_id(item: Record) -> Hashable:
    return item["id"]  # type: ignore[no-any-return]


class KeyedView:
    """Every item of a state topic, by id, in insertion order."""

    def __init__(self, key: Callable[[Record], Hashable] = _by_id) -> None:
        self._key = key
        self._items: dict[Hashable, Record] = {}

    def apply(self, kind: str, items: list[Record], ids: list[Any] | None) -> None:
        if kind == "snapshot":
            self._items = {self._key(item): item for item in items}
        elif kind in ("upsert", "append"):
            for item in items:
                self._items[self._key(item)] = item
        elif kind == "delete":
            for item_id in ids or ():
                self._items.pop(item_id, None)

    def items(self) -> list[Record]:
        return list(self._items.values())


class OrdersView(KeyedView):
    """Open orders, and closed ones only while they are younger than the window."""

    def items(self) -> list[Record]:
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=CLOSED_ORDER_WINDOW_S)).isoformat(
            timespec="milliseconds"
        ).replace("+00:00", "Z")
        stale = [
            key for key, order in self._items.items()
            if order["status"] in ("served", "cancelled") and order["updated_at"] < cutoff
        ]
        for key in stale:
            del self._items[key]
        return super().items()


class RecentView:
    """The newest `limit` records of a log topic, oldest first; acks may upsert one."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Record] = deque(maxlen=limit)

    def apply(self, kind: str, items: list[Record], ids: list[Any] | None) -> None:
        if kind == "snapshot":
            self._items.clear()
            self._items.extend(items)
        elif kind == "append":
            self._items.extend(items)
        elif kind == "upsert":
            changed = {item["id"]: item for item in items}
            for index, held in enumerate(self._items):
                if held["id"] in changed:
                    self._items[index] = changed[held["id"]]
        elif kind == "delete":
            gone = set(ids or ())
            kept = [item for item in self._items if item["id"] not in gone]
            self._items.clear()
            self._items.extend(kept)

    def items(self) -> list[Record]:
        return list(self._items)


View = KeyedView | RecentView


def view_for(topic: str, snapshot_limit: int) -> View:
    if topic in ("events", "systemlogs"):
        return RecentView(snapshot_limit)
    if topic == "orders":
        return OrdersView()
    if topic == "status":
        return KeyedView(key=lambda item: "status")
    return KeyedView()

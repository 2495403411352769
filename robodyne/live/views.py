"""The kinds of in-memory snapshot a topic can keep, each updated by every publish.

Which topic keeps which is the domain's choice (domain/views.py); the hub only holds them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

Record = dict[str, Any]


def _by_id(item: Record) -> Hashable:
    key: Hashable = item["id"]
    return key


class KeyedView:
    """Every item of a state topic, by id, in insertion order."""

    # A snapshot serialised for one seq serves every subscriber until the next publish.
    cacheable = True

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

    def get(self, key: Hashable) -> Record | None:
        """The item with this key, if the view holds it."""
        return self._items.get(key)


class SortedView(KeyedView):
    """A keyed view read in the order `order` puts its items in (a snapshot and GET alike)."""

    def __init__(self, order: Callable[[list[Record]], list[Record]]) -> None:
        super().__init__()
        self._order = order

    def items(self) -> list[Record]:
        return self._order(super().items())


class ExpiringView(KeyedView):
    """A keyed view whose items can age out with time, without any publish."""

    # Items age out with the clock, so a snapshot is never reused across reads.
    cacheable = False

    def __init__(self, expiry: Callable[[], Callable[[Record], bool]]) -> None:
        """`expiry()` gives, at the moment of reading, the test an aged-out item passes."""
        super().__init__()
        self._expiry = expiry

    def items(self) -> list[Record]:
        expired = self._expiry()
        for key in [key for key, item in self._items.items() if expired(item)]:
            del self._items[key]
        return super().items()


class RecentView:
    """The newest `limit` records of a log topic, oldest first; acks may upsert one."""

    cacheable = True

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

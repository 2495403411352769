"""How long until a robot reaches a table (the guest view's `eta_s`, docs/protocol.md, "Keyed
streams"), and how often a change of it alone may be published."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Final, Generic, NamedTuple, TypeVar

from ..core.floor import Point
from ..core.models import StopStatus, TaskStop
from ..core.tasks import CLOSED_STOP_STATUSES

K = TypeVar("K", bound=Hashable)
# A change of eta_s alone reaches a table's guests at most this often.
ETA_ONLY_EVERY_S: Final = 1.0


class Eta(NamedTuple):
    """Seconds until the robot is at the table (None: unknown), and whether it is there now."""

    eta_s: int | None
    at_table: bool


UNKNOWN: Final = Eta(None, False)
AT_TABLE: Final = Eta(0, True)


def eta(pose: Point | None, stops: Sequence[TaskStop], positions: Mapping[int, Point],
        table_id: int, *, speed_mps: float, dwell_s: float) -> Eta:
    """The robot's straight-line way from `pose` through its open stops in order up to this
    table, over `speed_mps`, plus `dwell_s` at each open stop before it.

    `positions` holds the tables whose place is known. Unknown: no open stop at this table, no
    pose, or a table on the way (this one included) with no position.
    """
    ahead = [stop for stop in stops if stop.status not in CLOSED_STOP_STATUSES]
    mine = next((n for n, stop in enumerate(ahead) if stop.table_id == table_id), None)
    if mine is None:
        return UNKNOWN
    if ahead[mine].status is StopStatus.ARRIVED:
        return AT_TABLE
    if pose is None:
        return UNKNOWN
    way = [pose]
    for stop in ahead[:mine + 1]:
        position = positions.get(stop.table_id)
        if position is None:
            return UNKNOWN
        way.append(position)
    metres = sum(math.dist(a, b) for a, b in zip(way, way[1:]))
    seconds = metres / speed_mps + dwell_s * mine
    # Half up, as people round (Python's round() would show 30.5 s as 30 but 31.5 s as 32).
    return Eta(math.floor(seconds + 0.5), False)


class EtaThrottle(Generic[K]):
    """Which views to publish now: any change at once, a change of eta_s alone at most once
    every `every_s` per key; what it holds back goes out with the key's next change, or when
    `overdue` finds its second has passed."""

    def __init__(self, clock: Callable[[], float], every_s: float = ETA_ONLY_EVERY_S) -> None:
        self._clock = clock
        self._every_s = every_s
        self._published_at: dict[K, float] = {}
        self._held: set[K] = set()

    def __len__(self) -> int:
        """How many keys it remembers a publish of."""
        return len(self._published_at)

    @property
    def holding(self) -> bool:
        """Whether a change is held back, waiting for its second."""
        return bool(self._held)

    def due(self, key: K, eta_only: bool) -> bool:
        """Whether a change of `key`'s view goes out now; a True is counted as published."""
        now = self._clock()
        if eta_only and now - self._published_at.get(key, -math.inf) < self._every_s:
            self._held.add(key)
            return False
        self._published_at[key] = now
        self._held.discard(key)
        return True

    def overdue(self) -> list[K]:
        """The keys holding back a change whose second has passed, counted as published now:
        their latest view goes out. Called on a tick, it also forgets keys long quiet."""
        now = self._clock()
        ready = [key for key in self._held if now - self._published_at[key] >= self._every_s]
        self._held.difference_update(ready)
        # A key quiet for a whole window is due at once anyway: holding it changes nothing.
        self._published_at = {key: at for key, at in self._published_at.items()
                              if now - at < self._every_s or key in self._held}
        for key in ready:
            self._published_at[key] = now
        return ready

"""A sliding-window rate per key, without I/O or a clock: how many lines each robot may send
in any WINDOW_S seconds (SPEC §4, `tcp.max_lines_per_min`)."""

from __future__ import annotations

from collections import deque
from typing import Final

WINDOW_S: Final = 60.0


class SlidingRate:
    """At most `limit` allowed calls per key in any `window_s`; a refused call is not counted.

    Each key holds the times of its allowed calls in the window (at most `limit` of them), so a
    key's cost is bounded whatever it sends; keys whose window is empty are let go.
    """

    def __init__(self, limit: int, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Whether one more call of `key` at `now` is within the limit (and count it if so)."""
        times = self._times.get(key)
        if times is None:
            times = self._times[key] = deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def forget_idle(self, now: float) -> None:
        """Let go of the keys with nothing in their window."""
        for key in [k for k, times in self._times.items()
                    if not times or times[-1] <= now - self.window_s]:
            del self._times[key]

    def __len__(self) -> int:
        return len(self._times)

"""A clock the tests move by hand: throttles and idle timers without sleeping."""

from __future__ import annotations


class Clock:
    """A monotonic clock that reads `now`, which the test sets."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

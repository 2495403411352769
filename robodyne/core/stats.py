"""What the server counts about itself: plain ints bumped on the hot paths, read by /metrics."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import Final

LATENCY_BOUNDS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                         2.5, 5.0)


class Buckets:
    """A latency histogram as plain ints: cheap enough to observe every frame sent."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds


class Stats:
    """Everything the server counts about itself."""

    def __init__(self) -> None:
        self.ws_messages: Counter[str] = Counter()
        self.ws_bytes: Counter[str] = Counter()
        self.ws_closed: Counter[str] = Counter()
        self.tcp_lines: Counter[str] = Counter()
        self.tcp_errors: Counter[str] = Counter()
        self.db_write = Buckets()
        self.publish_to_socket = Buckets()
        self.loop_lag = 0.0

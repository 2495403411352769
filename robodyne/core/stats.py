"""What the server counts about itself: plain ints bumped on the hot paths, read by /metrics."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from datetime import datetime
from typing import Final

LATENCY_BOUNDS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                         2.5, 5.0)


# Seconds from an order ready to it served by a robot: a trip takes tens of seconds.
DELIVERY_BOUNDS: Final = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
                          1200.0)
# Seconds the dispatcher takes to choose robots for the queue, once.
DECISION_BOUNDS: Final = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)


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
        # Connections closed at once for tcp.max_pending (robots/server.py).
        self.tcp_pending_refused = 0
        self.db_write = Buckets()
        self.publish_to_socket = Buckets()
        self.loop_lag = 0.0
        self.ready_to_served = Buckets(DELIVERY_BOUNDS)
        self.dispatch_decisions = Buckets(DECISION_BOUNDS)
        # Finished tasks by (kind, final status).
        self.tasks_finished: Counter[tuple[str, str]] = Counter()
        # Scheduled backups (domain.backups): the last good one (Unix time, 0: none yet), how
        # long it took and how big it is, and how many succeeded and failed since start.
        self.backup_last_success = 0.0
        self.backup_last_duration = 0.0
        self.backup_last_size = 0
        self.backups = 0
        self.backup_failures = 0

    def observe_delivery(self, ready_at: str, served_at: str) -> None:
        """One order a robot delivered: the seconds from ready to served."""
        self.ready_to_served.observe((datetime.fromisoformat(served_at)
                                      - datetime.fromisoformat(ready_at)).total_seconds())

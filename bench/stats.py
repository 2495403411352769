"""A latency histogram with 0.1 ms buckets that load processes can merge."""

from __future__ import annotations

from typing import Any

RESOLUTION_S = 0.0001
TOP_BUCKET = 100_000  # 10 s; slower lands in the last bucket


class Histogram:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.worst = 0.0

    def add(self, seconds: float) -> None:
        bucket = min(TOP_BUCKET, max(0, int(seconds / RESOLUTION_S)))
        self.counts[bucket] = self.counts.get(bucket, 0) + 1
        self.worst = max(self.worst, seconds)

    def merge(self, other: Histogram) -> None:
        for bucket, count in other.counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.worst = max(self.worst, other.worst)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentile(self, p: float) -> float | None:
        """The latency in ms at percentile p (0-100); None without samples."""
        total = self.total
        if not total:
            return None
        rank, running = p / 100 * total, 0
        for bucket in sorted(self.counts):
            running += self.counts[bucket]
            if running >= rank:
                return (bucket + 0.5) * RESOLUTION_S * 1000
        return self.worst * 1000

    def summary(self) -> dict[str, float | int | None]:
        return {"samples": self.total, "p50_ms": self.percentile(50), "p90_ms": self.percentile(90),
                "p99_ms": self.percentile(99), "max_ms": self.worst * 1000 if self.total else None}

    def to_json(self) -> dict[str, Any]:
        return {"counts": {str(k): v for k, v in self.counts.items()}, "worst": self.worst}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls()
        histogram.counts = {int(k): v for k, v in data["counts"].items()}
        histogram.worst = data["worst"]
        return histogram

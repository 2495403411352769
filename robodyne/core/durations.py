"""Durations summarised the way a kitchen reads them: how many, the median, the 90th
percentile (docs/api.md, "Reports")."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted `values`: a value really measured, never
    interpolated."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


def spread(values: Sequence[float]) -> dict[str, Any]:
    """count, median_s and p90_s of sorted `values` (None when there are none)."""
    return {"count": len(values),
            "median_s": round(statistics.median(values), 3) if values else None,
            "p90_s": round(value, 3) if (value := percentile(values, 0.9)) is not None
            else None}

"""The day's sales (SPEC §12.5, docs/api.md "Reports"): the checks of the visits closed that
day summed, each dish's revenue beside its quantities, how long the tables turned, and how
long the parties from the line waited against their quotes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..core.durations import spread
from ..core.models import PaymentMethod
from ..core.money import half_up


def sales(totals: dict[str, Any]) -> dict[str, Any]:
    """The report's `sales` from the store's sums (ReportReader.sales): the average check is
    gross / checks rounded half up to the minor unit (0 with no checks), and every method of
    payment is listed, 0 when unused. Integers throughout."""
    checks: int = totals["checks"]
    gross: int = totals["gross"]
    paid: dict[str, int] = totals["payments"]
    return {
        "checks": checks, "covers": totals["covers"], "gross": gross, "tax": totals["tax"],
        "service_charge": totals["service_charge"],
        "average_check": half_up(Fraction(gross, checks)) if checks else 0,
        "payments": {method.value: paid.get(method, 0) for method in PaymentMethod},
    }


def waits(seated: list[tuple[float, int | None]]) -> dict[str, Any]:
    """The report's `wait` from (waited, quoted) in seconds, sorted by the wait: the spread of
    the waits, and the median of waited minus quoted over the parties that had a quote
    (positive: they waited longer than they were told)."""
    over = sorted(waited - quoted for waited, quoted in seated if quoted is not None)
    return {**spread([waited for waited, _ in seated]),
            "over_quote_median_s": spread(over)["median_s"]}


def with_revenue(items: list[dict[str, Any]], revenue: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The day's items sold (orders placed that day), each with the `revenue` and
    `revenue_qty` of its lines on the checks closed that day; a dish on those checks alone
    (ordered the day before) is a row of its own with qty 0. Sorted by qty, then revenue,
    most first, then name."""
    earned = {row["name"]: row for row in revenue}
    rows = []
    for item in items:
        row = earned.pop(item["name"], None)
        rows.append({**item, "qty": item["qty"] or 0,
                     "cancelled_qty": item["cancelled_qty"] or 0,
                     "revenue": row["revenue"] if row else 0,
                     "revenue_qty": row["qty"] if row else 0})
    rows += [{"name": name, "category": row["category"], "qty": 0, "cancelled_qty": 0,
              "orders": 0, "revenue": row["revenue"], "revenue_qty": row["qty"]}
             for name, row in earned.items()]
    return sorted(rows, key=lambda row: (-row["qty"], -row["revenue"], row["name"]))

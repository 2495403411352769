"""A visit's life (SPEC §12.1): when a closed one leaves the visits snapshot, and what a table
must be for an order to open one."""

from __future__ import annotations

from typing import Final

from .models import OrderSource, TableStatus, VisitStatus

# No visit opens on a table that is out of service; a guest's order opens one only on a table
# that is free (one needing cleaning or reserved waits for staff).
SEATS_NOBODY: Final = frozenset({TableStatus.OUT_OF_SERVICE})
SEATS_GUESTS: Final = frozenset({TableStatus.AVAILABLE})


def expired(visit: dict[str, object], cutoff: str) -> bool:
    """Whether a visit record is closed and was closed before `cutoff` (the closed orders'
    cutoff, core/orders.closed_cutoff: a closed visit stays as long as its orders do)."""
    return visit["status"] == VisitStatus.CLOSED and str(visit["closed_at"] or "") < cutoff


def opens_for(source: OrderSource, status: TableStatus) -> bool:
    """Whether an order from `source` may open a visit on a table in `status`."""
    if source is OrderSource.GUEST:
        return status in SEATS_GUESTS
    return status not in SEATS_NOBODY

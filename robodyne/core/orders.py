"""The order lifecycle (docs/api.md, "The order state machine"): the moves an order may make,
and when a closed one leaves the snapshot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Final

from .models import Order, OrderStatus, iso

S = OrderStatus
# The only moves an order may make; anything else is a 409.
TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    S.PLACED: frozenset({S.PREPARING, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY, S.PLACED, S.CANCELLED}),
    S.READY: frozenset({S.DELIVERING, S.SERVED, S.PREPARING, S.CANCELLED}),
    S.DELIVERING: frozenset({S.SERVED, S.READY, S.CANCELLED}),
    S.SERVED: frozenset(),
    S.CANCELLED: frozenset(),
}
CLOSED_ORDER_STATUSES: Final = frozenset(s for s, moves in TRANSITIONS.items() if not moves)

# Told of every order that moved: its status before, the order now, and whether the move
# was the dispatcher's own (a task carrying it) rather than a person's or a robot's.
OrderWatcher = Callable[[OrderStatus, Order, bool], Awaitable[None]]

# The kitchen's bump moves a ticket one step on, its recall one step back; the page is
# handed these (data attributes) rather than restating them.
KITCHEN_NEXT: Final = {S.PLACED: S.PREPARING, S.PREPARING: S.READY, S.READY: S.SERVED}
KITCHEN_BACK: Final = {S.PREPARING: S.PLACED, S.READY: S.PREPARING}

# Orders closed longer ago than this drop out of the orders snapshot.
CLOSED_ORDER_WINDOW_S: Final = 3600


def gives_back(order: Order, status: OrderStatus | None) -> bool:
    """Whether moving the order (as it is before the move) to `status` gives its ingredients
    back to the stock: it is cancelled now, and none of its items is done (nothing of it was
    cooked)."""
    return (status is S.CANCELLED and order.status is not S.CANCELLED
            and not any(item.done for item in order.items))


def closed_cutoff(now: datetime | None = None) -> str:
    """The updated_at before which a closed order has left the orders snapshot."""
    return iso((now or datetime.now(timezone.utc)) - timedelta(seconds=CLOSED_ORDER_WINDOW_S))


def expired(order: dict[str, object], cutoff: str) -> bool:
    """Whether an order record is closed and was last changed before `cutoff`."""
    return order["status"] in CLOSED_ORDER_STATUSES and str(order["updated_at"]) < cutoff

"""The demo's guests' phones without HTTP (tests/integration/test_demo_guests.py has them over
HTTP), for driving the demo's life on the domain alone."""

from __future__ import annotations

from robodyne.core.calls import CallKind
from robodyne.core.models import OrderLine
from robodyne.demo.guest import GuestLine

from .domain import Domain


class DeskPhones:
    """The demo's phones without HTTP (tests/integration/test_demo_guests.py has them over
    HTTP): a party's lines placed for its table through the restaurant, and what it asked."""

    def __init__(self, domain: Domain) -> None:
        self._restaurant = domain.restaurant
        self.asked: list[tuple[int, list[GuestLine], CallKind | None]] = []

    async def order(self, table_id: int, lines: list[GuestLine], call: CallKind | None) -> bool:
        self.asked.append((table_id, lines, call))
        await self._restaurant.place_order(
            table_id, [OrderLine.model_validate(line) for line in lines], "")
        return True

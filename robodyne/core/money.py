"""Money: integers in the minor unit of `restaurant.currency` (docs/api.md, "Prices"), and every
sum the server makes of them — a line's unit price, its total, an order's total. The check's
tax, service charge and rounding (SPEC §12) belong here too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Final, Protocol

from iso4217 import Currency
from pydantic import Field

# A price no dish or option reaches (₩1,000,000,000; $10,000,000.00), so that no order's total
# can outgrow SQLite's 64-bit integers: 100 lines x 999 x 21 such prices is ~2e15.
MAX_PRICE: Final = 1_000_000_000
Price = Annotated[int, Field(ge=0, le=MAX_PRICE)]


class Line(Protocol):
    """An order line as money sees it: how many, at what unit price."""

    @property
    def qty(self) -> int: ...

    @property
    def price(self) -> int: ...


def minor_digits(currency: str) -> int:
    """How many digits of `currency` (an ISO 4217 code) follow the point: KRW 0, USD 2;
    ValueError for a code that is not a currency, or one without a minor unit (gold, XDR)."""
    try:
        digits = Currency(currency).exponent
    except ValueError:
        digits = None
    if digits is None:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency with a minor unit")
    return digits


def unit_price(dish: int, options: Iterable[int] = ()) -> int:
    """A dish's price with the prices of its chosen options added."""
    return dish + sum(options)


def line_total(line: Line) -> int:
    return line.qty * line.price


def order_total(lines: Iterable[Line]) -> int:
    """Σ qty x unit price over the order's lines."""
    return sum(line_total(line) for line in lines)

"""Money: integers in the minor unit of `restaurant.currency` (docs/api.md, "Prices"), and every
sum the server makes of them — a line's unit price, its total, an order's total, a visit's check
(its service charge and tax, rounded half up) and a check split N ways.

The check's arithmetic is exact: rates are fractions of the decimals the settings wrote, never
binary floats, so 10 % of 0.1 is one tenth and a half is always a half."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Final, Protocol

from iso4217 import Currency
from pydantic import BaseModel, ConfigDict, Field

from .numbers import Int

# A price no dish or option reaches (₩1,000,000,000; $10,000,000.00), so that no order's total
# can outgrow SQLite's 64-bit integers: 100 lines x 999 x 21 such prices is ~2e15.
MAX_PRICE: Final = 1_000_000_000
Price = Annotated[Int, Field(ge=0, le=MAX_PRICE)]


class Line(Protocol):
    """An order line as money sees it: how many, at what unit price."""

    @property
    def qty(self) -> int: ...

    @property
    def price(self) -> int: ...


class NamedLine(Line, Protocol):
    """An order line as the check lists it: its name too."""

    @property
    def name(self) -> str: ...


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


# The signs a receipt prints before an amount, per language, as the pages' Intl.NumberFormat
# writes them (en: $11.95, ko: US$11.95); a currency not named here prints its code ("CHF 5.00").
SYMBOLS: Final[dict[str, dict[str, str]]] = {
    "en": {"KRW": "₩", "USD": "$", "JPY": "¥", "EUR": "€", "GBP": "£", "CNY": "CN¥",
           "CAD": "CA$", "AUD": "A$", "HKD": "HK$", "TWD": "NT$", "INR": "₹", "VND": "₫"},
    "ko": {"KRW": "₩", "USD": "US$", "JPY": "JP¥", "EUR": "€", "GBP": "£", "CNY": "CN¥",
           "CAD": "CA$", "AUD": "AU$", "HKD": "HK$", "TWD": "NT$", "INR": "₹", "VND": "₫"},
}


def format_amount(amount: int, currency: str, lang: str = "en") -> str:
    """An amount in `currency`'s minor unit as a person reads it: KRW 22000 is "₩22,000", USD
    1195 "$11.95" ("US$11.95" in Korean), JPY no decimals; the point and the thousands'
    commas are the same in English and Korean. Exact: integer arithmetic, never a float."""
    digits = minor_digits(currency)
    whole, part = divmod(abs(amount), 10 ** digits)
    number = f"{whole:,}" + (f".{part:0{digits}d}" if digits else "")
    symbol = SYMBOLS.get(lang, SYMBOLS["en"]).get(currency)
    shown = f"{symbol}{number}" if symbol else f"{currency}\u00a0{number}"
    return f"-{shown}" if amount < 0 else shown


# ---- the check (docs/api.md, "The check") ----

class CheckLine(BaseModel):
    """One item of one of the visit's orders: qty x unit price = amount."""

    model_config = ConfigDict(extra="forbid")

    order_id: int
    index: int
    name: str
    qty: int
    price: int
    amount: int


class Check(BaseModel):
    """What a visit owes: its lines, their sum, service charge, tax, total, paid and due."""

    model_config = ConfigDict(extra="forbid")

    lines: list[CheckLine] = []
    subtotal: int = 0
    service_charge: int = 0
    tax: int = 0
    total: int = 0
    paid: int = 0
    due: int = 0
    currency: str


@dataclass(frozen=True)
class Terms:
    """What the restaurant adds to its prices (the [restaurant] settings), as exact fractions."""

    currency: str
    tax_rate: Fraction
    prices_include_tax: bool
    service_charge_pct: Fraction

    @classmethod
    def of(cls, currency: str, tax_rate: float, prices_include_tax: bool,
           service_charge_pct: float) -> Terms:
        return cls(currency, exact(tax_rate), prices_include_tax, exact(service_charge_pct))


def exact(value: float) -> Fraction:
    """A setting's number as the decimal it was written as: 0.1 is one tenth, not the binary
    float nearest to it (which is a little more, and would round 0.5 away)."""
    return Fraction(Decimal(str(value)))


def half_up(amount: Fraction) -> int:
    """To the nearest minor unit, a half going up (amounts here are never negative)."""
    return math.floor(amount + Fraction(1, 2))


def check_lines(order_id: int, items: Sequence[NamedLine]) -> list[CheckLine]:
    """An order's items as lines of a check."""
    return [CheckLine(order_id=order_id, index=index, name=item.name, qty=item.qty,
                      price=item.price, amount=line_total(item))
            for index, item in enumerate(items)]


def check(lines: Iterable[CheckLine], terms: Terms, paid: int = 0) -> Check:
    """The check of these lines: the service charge rounded first, then the tax on the
    subtotal and that rounded charge, rounded once; included in the prices or added."""
    listed = list(lines)
    subtotal = sum(line.amount for line in listed)
    service_charge = half_up(subtotal * terms.service_charge_pct / 100)
    charged = subtotal + service_charge
    rate = terms.tax_rate
    if terms.prices_include_tax:
        total = charged
        tax = half_up(total * rate / (1 + rate))
    else:
        tax = half_up(charged * rate)
        total = charged + tax
    return Check(lines=listed, subtotal=subtotal, service_charge=service_charge, tax=tax,
                 total=total, paid=paid, due=total - paid, currency=terms.currency)


def split(due: int, ways: int) -> list[int]:
    """`due` in `ways` whole shares that add up to it exactly, the larger ones first, no two
    differing by more than one minor unit."""
    if ways < 1:
        raise ValueError(f"cannot split {due} {ways} ways")
    share, left = divmod(due, ways)
    return [share + 1] * left + [share] * (ways - left)

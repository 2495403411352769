"""Stock (SPEC §13, docs/api.md "Stock"): the moves of an inventory line and their signs, what
one portion of a dish uses, how many portions the stock covers, and what an order takes. No
I/O: the store runs these inside the transactions that write the quantities."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .errors import Conflict, Invalid, SoldOut
from .numbers import Number


class MoveReason(StrEnum):
    """Why a quantity changed: staff's four (POST /api/inventory/{id}/adjust), an order's two."""

    RECEIVED = "received"
    WASTE = "waste"
    CORRECTION = "correction"
    COUNT = "count"
    ORDER = "order"
    ORDER_CANCELLED = "order_cancelled"


# The sign a staff move's delta must have: received adds, waste takes away, a correction
# either way (never 0: a move that moves nothing says nothing). A count gives the amount
# counted instead, and its move records the difference, whatever its sign.
DELTA_SIGNS: Final = {MoveReason.RECEIVED: 1, MoveReason.WASTE: -1, MoveReason.CORRECTION: 0}
# A move's list (GET /api/inventory/{id}/moves) holds at most this many, newest first.
MOVES_LISTED: Final = 100
MAX_RECIPE_LINES: Final = 50
# Quantities are kept to this many decimal places, so that 0.3 taken as 0.1 three times
# leaves 0, not -5.5e-17 (which would refuse the third portion).
PLACES: Final = 9


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Amount = Annotated[Number, AfterValidator(_finite)]


class Ingredient(BaseModel):
    """One line of a dish's recipe: how much of an inventory line one portion uses."""

    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    qty: Amount = Field(gt=0)


def unique_skus(recipe: list[Ingredient]) -> list[Ingredient]:
    """A recipe names each sku once (one line says all a portion uses of it)."""
    seen: set[str] = set()
    for line in recipe:
        if line.sku in seen:
            raise ValueError(f"sku {line.sku!r} is given twice")
        seen.add(line.sku)
    return recipe


class Move(BaseModel):
    """One change of an inventory line's quantity, as GET /api/inventory/{id}/moves lists it."""

    model_config = ConfigDict(extra="forbid")
    id: int
    inventory_id: int
    delta: float
    reason: MoveReason
    order_id: int | None = None
    note: str = ""
    quantity_after: float
    created_at: str


class Stocked(NamedTuple):
    """What the stock holds of one sku: its quantity, and its name (for a refusal)."""

    quantity: float
    name: str


class Portions(NamedTuple):
    """How many portions of one dish an order asks for, and what one portion uses."""

    dish: str
    recipe: Sequence[Ingredient]
    asked: int


@dataclass(frozen=True)
class Cover:
    """How many portions of a dish the stock covers (None: it has no recipe, no limit), and
    the ingredient that makes it sold out when that is 0."""

    portions: int | None
    short: str | None = None

    @property
    def sold_out(self) -> bool:
        return self.portions == 0

    @property
    def reason(self) -> str | None:
        return f"out of {self.short}" if self.short is not None else None


def kept(quantity: float) -> float:
    """A quantity as it is stored and compared (PLACES decimal places)."""
    return round(quantity, PLACES)


def cover(recipe: Sequence[Ingredient], stock: Mapping[str, Stocked]) -> Cover:
    """The one rule of sold out: the portions of a recipe the stock covers are the fewest any
    of its ingredients covers; a sku the stock lacks covers none. The reason names the first
    ingredient (in the recipe's order) that cannot cover one portion."""
    portions: int | None = None
    short: str | None = None
    for line in recipe:
        quantity, name = stock.get(line.sku, Stocked(0.0, line.sku))
        covered = max(0, math.floor(kept(quantity / line.qty)))
        if portions is None or covered < portions:
            portions = covered
        if covered == 0 and short is None:
            short = name
    return Cover(portions, short)


def skus(portions: Sequence[Portions]) -> list[str]:
    """The skus the portions use, each once, sorted."""
    return sorted({line.sku for wanted in portions for line in wanted.recipe})


def taken(orders: Sequence[Portions], stock: Mapping[str, Stocked]) -> dict[str, float]:
    """What an order takes of each sku (qty × portions, summed); SoldOut naming the first dish
    the stock cannot cover — with what is left after the dishes before it in the order."""
    left = dict(stock)
    need: dict[str, float] = {}
    for wanted in orders:
        covered = cover(wanted.recipe, left)
        if covered.portions is not None and covered.portions < wanted.asked:
            alone = cover(wanted.recipe, stock)
            if alone.sold_out:
                raise SoldOut(f"{wanted.dish} is sold out ({alone.reason})")
            raise SoldOut(f"only {covered.portions} portion{'s' * (covered.portions != 1)}"
                          f" of {wanted.dish} left")
        for line in wanted.recipe:
            amount = line.qty * wanted.asked
            quantity, name = left[line.sku]
            left[line.sku] = Stocked(kept(quantity - amount), name)
            need[line.sku] = kept(need.get(line.sku, 0.0) + amount)
    return need


def staff_delta(reason: MoveReason, delta: float) -> None:
    """Refuse a delta whose sign its reason does not allow (DELTA_SIGNS)."""
    sign = DELTA_SIGNS.get(reason)
    if sign is None:
        raise ValueError(f"reason {reason!r} is not a staff move with a delta")
    if delta == 0 or delta * sign < 0:
        allowed = {1: "above 0", -1: "below 0", 0: "other than 0"}[sign]
        raise ValueError(f"a {reason} move's delta must be {allowed}")


def moved(quantity: float, delta: float, unit: str, sku: str) -> float:
    """The quantity after a move: 400 when it is no number any more, 409 below zero."""
    after = kept(quantity + delta)
    if not math.isfinite(after):
        raise Invalid(f"delta: {quantity:g} + {delta:g} is too large")
    if after < 0:
        raise Conflict(f"only {quantity:g}{' ' + unit if unit else ''} of {sku} left")
    return after

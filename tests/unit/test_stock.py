"""The stock's rules (core/stock.py), without sockets: how many portions a stock covers, what
an order takes, the signs of staff moves, and never below zero."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from robodyne.core.errors import Conflict, Invalid, SoldOut
from robodyne.core.orders import gives_back
from robodyne.core.models import Order, OrderItem, OrderStatus
from robodyne.core.stock import (
    Ingredient,
    MoveReason,
    Portions,
    Stocked,
    cover,
    moved,
    staff_delta,
    taken,
)

TOFU = Stocked(2.5, "Tofu")
RICE = Stocked(10, "Rice")


def recipe(*lines: tuple[str, float]) -> list[Ingredient]:
    return [Ingredient(sku=sku, qty=qty) for sku, qty in lines]


def test_a_dish_without_a_recipe_is_never_sold_out() -> None:
    assert cover([], {}).portions is None
    assert not cover([], {}).sold_out and cover([], {}).reason is None


def test_the_fewest_portions_any_ingredient_covers_is_what_the_dish_covers() -> None:
    covered = cover(recipe(("RICE", 1), ("TOFU", 1)), {"TOFU": TOFU, "RICE": RICE})
    assert (covered.portions, covered.sold_out, covered.reason) == (2, False, None)


def test_sold_out_names_the_first_ingredient_that_cannot_cover_one_portion() -> None:
    stock = {"TOFU": Stocked(0.5, "Tofu"), "RICE": Stocked(0, "Rice")}
    covered = cover(recipe(("TOFU", 1), ("RICE", 1)), stock)
    assert (covered.portions, covered.sold_out, covered.reason) == (0, True, "out of Tofu")


def test_a_sku_the_stock_lacks_covers_nothing() -> None:
    assert cover(recipe(("GONE", 1)), {}).reason == "out of GONE"


def test_decimal_quantities_cover_their_exact_portions() -> None:
    stock = {"OIL": Stocked(0.3, "Oil")}
    assert cover(recipe(("OIL", 0.1)), stock).portions == 3
    assert taken([Portions("Fries", recipe(("OIL", 0.1)), 3)], stock) == {"OIL": 0.3}


def test_an_order_takes_qty_times_portions_summed_over_its_dishes() -> None:
    stock = {"TOFU": TOFU, "RICE": RICE}
    need = taken([Portions("Soup", recipe(("TOFU", 0.5), ("RICE", 0.25)), 2),
                  Portions("Bowl", recipe(("RICE", 1)), 3)], stock)
    assert need == {"TOFU": 1.0, "RICE": 3.5}


def test_an_order_past_the_stock_names_the_dish_and_the_portions_left() -> None:
    stock = {"TOFU": TOFU}
    with pytest.raises(SoldOut, match="only 2 portions of Soup left"):
        taken([Portions("Soup", recipe(("TOFU", 1)), 3)], stock)
    # What the dishes before it take counts: one portion is left for the second.
    with pytest.raises(SoldOut, match="only 1 portion of Stew left"):
        taken([Portions("Soup", recipe(("TOFU", 1)), 1),
               Portions("Stew", recipe(("TOFU", 1)), 2)], stock)
    with pytest.raises(SoldOut, match=r"Soup is sold out \(out of Tofu\)"):
        taken([Portions("Soup", recipe(("TOFU", 3)), 1)], stock)


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D"]),
                          st.integers(1, 400).map(lambda n: n / 40)),
                min_size=1, max_size=4, unique_by=lambda line: line[0]),
       st.dictionaries(st.sampled_from(["A", "B", "C", "D"]),
                       st.integers(0, 4000).map(lambda n: n / 20)))
def test_the_portions_covered_can_be_taken_and_one_more_cannot(
    lines: list[tuple[str, float]], quantities: dict[str, float]
) -> None:
    dish = recipe(*lines)
    stock = {sku: Stocked(quantity, sku) for sku, quantity in quantities.items()}
    portions = cover(dish, stock).portions
    assert portions is not None and portions >= 0
    if portions:
        need = taken([Portions("Dish", dish, portions)], stock)
        left = {sku: moved(stock[sku].quantity, -amount, "", sku) for sku, amount in need.items()}
        assert all(quantity >= 0 for quantity in left.values())
        after = {**stock, **{sku: Stocked(quantity, sku) for sku, quantity in left.items()}}
        assert cover(dish, after).sold_out
    with pytest.raises(SoldOut):
        taken([Portions("Dish", dish, portions + 1)], stock)


@pytest.mark.parametrize(("reason", "delta"), [
    (MoveReason.RECEIVED, 0), (MoveReason.RECEIVED, -1), (MoveReason.WASTE, 0),
    (MoveReason.WASTE, 1), (MoveReason.CORRECTION, 0), (MoveReason.COUNT, 1),
    (MoveReason.ORDER, -1)])
def test_a_staff_delta_has_the_sign_of_its_reason(reason: MoveReason, delta: float) -> None:
    with pytest.raises(ValueError):
        staff_delta(reason, delta)


def test_a_staff_delta_of_the_right_sign_passes() -> None:
    for reason, delta in ((MoveReason.RECEIVED, 1), (MoveReason.WASTE, -0.5),
                          (MoveReason.CORRECTION, 2), (MoveReason.CORRECTION, -2)):
        staff_delta(reason, delta)


def test_a_move_never_leaves_stock_below_zero_nor_beyond_a_number() -> None:
    assert moved(0.3, -0.1 - 0.2, "kg", "OIL") == 0
    with pytest.raises(Conflict, match="only 3 kg of TOFU left"):
        moved(3, -3.5, "kg", "TOFU")
    with pytest.raises(Invalid):
        moved(1e308, 1e308, "", "X")


def _order(status: OrderStatus, *done: bool) -> Order:
    return Order(id=1, table_id=1, status=status, created_at="t", updated_at="t",
                 items=[OrderItem(name="Soup", done=flag) for flag in done])


def test_only_a_cancel_with_nothing_done_gives_the_stock_back() -> None:
    assert gives_back(_order(OrderStatus.PLACED, False, False), OrderStatus.CANCELLED)
    assert gives_back(_order(OrderStatus.READY, False), OrderStatus.CANCELLED)
    assert not gives_back(_order(OrderStatus.PREPARING, True, False), OrderStatus.CANCELLED)
    assert not gives_back(_order(OrderStatus.PLACED, False), OrderStatus.PREPARING)
    assert not gives_back(_order(OrderStatus.PLACED, False), None)

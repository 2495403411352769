"""Money (core/money.py) and the menu's order (core/dishes.py), without sockets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, strategies as st

from robodyne.core.dishes import menu_order
from robodyne.core.money import (MAX_PRICE, format_amount, line_total, minor_digits, order_total,
                                 unit_price)
from robodyne.domain.views import topic_views
from robodyne.live.hub import Hub

PRICES = st.integers(0, MAX_PRICE)


@dataclass(frozen=True)
class Line:
    qty: int
    price: int


LINES = st.lists(st.builds(Line, qty=st.integers(1, 999), price=PRICES), max_size=100)


@given(dish=PRICES, options=st.lists(PRICES, max_size=20))
def test_a_unit_price_is_the_dish_and_its_options_an_integer_never_below_the_dish(
    dish: int, options: list[int]
) -> None:
    price = unit_price(dish, options)
    assert isinstance(price, int) and price == dish + sum(options) and price >= dish


@given(lines=LINES)
def test_an_order_total_is_the_sum_of_its_lines_an_integer_never_negative(
    lines: list[Line]
) -> None:
    total = order_total(lines)
    assert isinstance(total, int) and total >= 0
    assert total == sum(line.qty * line.price for line in lines)
    assert total == sum(line_total(line) for line in lines)
    # The largest order the API takes still fits SQLite's 64-bit integers.
    assert total < 2**63


@given(lines=LINES, split=st.integers(0, 100))
def test_an_order_split_in_two_costs_the_same(lines: list[Line], split: int) -> None:
    assert order_total(lines) == order_total(lines[:split]) + order_total(lines[split:])


def test_the_largest_order_the_api_takes_fits_in_64_bits() -> None:
    line = Line(qty=999, price=unit_price(MAX_PRICE, [MAX_PRICE] * 20))
    assert order_total([line] * 100) < 2**63


@pytest.mark.parametrize(("code", "digits"), [("KRW", 0), ("JPY", 0), ("USD", 2), ("EUR", 2),
                                              ("KWD", 3)])
def test_a_currency_has_its_iso_4217_minor_unit(code: str, digits: int) -> None:
    assert minor_digits(code) == digits


@pytest.mark.parametrize("code", ["XYZ", "krw", "", "XAU", "XDR", "KRWX"])
def test_a_code_that_is_no_currency_with_a_minor_unit_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_digits(code)


@pytest.mark.parametrize(("amount", "currency", "lang", "shown"), [
    (22000, "KRW", "en", "₩22,000"), (22000, "KRW", "ko", "₩22,000"),
    (1195, "USD", "en", "$11.95"), (1195, "USD", "ko", "US$11.95"), (5, "USD", "en", "$0.05"),
    (0, "USD", "en", "$0.00"), (1234567, "JPY", "en", "¥1,234,567"),
    (1234567, "JPY", "ko", "JP¥1,234,567"), (100000099, "EUR", "en", "€1,000,000.99"),
    (1500, "BHD", "en", "BHD\u00a01.500"), (500, "CHF", "ko", "CHF\u00a05.00"),
    (-1195, "USD", "en", "-$11.95"), (700, "KRW", "zh", "₩700"),
])
def test_an_amount_prints_in_its_currencys_minor_unit_with_its_sign(
    amount: int, currency: str, lang: str, shown: str
) -> None:
    assert format_amount(amount, currency, lang) == shown


@given(st.integers(0, MAX_PRICE * 1000), st.sampled_from(["KRW", "USD", "JPY", "BHD"]))
def test_a_printed_amount_reads_back_as_the_same_minor_units(amount: int, currency: str) -> None:
    digits = "".join(c for c in format_amount(amount, currency) if c.isdigit())
    assert int(digits) == amount


def _dish(dish_id: int, category: str, position: int = 0) -> dict[str, object]:
    return {"id": dish_id, "category": category, "position": position}


def test_the_menu_lists_the_configured_categories_first_then_others_by_their_oldest_dish(
) -> None:
    dishes = [_dish(1, "sides"), _dish(2, "mains", 2), _dish(3, "drinks"), _dish(4, "mains", 1),
              _dish(5, "specials"), _dish(6, "starters"), _dish(7, "mains", 1)]
    ordered = menu_order(dishes, ["starters", "mains", "soups"])
    assert [dish["id"] for dish in ordered] == [6, 4, 7, 2, 1, 3, 5]
    assert [dish["id"] for dish in menu_order(dishes, [])] == [1, 4, 7, 2, 3, 5, 6]


def test_the_menu_topic_keeps_the_guests_order_in_every_snapshot_whatever_came_first(
) -> None:
    hub = Hub(topic_views(snapshot_limit=3, categories=["drinks"]), history_size=10,
              queue_max=10)
    hub.prime("menu", [_dish(1, "mains"), _dish(2, "drinks")])
    hub.publish("menu", "upsert", [_dish(3, "drinks", position=-1)])
    items, _ = hub.snapshot("menu")
    assert [dish["id"] for dish in items] == [3, 2, 1]
    subscriber = hub.subscribe("menu", lambda: None)
    hub.publish("menu", "snapshot", [_dish(1, "mains"), _dish(2, "drinks", 5)])
    broadcast = subscriber.queue[-1][0]
    assert broadcast.index(b'"id":2') < broadcast.index(b'"id":1')

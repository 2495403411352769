"""A visit's check and its split (core/money.py), without sockets: SPEC §12.2's worked examples
and its arithmetic as properties, checked against Decimal's own ROUND_HALF_UP."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, strategies as st

from robodyne.core.models import OrderItem
from robodyne.core.money import (
    CheckLine,
    Terms,
    check,
    check_lines,
    exact,
    half_up,
    split,
)
from robodyne.settings import RestaurantSettings

KRW = Terms.of("KRW", 0.10, True, 0)


def _lines(*amounts: int) -> list[CheckLine]:
    return [CheckLine(order_id=1, index=n, name=f"dish {n}", qty=1, price=amount,
                      amount=amount) for n, amount in enumerate(amounts)]


def _rounded(value: Decimal) -> int:
    """Decimal's half up to a whole minor unit: the reference the check must agree with."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_specs_worked_example_two_bibimbap_at_ten_percent_included() -> None:
    items = [OrderItem(name="Bibimbap", qty=2, price=11000)]
    lines = check_lines(40, items)
    assert [line.model_dump() for line in lines] == [
        {"order_id": 40, "index": 0, "name": "Bibimbap", "qty": 2, "price": 11000,
         "amount": 22000}]
    assert check(lines, KRW).model_dump() == {
        "lines": [lines[0].model_dump()], "subtotal": 22000, "service_charge": 0, "tax": 2000,
        "total": 22000, "paid": 0, "due": 22000, "currency": "KRW"}


def test_tax_on_top_of_the_prices_is_added_to_the_total() -> None:
    usd = Terms.of("USD", 0.0875, False, 0)
    # $12.50 + 8.75 % = $1.09375 of tax, $1.09 rounded.
    assert check(_lines(1250), usd).model_dump(exclude={"lines"}) == {
        "subtotal": 1250, "service_charge": 0, "tax": 109, "total": 1359, "paid": 0,
        "due": 1359, "currency": "USD"}


def test_the_service_charge_is_rounded_first_and_taxed_as_rounded() -> None:
    terms = Terms.of("USD", 0.10, False, 7.5)
    # 7.5 % of 1,010 is 75.75 -> 76; 10 % of 1,086 is 108.6 -> 109.
    bill = check(_lines(1010), terms)
    assert (bill.service_charge, bill.tax, bill.total) == (76, 109, 1195)
    # 7.5 % of 23 is 1.725 -> 2; 10 % of 25 is 2.5 -> 3 (of 24.725 unrounded, 2.4725 -> 2).
    bill = check(_lines(23), terms)
    assert (bill.service_charge, bill.tax, bill.total) == (2, 3, 28)
    # Included: the tax is the part of the total (subtotal + charge) that is tax.
    included = check(_lines(10000), Terms.of("KRW", 0.10, True, 10))
    assert (included.service_charge, included.total, included.tax) == (1000, 11000, 1000)


def test_a_half_rounds_up_even_where_a_binary_float_falls_just_below_it() -> None:
    assert 90 * 0.35 < 31.5  # the float product: 31.499999999999996
    bill = check(_lines(90), Terms.of("USD", 0.35, False, 0))
    assert (bill.tax, bill.total) == (32, 122)
    assert half_up(exact(0.5)) == 1 and half_up(exact(2.5)) == 3 and half_up(exact(2.49)) == 2


def test_the_settings_terms_are_the_decimals_written() -> None:
    terms = RestaurantSettings(currency="USD", tax_rate=0.1, prices_include_tax=False,
                               service_charge_pct=7.5).terms()
    assert (terms.currency, terms.tax_rate, terms.service_charge_pct) == (
        "USD", exact(0.1), exact(7.5))
    assert terms.tax_rate * 10 == 1 and terms.service_charge_pct * 2 == 15
    assert not terms.prices_include_tax


AMOUNTS = st.lists(st.integers(0, 10**9), max_size=30)
RATES = st.decimals(min_value=0, max_value=1, places=4)
PCTS = st.decimals(min_value=0, max_value=100, places=2)


@given(amounts=AMOUNTS, rate=RATES, pct=PCTS, included=st.booleans(), paid=st.integers(0, 10))
def test_the_check_agrees_with_decimal_half_up_and_holds_its_sums(
    amounts: list[int], rate: Decimal, pct: Decimal, included: bool, paid: int
) -> None:
    terms = Terms.of("KRW", float(rate), included, float(pct))
    bill = check(_lines(*amounts), terms, paid)
    subtotal = sum(amounts)
    service = _rounded(Decimal(subtotal) * pct / 100)
    charged = subtotal + service
    assert (bill.subtotal, bill.service_charge) == (subtotal, service)
    if included:
        assert bill.total == charged
        # Decimal's 28 digits are plenty, but divide last so that the reference is exact
        # whenever the tax is a whole half.
        assert bill.tax == _rounded(Decimal(charged) * rate / (1 + rate))
    else:
        assert bill.tax == _rounded(Decimal(charged) * rate)
        assert bill.total == charged + bill.tax
    assert bill.total >= bill.subtotal and 0 <= bill.tax <= bill.total
    assert (bill.paid, bill.due) == (paid, bill.total - paid)
    assert all(isinstance(n, int) for n in (bill.subtotal, bill.service_charge, bill.tax,
                                            bill.total, bill.due))


@given(due=st.integers(0, 10**12), ways=st.integers(1, 20))
def test_a_split_adds_up_to_due_in_shares_at_most_one_apart(due: int, ways: int) -> None:
    shares = split(due, ways)
    assert len(shares) == ways and sum(shares) == due
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)


def test_a_split_of_the_worked_example() -> None:
    assert split(22000, 3) == [7334, 7333, 7333]
    assert split(22000, 2) == [11000, 11000]
    assert split(1, 3) == [1, 0, 0]


@pytest.mark.parametrize("ways", [0, -1])
def test_a_split_needs_one_way_at_least(ways: int) -> None:
    with pytest.raises(ValueError):
        split(100, ways)

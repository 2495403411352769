"""The sliding window of tcp.max_lines_per_min (core/rates.py), with a clock of our own."""

from __future__ import annotations

from robodyne.core.rates import SlidingRate


def test_the_limit_holds_in_any_window_and_refusals_are_not_counted() -> None:
    rate = SlidingRate(3, window_s=60)
    assert [rate.allow("r1", t) for t in (0, 10, 20, 30, 59.9)] == [True, True, True, False,
                                                                    False]
    assert rate.allow("r1", 60.0)  # the call at 0 left the window; the refused ones never counted
    assert not rate.allow("r1", 65)
    assert rate.allow("r1", 70.0)  # the one at 10 left it


def test_each_key_has_its_own_window() -> None:
    rate = SlidingRate(1, window_s=60)
    assert rate.allow("r1", 0) and rate.allow("r2", 0)
    assert not rate.allow("r1", 1) and not rate.allow("r2", 1)


def test_keys_with_an_empty_window_are_let_go() -> None:
    rate = SlidingRate(5, window_s=60)
    rate.allow("old", 0)
    rate.allow("busy", 50)
    rate.forget_idle(61)
    assert len(rate) == 1
    assert rate.allow("busy", 61)

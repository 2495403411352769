"""The kitchen's small rules without sockets: the page's language, and station prep times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from robodyne.core.models import Order, OrderItem, iso
from robodyne.domain.kitchen import _percentile, station_times
from robodyne.web.pages import choose_language


@pytest.mark.parametrize(("query", "cookie", "accept", "chosen"), [
    ("ko", "en", "en-US", "ko"),          # ?lang= first
    (None, "ko", "en-US,en;q=0.9", "ko"),  # then the cookie
    ("fr", None, "ko-KR,ko;q=0.9,en;q=0.8", "ko"),  # an unknown ?lang= is passed over
    (None, None, "fr-FR,fr;q=0.9,ko;q=0.5,en;q=0.3", "ko"),  # the best language we speak
    (None, None, "en;q=0.2, ko;q=0.8", "ko"),
    (None, None, "ko;q=0", "en"),          # q=0 means not this one
    (None, None, "", "en"),
    (None, None, "garbage;;q=x", "en"),
])
def test_the_language_is_the_query_then_the_cookie_then_accept_language_then_english(
    query: str | None, cookie: str | None, accept: str, chosen: str
) -> None:
    assert choose_language(query, cookie, accept) == chosen


def _order(placed: datetime, *items: tuple[str, float | None]) -> Order:
    return Order(id=1, table_id=1, created_at=iso(placed), updated_at=iso(placed), items=[
        OrderItem(name=f"dish {n}", station=station, done=done_after is not None,
                  done_at=None if done_after is None else iso(placed + timedelta(
                      seconds=done_after)))
        for n, (station, done_after) in enumerate(items)])


def test_a_stations_time_runs_from_placed_to_its_last_item_done() -> None:
    placed = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    orders = [_order(placed, ("grill", 300), ("grill", 420), ("bar", 60)),
              _order(placed, ("grill", 200), ("bar", None))]  # the bar is not done yet
    assert station_times(orders) == {"grill": [420.0, 200.0], "bar": [60.0]}


def test_the_90th_percentile_is_a_measured_value() -> None:
    assert _percentile([], 0.9) is None
    assert _percentile([5.0], 0.9) == 5.0
    assert _percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert _percentile([float(n) for n in range(1, 101)], 0.9) == 90.0

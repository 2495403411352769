"""Guest sessions and the guest views on the domain, without sockets (SPEC §11.3, §11.4): which
visit a session belongs to and when it ends, the per-visit rate, and what a table's stream
publishes when its orders move and its visit closes."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from robodyne.core.errors import CheckOpen, RateLimited, TableClosed, VisitClosed
from robodyne.core.models import OrderLine, OrderStatus, PaymentMethod, TableStatus
from robodyne.domain.guests import GuestSession
from robodyne.live.hub import Subscriber

from ..support.domain import Domain, open_domain


def views(subscriber: Subscriber) -> list[dict[str, Any]]:
    """The views queued for a subscriber since the last call (snapshot included)."""
    frames = [orjson.loads(frame) for frame, _ in subscriber.queue]
    subscriber.queue.clear()
    return [frame["data"]["items"][0] for frame in frames]


async def settled() -> None:
    """Let the views' once-a-turn flush run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def start(domain: Domain, table_id: int) -> tuple[str, GuestSession]:
    """A session of the table's link: its cookie, and the session."""
    started = await domain.guest_sessions.start(await domain.links.code(table_id))
    assert started is not None
    return started


async def tea(domain: Domain) -> int:
    return (await domain.menu.add("Tea", {"price": 3000})).id


async def test_a_session_belongs_to_the_open_visit_or_the_next_one_and_ends_with_it(
    domain: Domain
) -> None:
    table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, None, None)
    token, early = await start(domain, table.id)
    assert (early.visit_id, early.ended) == (None, None)
    visit = await domain.visits.open(table.id)
    late_token, _ = await start(domain, table.id)
    for held in (token, late_token):
        session = await domain.guest_sessions.session(held)
        assert session is not None and session.visit_id == visit.id and session.ended is None
    await domain.visits.close_for_table(table.id, bus=False)
    for held in (token, late_token):
        session = await domain.guest_sessions.session(held)
        assert session is not None and session.ended == "visit_closed"
    # The next party's session, made now, waits for the next visit.
    _, next_party = await start(domain, table.id)
    assert (next_party.visit_id, next_party.ended) == (None, None)
    await domain.links.rotate(table.id)
    rotated = await domain.guest_sessions.session(late_token)
    assert rotated is not None and rotated.ended == "link_rotated"
    assert await domain.guest_sessions.session("no-such-session") is None
    assert await domain.guest_sessions.start("A" * 22) is None


async def test_guest_orders_hold_to_the_visit_rate_and_the_tables_rules(tmp_path: Any) -> None:
    async with open_domain(tmp_path, guest={"max_orders_per_10min": 2}) as domain:
        dish = await tea(domain)
        table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, None, None)
        _, session = await start(domain, table.id)
        line = [OrderLine(menu_id=dish, qty=1)]
        first = await domain.restaurant.place_order(table.id, line, "",
                                                    guest_from=session.first_visit_id)
        assert first.source == "guest" and first.visit_id is not None
        await domain.restaurant.place_order(table.id, line, "", guest_from=session.first_visit_id)
        with pytest.raises(RateLimited):
            await domain.restaurant.place_order(table.id, line, "",
                                                guest_from=session.first_visit_id)
        with pytest.raises(CheckOpen):  # it owes for its two teas
            await domain.visits.close_for_table(table.id, bus=False)
        await domain.visits.pay(first.visit_id, 6000, PaymentMethod.CASH, "")
        await domain.visits.close_for_table(table.id, bus=False)
        with pytest.raises(VisitClosed):
            await domain.restaurant.place_order(table.id, line, "",
                                                guest_from=session.first_visit_id)
        dirty = await domain.restaurant.add_table("T2", 4, TableStatus.NEEDS_CLEANING, None,
                                                  None)
        _, other = await start(domain, dirty.id)
        with pytest.raises(TableClosed):
            await domain.restaurant.place_order(dirty.id, line, "",
                                                guest_from=other.first_visit_id)


async def test_a_tables_stream_follows_its_orders_and_shows_its_closed_visit_once(
    domain: Domain
) -> None:
    dish = await tea(domain)
    table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, None, None)
    other = await domain.restaurant.add_table("T2", 4, TableStatus.AVAILABLE, None, None)
    ended: list[tuple[int, int]] = []
    domain.guest_views.on_visit_end.append(lambda table_id, visit_id:
                                           ended.append((table_id, visit_id)))
    stream = domain.guest_views.stream(table.id)
    subscriber = stream.subscribe(lambda: None)
    assert views(subscriber)[0]["visit"] is None
    order = await domain.restaurant.place_order(table.id, [OrderLine(menu_id=dish, qty=2)], "")
    await domain.restaurant.place_order(other.id, [OrderLine(menu_id=dish, qty=1)], "")
    await settled()
    seen = views(subscriber)
    assert seen and seen[-1]["orders"][0]["id"] == order.id
    assert seen[-1]["check"]["total"] == 6000
    assert all(len(view["orders"]) <= 1 for view in seen)  # never the other table's
    assert other.id not in domain.guest_views.family.streams  # nobody watches it: no stream
    await domain.restaurant.change_order(order.id, status=OrderStatus.CANCELLED)
    await domain.visits.close_for_table(table.id, bus=False)
    await settled()
    closed = views(subscriber)[-1]
    assert closed["visit"]["status"] == "closed" and closed["orders"][0]["id"] == order.id
    assert ended == [(table.id, order.visit_id)]
    # The next party's stream is a new one: nothing of this visit to resume from it.
    fresh = domain.guest_views.stream(table.id)
    assert fresh is not stream and fresh.epoch != stream.epoch and not fresh.history
    after = fresh.view.items()[0]
    assert (after["visit"], after["orders"], after["check"]) == (None, [], None)

"""Visits' rules (domain/visits.py) on a real SQLite file and hub, without HTTP: one open visit
per table, the table occupied, every order of the table in it, its check kept in step."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from robodyne.core.errors import ConstraintFailed, Conflict, Invalid, TableClosed
from robodyne.core.models import (
    CustomerStatus,
    OrderLine,
    OrderSource,
    OrderStatus,
    Table,
    TableStatus,
)
from robodyne.core.money import Terms, check
from robodyne.core.calls import CallKind
from robodyne.demo import life as life_module
from robodyne.demo.guest import GuestLine, Phones
from robodyne.demo.life import DemoLife
from robodyne.settings import SimulationSettings

from ..support.desk_phones import DeskPhones
from ..support.domain import Domain, open_domain
from ..support.wait import until


async def _table(domain: Domain, status: TableStatus = TableStatus.AVAILABLE) -> Table:
    return await domain.restaurant.add_table("T5", 4, status, None, None)


def _visits(domain: Domain) -> list[dict[str, Any]]:
    return domain.hub.snapshot("visits")[0]


async def test_seating_a_party_opens_a_visit_and_occupies_its_table(domain: Domain) -> None:
    table = await _table(domain)
    customer = await domain.restaurant.add_customer("Kim", 3, "", CustomerStatus.WAITING, None)
    visit = await domain.visits.open(table.id, party_size=3, customer_id=customer.id)
    assert (visit.table_id, visit.party_size, visit.customer_id, visit.status) == (
        table.id, 3, customer.id, "open")
    assert (visit.order_ids, visit.payments, visit.closed_at) == ([], [], None)
    assert visit.check.model_dump() == {
        "lines": [], "subtotal": 0, "service_charge": 0, "tax": 0, "total": 0, "paid": 0,
        "due": 0, "currency": "KRW"}
    assert _visits(domain) == [visit.model_dump(mode="json")]
    assert domain.item("tables", table.id)["status"] == "occupied"
    assert await domain.store.visit(visit.id) == visit


async def test_a_table_has_one_open_visit_and_the_database_says_so_too(domain: Domain) -> None:
    table = await _table(domain)
    first = await domain.visits.open(table.id)
    with pytest.raises(Conflict, match="already has an open visit"):
        await domain.visits.open(table.id, party_size=2)
    # Another program writing the file meets the partial unique index.
    with pytest.raises(ConstraintFailed):
        await domain.store.add_visit(table.id, first.check)
    assert [visit["id"] for visit in _visits(domain)] == [first.id]
    # Once closed, the table takes its next party.
    closed = await domain.visits.close_for_table(table.id, bus=False)
    assert closed is not None and (closed.status, closed.closed_at is not None) == (
        "closed", True)
    second = await domain.visits.open(table.id)
    assert second.id != first.id
    assert [(v["id"], v["status"]) for v in _visits(domain)] == [
        (first.id, "closed"), (second.id, "open")]
    assert await domain.visits.close_for_table(9999, bus=False) is None


async def test_a_table_out_of_service_or_unknown_or_a_stranger_opens_nothing(
    domain: Domain
) -> None:
    broken = await _table(domain, TableStatus.OUT_OF_SERVICE)
    with pytest.raises(TableClosed, match="out_of_service"):
        await domain.visits.open(broken.id)
    with pytest.raises(TableClosed):
        await domain.restaurant.place_order(broken.id, [OrderLine(name="Soup")], "")
    with pytest.raises(Invalid, match="table_id"):
        await domain.visits.open(9999)
    free = await _table(domain)
    with pytest.raises(Invalid, match="customer_id"):
        await domain.visits.open(free.id, customer_id=9999)
    assert _visits(domain) == [] and await domain.store.orders() == []
    assert domain.item("tables", broken.id)["status"] == "out_of_service"
    assert domain.item("tables", free.id)["status"] == "available"


@pytest.mark.parametrize("status", [TableStatus.AVAILABLE, TableStatus.NEEDS_CLEANING,
                                    TableStatus.RESERVED, TableStatus.OCCUPIED])
async def test_a_staff_order_opens_a_visit_on_any_table_but_one_out_of_service(
    domain: Domain, status: TableStatus
) -> None:
    table = await _table(domain, status)
    order = await domain.restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
    [visit] = _visits(domain)
    assert (order.visit_id, visit["order_ids"], visit["party_size"]) == (
        visit["id"], [order.id], None)
    assert domain.item("orders", order.id)["visit_id"] == visit["id"]
    assert domain.item("tables", table.id)["status"] == "occupied"


async def _guest_order(domain: Domain, table: Table) -> int | None:
    """A guest's order for the table from a session of its link (the guest API's call); the
    visit it joined or opened."""
    started = await domain.guest_sessions.start(await domain.links.code(table.id))
    assert started is not None
    order = await domain.restaurant.place_order(table.id, [OrderLine(name="Water")], "",
                                                guest_from=started[1].first_visit_id)
    assert order.source is OrderSource.GUEST
    return order.visit_id


@pytest.mark.parametrize("status", [TableStatus.NEEDS_CLEANING, TableStatus.RESERVED,
                                    TableStatus.OUT_OF_SERVICE])
async def test_a_guests_order_opens_a_visit_only_on_a_free_table(
    domain: Domain, status: TableStatus
) -> None:
    table = await _table(domain, status)
    with pytest.raises(TableClosed, match="staff"):
        await _guest_order(domain, table)
    assert _visits(domain) == [] and domain.hub.snapshot("orders")[0] == []
    free = await domain.restaurant.add_table("T6", 2, TableStatus.AVAILABLE, None, None)
    opened = await _guest_order(domain, free)
    assert [visit["id"] for visit in _visits(domain)] == [opened]


async def test_a_guests_order_joins_the_visit_staff_opened_whatever_the_table(
    domain: Domain
) -> None:
    table = await _table(domain, TableStatus.NEEDS_CLEANING)
    seated = await domain.visits.open(table.id, party_size=2)
    assert await _guest_order(domain, table) == seated.id


async def test_staff_freeing_a_table_ends_its_visit_and_the_next_party_gets_a_new_one(
    domain: Domain
) -> None:
    table = await _table(domain)
    first = await domain.restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
    for status in (TableStatus.NEEDS_CLEANING, TableStatus.AVAILABLE):
        await domain.restaurant.change_table(table.id, {"status": status})
    [closed] = _visits(domain)
    assert (closed["id"], closed["status"]) == (first.visit_id, "closed")
    assert closed["closed_at"] is not None
    second = await domain.restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
    assert second.visit_id not in (None, first.visit_id)
    assert domain.item("visits", second.visit_id)["order_ids"] == [second.id]


async def test_a_kitchen_move_costs_the_visits_nothing_and_a_cancel_republishes_the_check(
    domain: Domain
) -> None:
    await domain.menu.add("Soup", {"price": 5000})
    table = await _table(domain)
    order = await domain.restaurant.place_order(table.id, [OrderLine(name="Soup")], "")
    seq = domain.hub.seq("visits")
    await domain.restaurant.change_order(order.id, status=OrderStatus.PREPARING)
    assert domain.hub.seq("visits") == seq
    await domain.restaurant.change_order(order.id, status=OrderStatus.CANCELLED)
    assert domain.hub.seq("visits") == seq + 1
    assert domain.item("visits", order.visit_id)["check"]["total"] == 0


async def test_every_order_of_the_table_joins_its_open_visit_and_the_check_follows(
    domain: Domain
) -> None:
    await domain.menu.add("Bibimbap", {"price": 11000})
    await domain.menu.add("Kimchi", {"price": 3000})
    table = await _table(domain)
    visit = await domain.visits.open(table.id, party_size=2)
    first = await domain.restaurant.place_order(table.id, [OrderLine(name="Bibimbap", qty=2)],
                                                "")
    second = await domain.restaurant.place_order(table.id, [OrderLine(name="kimchi")], "")
    held = domain.item("visits", visit.id)
    assert held["order_ids"] == [first.id, second.id]
    assert held["check"]["lines"] == [
        {"order_id": first.id, "index": 0, "name": "Bibimbap", "qty": 2, "price": 11000,
         "amount": 22000},
        {"order_id": second.id, "index": 0, "name": "kimchi", "qty": 1, "price": 3000,
         "amount": 3000}]
    assert (held["check"]["subtotal"], held["check"]["tax"], held["check"]["total"],
            held["check"]["due"]) == (25000, 2273, 25000, 25000)
    # A move that leaves the check as it was publishes nothing on visits.
    seq = domain.hub.seq("visits")
    await domain.restaurant.change_order(first.id, status=OrderStatus.PREPARING)
    assert domain.hub.seq("visits") == seq
    # A cancelled order leaves the check, and the visit is published with it.
    await domain.restaurant.change_order(second.id, status=OrderStatus.CANCELLED)
    held = domain.item("visits", visit.id)
    assert domain.hub.seq("visits") == seq + 1
    assert held["order_ids"] == [first.id, second.id]
    assert [line["order_id"] for line in held["check"]["lines"]] == [first.id]
    assert (held["check"]["total"], held["check"]["tax"]) == (22000, 2000)
    stored = await domain.store.visit(visit.id)
    assert stored is not None and stored.model_dump(mode="json") == held


async def test_the_check_uses_the_restaurants_terms_and_load_recomputes_open_visits(
    tmp_path: Path
) -> None:
    async with open_domain(tmp_path) as domain:
        table = await _table(domain)
        order = await domain.restaurant.place_order(
            table.id, [OrderLine(name="Corkage", price=1010)], "")
        assert domain.item("visits", order.visit_id)["check"]["total"] == 1010
    terms = {"currency": "USD", "tax_rate": 0.1, "prices_include_tax": False,
             "service_charge_pct": 7.5}
    async with open_domain(tmp_path, restaurant=terms) as domain:
        assert order.visit_id is not None
        visit = await domain.store.visit(order.visit_id)
        assert visit is not None
        assert visit.check.model_dump(exclude={"lines"}) == {
            "subtotal": 1010, "service_charge": 76, "tax": 109, "total": 1195, "paid": 0,
            "due": 1195, "currency": "USD"}
        assert visit.check == check(visit.check.lines, Terms.of("USD", 0.1, False, 7.5))


async def test_close_hears_no_more_orders(tmp_path: Path) -> None:
    async with open_domain(tmp_path) as domain:
        watchers = domain.restaurant.order_watchers
        assert domain.visits.order_moved in watchers
        domain.visits.close()
        assert domain.visits.order_moved not in watchers
        await domain.visits.load(watchers)  # open_domain closes it again on the way out


async def _party_ordered(domain: Domain, life: DemoLife, now: float) -> dict[str, Any]:
    """The next party: ticks (a second apart) until its phones placed its order and it is done
    arriving (until then its table is not the eaters' yet: the next tick would skip it). A
    party in line takes three: it joins, is called, is seated."""
    for tick in range(4):
        await life.tick(now + tick)
        if life.arriving:
            break
    orders = await until(lambda: not life.arriving and [
        o for o in domain.hub.snapshot("orders")[0] if o["status"] == "placed"],
        what="the party's order")
    [order] = orders
    return dict(order)


def _life(domain: Domain, phones: Phones, monkeypatch: pytest.MonkeyPatch,
          walk_in: bool) -> DemoLife:
    """The demo's life on one table: every party walks in (or none does), is seated as soon
    as it is called, a new one comes at most every 10,000 s of the test's clock, and no cook
    moves a ticket."""
    monkeypatch.setattr(life_module, "WALK_IN", 1.0 if walk_in else 0.0)
    monkeypatch.setattr(life_module, "CALLED_TO_SEATED_S", 0.0)
    monkeypatch.setattr(life_module, "NO_SHOW_SHARE", 0.0)
    return DemoLife(domain.restaurant, domain.visits, domain.waitlist, domain.hub,
                    SimulationSettings(order_every_s=10_000, cook_s=10_000), phones,
                    rng=random.Random(7))


@pytest.mark.parametrize("walk_in", [False, True])
async def test_the_demo_seats_a_party_in_a_visit_closes_it_as_they_leave_and_opens_a_new_one(
    domain: Domain, monkeypatch: pytest.MonkeyPatch, walk_in: bool
) -> None:
    table = await _table(domain)
    await domain.menu.add("Soju", {"price": 9000})
    phones = DeskPhones(domain)
    life = _life(domain, phones, monkeypatch, walk_in)
    order = await _party_ordered(domain, life, 0.0)
    [visit] = _visits(domain)
    # The host seats a party from the line with its customer and size; a party walking in
    # opens a visit of neither by its order.
    seated = (visit["customer_id"] is not None, (visit["party_size"] or 0) >= 1)
    assert (visit["status"], visit["order_ids"], seated) == (
        "open", [order["id"]], (not walk_in, not walk_in))
    if not walk_in:
        party = domain.item("customers", visit["customer_id"])
        assert (party["status"], party["table_id"], party["visit_id"]) == (
            "seated", table.id, visit["id"])
        assert party["called_at"] is not None and party["seated_at"] is not None
    assert order["visit_id"] == visit["id"]
    assert [(table_id, [line["qty"] for line in lines]) for table_id, lines, _ in phones.asked
            ] == [(table.id, [item["qty"] for item in order["items"]])]
    for status in (OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.SERVED):
        await domain.restaurant.change_order(order["id"], status=status)
    await life.tick(10.0)  # they eat
    await life.tick(100.0)  # and leave
    closed = domain.item("visits", visit["id"])
    assert closed["status"] == "closed" and closed["check"]["due"] == 0
    assert sum(p["amount"] for p in closed["payments"]) == closed["check"]["total"]
    assert domain.item("tables", table.id)["status"] == "needs_cleaning"
    await life.tick(101.0)
    await life.tick(200.0)  # cleaned
    assert domain.item("tables", table.id)["status"] == "available"
    await _party_ordered(domain, life, 30_000.0)  # the next party
    assert [(v["id"] == visit["id"], v["status"]) for v in _visits(domain)] == [
        (True, "closed"), (False, "open")]


async def test_a_party_waits_in_line_while_the_floor_is_full_and_gives_up_in_time(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = await _table(domain)
    await domain.menu.add("Soju", {"price": 9000})
    await domain.restaurant.change_table(table.id, {"status": TableStatus.OUT_OF_SERVICE})
    life = _life(domain, DeskPhones(domain), monkeypatch, walk_in=True)
    await life.tick(0.0)
    [party] = [p for p in domain.hub.snapshot("customers")[0] if p["status"] == "waiting"]
    await life.tick(1.0)
    assert domain.item("customers", party["id"])["status"] == "waiting"  # no table: no call
    await life.tick(life_module.PATIENCE_S + 1)
    assert domain.item("customers", party["id"])["status"] == "left"
    assert _visits(domain) == []


class RefusedPhones:
    """Phones whose every order the server refuses (a dish sold out meanwhile, a slow server)."""

    async def order(self, table_id: int, lines: list[GuestLine], call: CallKind | None) -> bool:
        return False


async def test_a_party_the_staff_seated_that_cannot_order_leaves_and_the_table_is_turned(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = await _table(domain)
    await domain.menu.add("Soju", {"price": 9000})
    life = _life(domain, RefusedPhones(), monkeypatch, walk_in=False)
    for now in (0.0, 1.0, 2.0):  # it joins the line, is called, is seated
        await life.tick(now)
    [visit] = _visits(domain)
    await until(lambda: domain.item("visits", visit["id"])["status"] == "closed",
                what="the party gone")
    assert domain.item("tables", table.id)["status"] == "needs_cleaning"
    assert domain.hub.snapshot("orders")[0] == []
    await life.close()


async def test_the_demo_host_calls_only_as_many_parties_as_there_are_free_tables(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = await _table(domain)
    await domain.menu.add("Soju", {"price": 9000})
    life = _life(domain, DeskPhones(domain), monkeypatch, walk_in=False)
    monkeypatch.setattr(life_module, "CALLED_TO_SEATED_S", 3600.0)  # nobody reaches the stand
    parties = [await domain.waitlist.join(name, 2, "", "") for name in ("A", "B", "C")]
    for now in (0.0, 1.0, 2.0):
        await life.tick(now)
    statuses = [domain.item("customers", p.id)["status"] for p in parties]
    # One free table: the first in line is called for it; the others wait their turn.
    assert statuses[:3] == ["called", "waiting", "waiting"]
    assert domain.item("tables", table.id)["status"] == "available"

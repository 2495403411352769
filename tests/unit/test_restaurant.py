"""The restaurant's rules on a real SQLite file and hub, without HTTP: the order lifecycle,
stock events and seating."""

from __future__ import annotations

from pathlib import Path

import pytest

from robodyne.core.errors import Conflict, Invalid, NotFound
from robodyne.core.models import (
    CustomerStatus,
    MenuOption,
    OrderLine,
    OrderStatus,
    TableStatus,
)
from robodyne.core.orders import TRANSITIONS
from robodyne.settings import KitchenSettings

from ..support.domain import Domain, open_domain

S = OrderStatus


async def _order(domain: Domain) -> int:
    table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, 6.0, 2.5)
    order = await domain.restaurant.place_order(
        table.id, [OrderLine(name="Bibimbap", qty=2), OrderLine(name="Kimchi")], "")
    return order.id


async def test_a_placed_order_is_stored_published_and_announced(domain: Domain) -> None:
    order_id = await _order(domain)
    assert (await domain.store.order(order_id)).status is S.PLACED  # type: ignore[union-attr]
    assert domain.item("orders", order_id)["status"] == "placed"
    assert domain.item("tables", 1)["open_order_ids"] == [order_id]
    [placed] = domain.events("order_placed")
    assert placed["data"] == {"order_id": order_id, "table_id": 1}


async def test_an_order_walks_placed_to_served_stamping_ready_and_served(domain: Domain) -> None:
    order_id = await _order(domain)
    for status in (S.PREPARING, S.READY, S.DELIVERING, S.SERVED):
        order = await domain.restaurant.change_order(order_id, status=status)
        assert order.status is status
    assert order.ready_at is not None and order.served_at is not None
    assert [e["data"]["order_id"] for e in domain.events("order_ready")] == [order_id]
    assert [e["data"]["order_id"] for e in domain.events("order_served")] == [order_id]
    assert domain.item("tables", 1)["open_order_ids"] == []


async def test_every_move_not_in_the_table_is_refused_and_changes_nothing(
    domain: Domain
) -> None:
    for start, allowed in TRANSITIONS.items():
        for target in set(S) - allowed - {start}:
            order_id = await _order(domain)
            path = {S.PLACED: [], S.PREPARING: [S.PREPARING], S.READY: [S.PREPARING, S.READY],
                    S.DELIVERING: [S.PREPARING, S.READY, S.DELIVERING],
                    S.SERVED: [S.PREPARING, S.READY, S.SERVED],
                    S.CANCELLED: [S.CANCELLED]}[start]
            for status in path:
                await domain.restaurant.change_order(order_id, status=status)
            with pytest.raises(Conflict):
                await domain.restaurant.change_order(order_id, status=target)
            assert (await domain.store.order(order_id)).status is start  # type: ignore[union-attr]


async def test_a_recalled_ready_order_is_no_longer_ready(domain: Domain) -> None:
    order_id = await _order(domain)
    await domain.restaurant.change_order(order_id, status=S.PREPARING)
    await domain.restaurant.change_order(order_id, status=S.READY)
    recalled = await domain.restaurant.change_order(order_id, status=S.PREPARING)
    assert recalled.ready_at is None


async def test_items_are_crossed_off_by_index_and_a_bad_index_or_robot_is_refused(
    domain: Domain
) -> None:
    order_id = await _order(domain)
    order = await domain.restaurant.change_order(order_id, items_done=[(1, True)])
    assert [item.done for item in order.items] == [False, True]
    assert domain.item("orders", order_id)["items"][1]["done"] is True
    with pytest.raises(Invalid):
        await domain.restaurant.change_order(order_id, items_done=[(2, True)])
    with pytest.raises(Invalid):
        await domain.restaurant.change_order(order_id, robot_id="nobody", set_robot=True)
    with pytest.raises(NotFound):
        await domain.restaurant.change_order(999, status=S.PREPARING)


async def test_a_robot_delivers_only_an_order_on_its_way(domain: Domain) -> None:
    order_id = await _order(domain)
    await domain.restaurant.delivered(order_id, None)  # still placed: left as it is
    assert (await domain.store.order(order_id)).status is S.PLACED  # type: ignore[union-attr]
    await domain.restaurant.change_order(order_id, status=S.PREPARING)
    await domain.restaurant.change_order(order_id, status=S.READY)
    await domain.restaurant.delivered(order_id, None)
    assert (await domain.store.order(order_id)).status is S.SERVED  # type: ignore[union-attr]


async def test_stock_events_fire_once_per_crossing(domain: Domain) -> None:
    item = await domain.stock.add("GOCHU", "Gochujang", 10, "kg", 4)
    for delta in (-3, -3, -1, -2):  # 7, 4 (low), 3 (still low), 1
        await domain.stock.change(item.id, {}, delta)
    assert len(domain.events("inventory_low")) == 1
    await domain.stock.change(item.id, {}, -1)  # 0: out
    [out] = domain.events("inventory_out")
    assert out["severity"] == "error" and out["data"]["sku"] == "GOCHU"
    with pytest.raises(Conflict):
        await domain.stock.change(item.id, {}, -1)
    await domain.stock.change(item.id, {"quantity": 20})
    await domain.stock.change(item.id, {}, -17)  # 3: low again
    assert len(domain.events("inventory_low")) == 2
    assert domain.item("inventory", item.id)["status"] == "low_stock"
    with pytest.raises(Invalid):
        await domain.stock.change(item.id, {"quantity": 5}, 1)


async def test_seating_a_customer_occupies_the_table_and_leaving_needs_cleaning(
    domain: Domain
) -> None:
    table = await domain.restaurant.add_table("T2", 2, TableStatus.AVAILABLE, None, None)
    customer = await domain.restaurant.add_customer("Kim", 2, "", CustomerStatus.SEATED,
                                                    table.id)
    assert domain.item("tables", table.id)["status"] == "occupied"
    assert domain.item("tables", table.id)["customer_id"] == customer.id
    await domain.restaurant.remove_customer(customer.id)
    assert domain.item("tables", table.id)["status"] == "needs_cleaning"
    assert domain.item("tables", table.id)["customer_id"] is None


async def test_items_are_routed_to_their_menu_station_and_an_86_dish_refuses_the_order(
    tmp_path: Path
) -> None:
    kitchen = KitchenSettings(stations=["grill", "bar"], default_station="grill")
    async with open_domain(tmp_path, kitchen) as domain:
        soju = await domain.menu.add("Soju", {"category": "drinks", "station": "bar",
                                              "prep_target_s": 60})
        table = await domain.restaurant.add_table("T1", 2, TableStatus.AVAILABLE, None, None)
        order = await domain.restaurant.place_order(
            table.id, [OrderLine(name="SOJU"), OrderLine(name="Mystery stew")], "")
        assert [item.station for item in order.items] == ["bar", "grill"]
        await domain.menu.change(soju.id, {"available": False})
        assert domain.events("menu_item_unavailable")[0]["data"]["name"] == "Soju"
        with pytest.raises(Conflict, match="Soju"):
            await domain.restaurant.place_order(table.id, [OrderLine(name="soju")], "")
        with pytest.raises(Invalid, match="wok"):
            await domain.menu.add("Pad thai", {"station": "wok"})


async def test_lines_are_priced_by_the_menu_at_placement_and_keep_that_price(
    domain: Domain
) -> None:
    dish = await domain.menu.add("Naengmyeon", {"price": 12000, "options": [
        MenuOption(name="Extra egg", price=1000), MenuOption(name="Large", price=3000)]})
    table = await domain.restaurant.add_table("T1", 2, TableStatus.AVAILABLE, None, None)
    order = await domain.restaurant.place_order(table.id, [
        OrderLine(menu_id=dish.id, qty=2, options=["Large", "EXTRA EGG"], modifiers=["Large"]),
        OrderLine(name="naengmyeon"), OrderLine(name="Corkage", price=20000),
        OrderLine(name="Napkins")], "")
    assert [(item.menu_id, item.price, item.options) for item in order.items] == [
        (dish.id, 16000, ["Large", "Extra egg"]), (dish.id, 12000, []), (None, 20000, []),
        (None, 0, [])]
    assert order.items[0].modifiers == ["Large", "Extra egg"]  # an option is said once
    assert (order.total, order.source) == (64000, "staff")
    assert order.visit_id == domain.item("visits", order.visit_id)["id"]
    await domain.menu.change(dish.id, {"price": 1, "options": []})
    assert domain.item("orders", order.id)["total"] == 64000
    with pytest.raises(Invalid, match="Large"):
        await domain.restaurant.place_order(
            table.id, [OrderLine(menu_id=dish.id, options=["Large"])], "")


async def test_a_table_is_removed_only_without_an_open_visit(domain: Domain) -> None:
    table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, 1.0, 1.0)
    visit = await domain.visits.open(table.id, 2)
    with pytest.raises(Conflict, match="open visit"):
        await domain.restaurant.remove_table(table.id)
    assert await domain.store.table(table.id) is not None
    await domain.restaurant.close_visit(visit.id)
    await domain.restaurant.remove_table(table.id)
    assert await domain.store.table(table.id) is None
    tables, _ = domain.hub.snapshot("tables")
    assert tables == []
    with pytest.raises(NotFound):
        await domain.restaurant.remove_table(table.id)

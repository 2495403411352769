"""A robot's delivery report when the database refuses part of it: the record and its effect
must not part ways, since the robot sends a line answered `unavailable` again (SPEC §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from robodyne.core.errors import StorageUnavailable
from robodyne.core.models import OrderLine, OrderStatus as S, Severity, TableStatus
from robodyne.domain.robot_reports import RobotReports

from ..support.domain import Domain, open_domain


@pytest.fixture
async def domain(tmp_path: Path) -> AsyncIterator[Domain]:
    async with open_domain(tmp_path) as opened:
        yield opened


async def _ready_order(domain: Domain) -> int:
    table = await domain.restaurant.add_table("T1", 4, TableStatus.AVAILABLE, 6.0, 2.5)
    order = await domain.restaurant.place_order(table.id, [OrderLine(name="Tea", qty=1)], "")
    await domain.restaurant.change_order(order.id, status=S.PREPARING)
    await domain.restaurant.change_order(order.id, status=S.READY)
    return order.id


async def delivered_records(domain: Domain) -> list[Any]:
    return [event for event in await domain.store.events(1000) if event.type == "delivered"]


async def deliver(reports: RobotReports, order_id: int) -> None:
    await reports.event(None, "delivered", severity=Severity.INFO, message="", data={},
                        order_id=order_id, table_id=None)


async def test_a_delivery_refused_then_sent_again_is_recorded_once_and_served_once(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = await _ready_order(domain)
    reports = RobotReports(domain.journal, domain.restaurant, domain.dispatcher)
    update_order = domain.store.update_order

    async def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise StorageUnavailable("database or disk is full")

    monkeypatch.setattr(domain.store, "update_order", full_disk)
    with pytest.raises(StorageUnavailable):
        await deliver(reports, order_id)
    # Refused: nothing of it was kept, so the robot's sending it again is not a second one.
    assert await delivered_records(domain) == []
    monkeypatch.setattr(domain.store, "update_order", update_order)
    await deliver(reports, order_id)
    assert len(await delivered_records(domain)) == 1
    assert (await domain.store.order(order_id)).status is S.SERVED  # type: ignore[union-attr]
    assert len(domain.events("order_served")) == 1


async def test_a_delivery_served_whose_record_is_refused_is_published_from_memory(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order is served (committed), so the robot is acked: its record is then kept as the
    server's own are while the disk refuses writes, not refused into a second serving."""
    order_id = await _ready_order(domain)
    reports = RobotReports(domain.journal, domain.restaurant, domain.dispatcher)
    add_event = domain.store.add_event

    async def full_disk(type_: str, **kwargs: Any) -> Any:
        if type_ == "delivered":
            raise StorageUnavailable("database or disk is full")
        return await add_event(type_, **kwargs)

    monkeypatch.setattr(domain.store, "add_event", full_disk)
    await deliver(reports, order_id)
    assert (await domain.store.order(order_id)).status is S.SERVED  # type: ignore[union-attr]
    [published] = domain.events("delivered")
    assert published["id"] < 0 and published["data"]["order_id"] == order_id

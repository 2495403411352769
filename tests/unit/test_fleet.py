"""The fleet on a real SQLite file and hub, without TCP: sessions, transitions and events."""

from __future__ import annotations


import pytest

from robodyne.core.errors import RobotOffline
from robodyne.core.models import Command

from ..support.domain import Domain, RecordingLink


async def test_a_robot_that_says_hello_is_online_idle_and_announced(domain: Domain) -> None:
    await domain.fleet.connect("r1", "Rosie", "S1", RecordingLink())
    robot = domain.item("robots", "r1")
    assert (robot["connected"], robot["status"], robot["name"]) == (True, "idle", "Rosie")
    stored = await domain.store.robot("r1")
    assert stored is not None and stored.connected
    [event] = domain.events("robot_connected")
    assert event["source"] == "robot:r1" and event["data"]["replaced_session"] is False


async def test_a_second_session_takes_over_and_the_first_ones_end_changes_nothing(
    domain: Domain
) -> None:
    first, second = RecordingLink(), RecordingLink()
    await domain.fleet.connect("r1", None, None, first)
    await domain.fleet.connect("r1", None, None, second)
    assert first.ended == "replaced" and second.ended is None
    await domain.fleet.disconnect("r1", first, "lost")
    assert domain.item("robots", "r1")["connected"] is True
    assert domain.events("robot_offline") == []


@pytest.mark.parametrize(("reason", "event", "severity"), [
    ("bye", "robot_disconnected", "info"), ("lost", "robot_offline", "warning"),
    ("silent", "robot_offline", "warning"), ("shutdown", None, None)])
async def test_how_a_session_ends_decides_the_event(
    domain: Domain, reason: str, event: str | None, severity: str | None
) -> None:
    link = RecordingLink()
    await domain.fleet.connect("r1", None, None, link)
    await domain.fleet.disconnect("r1", link, reason)
    assert domain.item("robots", "r1")["status"] == "offline"
    raised = [e for e in domain.hub.snapshot("events")[0] if e["type"] != "robot_connected"]
    assert [(e["type"], e["severity"]) for e in raised] == (
        [(event, severity)] if event else [])


async def test_robot_error_on_each_change_into_or_between_error_statuses(domain: Domain) -> None:
    await domain.fleet.connect("r1", None, None, RecordingLink())
    for status in ("error", "error", "emergency_stop", "idle", "delivering", "emergency_stop",
                   "error"):
        await domain.fleet.apply_state("r1", {"status": status})
    assert [e["data"]["status"] for e in domain.events("robot_error")] == [
        "error", "emergency_stop", "emergency_stop", "error"]


async def test_low_battery_once_per_crossing_below_20(domain: Domain) -> None:
    await domain.fleet.connect("r1", None, None, RecordingLink())
    for battery in (50, 19, 15, 30, 12, 11, None, 5):
        await domain.fleet.apply_state("r1", {"battery": battery})
    assert [e["data"]["battery"] for e in domain.events("low_battery")] == [19, 12, 5]


async def test_commit_publishes_and_stores_what_was_reported_at_once(domain: Domain) -> None:
    await domain.fleet.connect("r1", None, None, RecordingLink())
    await domain.fleet.apply_state("r1", {"battery": 42, "pose": {"x": 1, "y": 2, "yaw": 0,
                                                                  "map": "floor"}})
    await domain.fleet.commit("r1")  # no await of the publish window
    assert domain.item("robots", "r1")["battery"] == 42
    stored = await domain.store.robot("r1")
    assert stored is not None and stored.battery == 42 and stored.pose is not None


async def test_a_command_goes_to_the_robots_link_by_name_and_fields(domain: Domain) -> None:
    link = RecordingLink()
    with pytest.raises(RobotOffline):
        domain.fleet.send_command("r1", Command.GO_TO, table_id=3)
    await domain.fleet.connect("r1", None, None, link)
    command_id = domain.fleet.send_command("r1", Command.GO_TO, table_id=3, order_id=None)
    assert link.commands == [(command_id, Command.GO_TO, {"table_id": 3, "order_id": None})]


async def test_a_robots_view_follows_every_change_of_its_record_and_session(
    domain: Domain
) -> None:
    fleet, link = domain.fleet, RecordingLink()
    assert fleet.robot("r1") is None
    await fleet.connect("r1", None, None, link)
    seen = fleet.robot("r1")
    assert seen is not None and (seen.status, seen.online, seen.position) == ("idle", True, None)
    assert fleet.online() == [seen]  # read twice, the same until something changes
    await fleet.apply_state("r1", {"battery": 41.5, "status": "delivering",
                                   "pose": {"x": 3, "y": 4.5, "yaw": 0.0, "map": "floor"}})
    seen = fleet.robot("r1")
    assert seen is not None
    assert (seen.status, seen.battery, seen.position) == ("delivering", 41.5, (3.0, 4.5))
    await fleet.disconnect("r1", link, "lost")
    seen = fleet.robot("r1")
    assert seen is not None and (seen.status, seen.online) == ("offline", False)
    assert fleet.online() == []
    async with domain.store.transaction() as db:  # another program recharges it
        await db.execute("UPDATE robots SET battery = 90 WHERE id = 'r1'")
    await fleet.reload("r1")
    seen = fleet.robot("r1")
    assert seen is not None and seen.battery == 90
    await fleet.connect("r1", None, None, RecordingLink())
    seen = fleet.robot("r1")
    assert seen is not None and (seen.status, seen.online) == ("idle", True)

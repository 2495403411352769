"""The dispatcher's choices (docs/protocol.md, "Dispatch") on a real SQLite file and hub, with
recording links for robots and no sockets: given robots and tasks, who takes what, and how a
task comes back when its robot refuses, drops or fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from robodyne.core.errors import StorageUnavailable
from robodyne.core.models import (
    Command,
    OrderLine,
    OrderPriority,
    OrderStatus,
    TableStatus,
    TaskKind,
)
from robodyne.core.tasks import TaskClaim
from robodyne.domain.dispatch import Dispatcher
from robodyne.settings import DispatchSettings

from ..support.domain import Domain, RecordingLink, open_domain
from ..support.refusal import refused_from
from ..support.wait import until

S = OrderStatus
# Three tables along the floor: T1 near the dock (x 1.5), T3 far from it.
TABLES = (("T1", 4.0), ("T2", 10.0), ("T3", 18.0))


@dataclass
class Floor:
    """A domain with a dispatcher, its three tables, and robots joined through the fleet."""

    domain: Domain
    dispatcher: Dispatcher
    tables: list[int]

    async def robot(self, robot_id: str, *, x: float | None = None,
                    claim: TaskClaim | None = None, **state: Any) -> RecordingLink:
        """A robot says hello (with what it says of its task, `claim`) and reports its state
        (a pose at x, 6 when x is given)."""
        link = RecordingLink()
        await self.domain.fleet.connect(robot_id, None, None, link, claim)
        if x is not None:
            state["pose"] = {"x": x, "y": 6.0, "yaw": 0.0, "map": "floor"}
        if state:
            await self.domain.fleet.apply_state(robot_id, state)
        return link

    async def ready(self, table_id: int, priority: OrderPriority = OrderPriority.NORMAL
                    ) -> int:
        """An order for the table, cooked: it becomes ready (and so, with auto_deliver, rides)."""
        restaurant = self.domain.restaurant
        order = await restaurant.place_order(table_id, [OrderLine(name="Bibimbap")], "",
                                             priority)
        await restaurant.change_order(order.id, status=S.PREPARING)
        await restaurant.change_order(order.id, status=S.READY)
        return order.id

    def task(self, task_id: int) -> dict[str, Any]:
        return self.domain.item("tasks", task_id)

    def tasks(self) -> list[dict[str, Any]]:
        return self.domain.hub.snapshot("tasks")[0]

    async def answer(self, robot_id: str, link: RecordingLink, status: str) -> None:
        """The robot answers the last command it was sent."""
        await self.dispatcher.command_result(robot_id, link.commands[-1][0], status, "")


OpenFloor = Callable[..., Awaitable[Floor]]


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[OpenFloor]:
    async with AsyncExitStack() as stack:
        async def open_floor(**dispatch: Any) -> Floor:
            """The domain as the app builds it, with the default dispatch settings (automatic
            deliveries, charging) but for `dispatch`, and robots that stay where they are."""
            defaults = DispatchSettings().model_dump()
            domain = await stack.enter_async_context(open_domain(
                tmp_path, dispatch={**defaults, "return_when_idle": False, **dispatch}))
            tables = [(await domain.restaurant.add_table(label, 4, TableStatus.AVAILABLE, x,
                                                         6.0)).id for label, x in TABLES]
            return Floor(domain, domain.dispatcher, tables)

        yield open_floor


def _sent(link: RecordingLink) -> list[Command]:
    return [name for _, name, _ in link.commands]


async def test_a_ready_order_rides_on_a_deliver_task_nobody_asked_for(floor: OpenFloor) -> None:
    f = await floor()
    link = await f.robot("r1", x=2.0)
    order_id = await f.ready(f.tables[0])
    [(command_id, name, fields)] = link.commands
    assert name is Command.DELIVER
    # The stop carries its table's position: a robot needs no map of table ids (SPEC §4).
    assert fields["stops"] == [{"table_id": f.tables[0], "order_ids": [order_id],
                                "x": 4.0, "y": 6.0}]
    task = f.task(fields["task_id"])
    assert (task["status"], task["robot_id"], task["command_id"]) == (
        "assigned", "r1", command_id)


async def test_the_robot_nearest_the_first_stop_takes_the_task(floor: OpenFloor) -> None:
    f = await floor()
    near_dock, near_t3 = await f.robot("dock", x=1.5), await f.robot("far", x=17.0)
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[2])
    assert (_sent(near_dock), _sent(near_t3)) == ([], [Command.SUMMON])


async def test_a_robot_without_a_pose_counts_as_farthest(floor: OpenFloor) -> None:
    f = await floor()
    lost, placed = await f.robot("lost"), await f.robot("placed", x=19.0)
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert (_sent(lost), _sent(placed)) == ([], [Command.SUMMON])


async def test_between_equally_far_robots_the_one_free_longest_wins(floor: OpenFloor) -> None:
    f = await floor()
    first, second = await f.robot("b-first"), await f.robot("a-second")
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert (_sent(first), _sent(second)) == ([Command.SUMMON], [])


@pytest.mark.parametrize(("state", "why"), [
    ({"battery": 29.0}, "below min_battery"),
    ({"status": "emergency_stop"}, "e-stopped"),
    ({"status": "error"}, "in error"),
    ({"status": "paused"}, "paused"),
    ({"status": "charging", "battery": 79.0}, "charging, not yet at resume_battery"),
])
async def test_a_robot_that_is_not_available_is_skipped(
    floor: OpenFloor, state: dict[str, Any], why: str
) -> None:
    f = await floor()
    skipped = await f.robot("skipped", x=4.0, **state)
    farther = await f.robot("farther", x=18.0)
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert (_sent(skipped), _sent(farther)) == ([], [Command.SUMMON]), why


@pytest.mark.parametrize("state", [{"battery": None}, {"battery": 30.0},
                                   {"status": "charging", "battery": 80.0}])
async def test_unknown_battery_min_battery_and_a_charged_charger_are_available(
    floor: OpenFloor, state: dict[str, Any]
) -> None:
    f = await floor()
    link = await f.robot("r1", x=4.0, **state)
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert _sent(link) == [Command.SUMMON]


async def test_an_offline_robot_is_skipped_and_nothing_queued_is_lost(floor: OpenFloor) -> None:
    f = await floor()
    link = await f.robot("r1", x=4.0)
    await f.domain.fleet.disconnect("r1", link, "lost")
    task = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert link.commands == [] and f.task(task.id)["status"] == "queued"
    back = await f.robot("r1")
    assert _sent(back) == [Command.SUMMON]


async def test_a_robot_on_a_task_takes_no_second_one(floor: OpenFloor) -> None:
    f = await floor()
    link = await f.robot("r1", x=4.0)
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    second = await f.dispatcher.create(TaskKind.BUS, table_id=f.tables[0])
    assert _sent(link) == [Command.SUMMON] and f.task(second.id)["status"] == "queued"


async def test_orders_ready_while_no_robot_is_free_ride_together_up_to_max_stops(
    floor: OpenFloor
) -> None:
    f = await floor(max_stops=2)
    t1, t2, t3 = f.tables
    orders = [await f.ready(table) for table in (t1, t2, t1, t3)]
    stops = [[(s["table_id"], s["order_ids"]) for s in task["stops"]] for task in f.tasks()]
    assert stops == [[(t1, [orders[0], orders[2]]), (t2, [orders[1]])], [(t3, [orders[3]])]]
    link = await f.robot("r1", x=2.0)
    assert len(link.commands[0][2]["stops"]) == 2  # one trip, two tables


async def test_the_highest_priority_goes_first_then_the_oldest(floor: OpenFloor) -> None:
    f = await floor()
    old = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    urgent = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[1], priority=5)
    newer = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[2])
    links = [await f.robot(f"r{n}") for n in range(3)]
    assert [link.commands[0][2]["task_id"] for link in links] == [urgent.id, old.id, newer.id]


async def test_a_rush_order_raises_its_trip_above_the_others(floor: OpenFloor) -> None:
    f = await floor(max_stops=1)
    await f.ready(f.tables[0])
    await f.ready(f.tables[1], OrderPriority.RUSH)
    link = await f.robot("r1")
    assert link.commands[0][2]["table_id"] == f.tables[1]


async def test_a_pinned_task_waits_for_its_robot(floor: OpenFloor) -> None:
    f = await floor()
    other = await f.robot("other", x=4.0)
    await f.robot("pinned", x=4.0, status="paused")
    task = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0], robot_id="pinned")
    assert other.commands == [] and f.task(task.id)["status"] == "queued"
    await f.domain.fleet.apply_state("pinned", {"status": "idle"})
    assert f.task(task.id)["robot_id"] == "pinned" and f.task(task.id)["status"] == "assigned"


async def test_a_rejected_task_goes_to_another_robot_and_never_back(floor: OpenFloor) -> None:
    f = await floor()
    refuser = await f.robot("refuser", x=4.0)
    task = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    taker = await f.robot("taker", x=18.0)
    await f.answer("refuser", refuser, "rejected")
    assert _sent(refuser) == [Command.SUMMON] and _sent(taker) == [Command.SUMMON]
    assert f.task(task.id)["rejected_by"] == ["refuser"]


async def test_a_robot_dropping_before_it_accepted_puts_its_task_back_in_the_queue(
    floor: OpenFloor
) -> None:
    f = await floor()
    link = await f.robot("r1")
    task = await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    await f.domain.fleet.disconnect("r1", link, "lost")
    assert (f.task(task.id)["status"], f.task(task.id)["robot_id"]) == ("queued", None)


async def _dropped_underway(f: Floor, robot_id: str) -> tuple[int, int]:
    """A robot takes a ready order on its way, then drops off: the order and the task."""
    link = await f.robot(robot_id)
    order_id = await f.ready(f.tables[0])
    task_id = link.commands[0][2]["task_id"]
    await f.answer(robot_id, link, "accepted")
    assert f.domain.item("orders", order_id)["status"] == "delivering"
    await f.domain.fleet.disconnect(robot_id, link, "lost")
    assert f.task(task_id)["status"] == "failed"
    return order_id, task_id


async def test_a_robot_dropping_underway_fails_the_task_and_its_order_rides_again(
    floor: OpenFloor
) -> None:
    f = await floor()
    order_id, _ = await _dropped_underway(f, "first")
    [failed] = f.domain.events("task_failed")
    assert failed["data"]["order_ids"] == [order_id]
    second = await f.robot("second")
    assert second.commands[0][2]["order_id"] == order_id
    assert f.domain.item("orders", order_id)["status"] == "ready"


async def test_a_robot_back_on_the_trip_that_failed_while_it_was_away_is_told_to_drop_it(
    floor: OpenFloor
) -> None:
    f = await floor()
    order_id, task_id = await _dropped_underway(f, "r1")
    back = await f.robot("r1", claim=TaskClaim(task_id))
    # The food's new trip, and the failed one dropped: the robot does not drive it on.
    [(_, again, trip), (_, dropped, fields)] = back.commands
    assert (again, trip["order_id"]) == (Command.DELIVER, order_id) and trip["task_id"] != task_id
    assert (dropped, fields["task_id"]) == (Command.CANCEL, task_id)


async def test_a_robot_back_claiming_the_task_put_back_in_the_queue_gets_it_and_no_cancel(
    floor: OpenFloor
) -> None:
    f = await floor()
    first = await f.robot("r1")
    await f.ready(f.tables[0])
    task_id = first.commands[0][2]["task_id"]
    await f.domain.fleet.disconnect("r1", first, "lost")  # before it accepted: queued again
    assert f.task(task_id)["status"] == "queued"
    back = await f.robot("r1", claim=TaskClaim(task_id))
    [(_, name, fields)] = back.commands
    assert (name, fields["task_id"]) == (Command.DELIVER, task_id)


async def test_an_idle_robot_low_on_battery_charges_until_resume_battery(
    floor: OpenFloor
) -> None:
    f = await floor()
    link = await f.robot("r1", battery=24.0)
    [(_, name, fields)] = link.commands
    assert name is Command.CHARGE
    await f.answer("r1", link, "accepted")
    await f.domain.fleet.apply_state("r1", {"status": "charging", "battery": 80.0})
    assert f.task(fields["task_id"])["status"] == "completed"
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    assert _sent(link) == [Command.CHARGE, Command.SUMMON]


async def test_a_robot_whose_task_completed_goes_home_when_nothing_waits_for_it(
    floor: OpenFloor
) -> None:
    f = await floor(return_when_idle=True)
    link = await f.robot("r1")
    await f.dispatcher.create(TaskKind.SUMMON, table_id=f.tables[0])
    await f.answer("r1", link, "accepted")
    await f.answer("r1", link, "done")
    assert _sent(link) == [Command.SUMMON, Command.RETURN]


@pytest.fixture
async def watched(floor: OpenFloor) -> AsyncIterator[Floor]:
    """A floor whose journal watches the store, as the app's storage-watch task does."""
    f = await floor()
    watch = asyncio.create_task(f.domain.journal.watch_storage())
    yield f
    watch.cancel()
    await asyncio.gather(watch, return_exceptions=True)


async def test_an_order_made_ready_whose_trip_was_refused_rides_once_the_store_recovers(
    watched: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    f, restaurant = watched, watched.domain.restaurant
    order = await restaurant.place_order(f.tables[0], [OrderLine(name="Bibimbap")], "")
    await restaurant.change_order(order.id, status=S.PREPARING)
    async with refused_from(f.domain.store, monkeypatch, "add_task"):
        with pytest.raises(StorageUnavailable):
            await restaurant.change_order(order.id, status=S.READY)
        # Ready was committed, its trip was not: the kitchen's resent bump finds it ready.
        assert f.domain.item("orders", order.id)["status"] == "ready" and f.tasks() == []
    await until(lambda: f.domain.events("storage_recovered"), 5, "recovered")
    await until(lambda: f.tasks(), 5, "its trip, written after the recovery")
    [task] = f.tasks()
    assert [stop["order_ids"] for stop in task["stops"]] == [[order.id]]
    assert f.domain.item("orders", order.id)["task_id"] == task["id"]


async def test_a_failed_trip_whose_orders_were_not_released_releases_them_on_recovery(
    watched: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = watched
    robot = await f.robot("r1")
    order_id = await f.ready(f.tables[0])
    task_id = robot.commands[0][2]["task_id"]
    await f.answer("r1", robot, "accepted")
    async with refused_from(f.domain.store, monkeypatch, "update_order"):
        with pytest.raises(StorageUnavailable):
            await f.dispatcher.robot_event("r1", "failed", task_id=task_id, table_id=None,
                                           order_id=None, message="blocked")
        # The trip failed (committed); its order is still out on it, the robot's resent
        # line finds the task over: only the look-over can give the order back.
        assert f.task(task_id)["status"] == "failed"
        assert f.domain.item("orders", order_id)["status"] == "delivering"
    await until(lambda: len(robot.commands) == 2, 5, "the order on a new trip, to r1")
    again = robot.commands[1][2]
    assert (again["order_id"], f.domain.item("orders", order_id)["status"]) == (order_id, "ready")
    assert again["task_id"] != task_id


async def test_food_a_person_carries_stays_in_their_hands_when_the_orders_are_looked_over(
    floor: OpenFloor
) -> None:
    f = await floor()
    order_id = await f.ready(f.tables[0])
    [queued] = f.tasks()
    await f.domain.restaurant.change_order(order_id, status=S.DELIVERING)  # a waiter took it
    assert f.task(queued["id"])["status"] == "cancelled"
    await f.dispatcher.look_over()  # as after the database recovered
    order = f.domain.item("orders", order_id)
    assert (order["status"], order["task_id"]) == ("delivering", None)
    assert [t["status"] for t in f.tasks()] == ["cancelled"]

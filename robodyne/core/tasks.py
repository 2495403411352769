"""The task lifecycle (docs/protocol.md, "Dispatch"): which statuses are final, what a robot
may carry, when a stop is closed, how staff and robots change a task, the command it becomes,
and when a finished task leaves the tasks snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from .errors import Conflict
from .floor import Point
from .models import (
    OrderStatus,
    PlaceName,
    StopStatus,
    Task,
    TaskChanges,
    TaskKind,
    TaskStatus,
    TaskStop,
    iso,
)

FINISHED: Final = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# A task holding a robot: it was sent its command and has not finished.
ACTIVE: Final = frozenset({TaskStatus.ASSIGNED, TaskStatus.UNDERWAY})
# What staff may still change: the priority of a task waiting in the queue; the robot of one
# no robot has started (an assigned task's robot is told to cancel).
REPRIORITISABLE: Final = frozenset({TaskStatus.QUEUED})
REPINNABLE: Final = frozenset({TaskStatus.QUEUED, TaskStatus.ASSIGNED})
# Kinds that go to a table, and so take a stop with the table (and for deliver, orders).
TABLE_KINDS: Final = frozenset({TaskKind.DELIVER, TaskKind.BUS, TaskKind.SUMMON, TaskKind.GO_TO,
                                TaskKind.ESCORT})
# Where a kind's command says the robot starts from, or drives to, besides its stops (SPEC §4):
# an escort meets its party at the host stand; going home and charging end at the dock.
FROM_PLACE: Final[Mapping[str, PlaceName]] = {TaskKind.ESCORT: PlaceName.HOST}
TO_PLACE: Final[Mapping[str, PlaceName]] = {
    TaskKind.RETURN: PlaceName.DOCK, TaskKind.CHARGE: PlaceName.DOCK}
# An order a robot may carry: ready for a trip, or on one. Any other order is out of the
# robots' hands (still cooking, or closed), and a task's end leaves it as it is.
CARRIABLE_ORDER_STATUSES: Final = frozenset({OrderStatus.READY, OrderStatus.DELIVERING})
# A stop the robot has nothing left to do at: its orders served, or none left to serve.
CLOSED_STOP_STATUSES: Final = frozenset({StopStatus.DONE, StopStatus.SKIPPED})
# Finished tasks stay in the tasks snapshot this long, as closed orders do in theirs.
FINISHED_TASK_WINDOW_S: Final = 3600


@dataclass(frozen=True)
class TaskClaim:
    """A robot's hello's word on the task it carries out: that one, or none (None)."""

    task_id: int | None

    def lost(self, task: Task) -> bool:
        """Whether the robot no longer carries `task`, which the server holds for it: it
        restarted, or never got its command."""
        return self.task_id != task.id

    def stale(self, task: Task | None) -> int | None:
        """The task the robot says it carries when the server holds another or none for it
        (`task`: it ended while the robot was away, or is another's): the robot is to drop it."""
        if self.task_id is None or (task is not None and task.id == self.task_id):
            return None
        return self.task_id


def orders_on(task: Task) -> list[int]:
    """Every order the task carries, stop by stop."""
    return [order_id for stop in task.stops for order_id in stop.order_ids]


def all_stops_closed(stops: Iterable[TaskStop]) -> bool:
    return all(stop.status in CLOSED_STOP_STATUSES for stop in stops)


def with_order(stops: Iterable[TaskStop], table_id: int, order_id: int) -> list[TaskStop]:
    """The stops with the order added: to the stop at its table, else on a new stop."""
    changed = [stop.model_copy(deep=True) for stop in stops]
    stop = next((s for s in changed if s.table_id == table_id), None)
    if stop is None:
        changed.append(TaskStop(table_id=table_id, order_ids=[order_id]))
    else:
        stop.order_ids.append(order_id)
    return changed


def without_order(stops: Iterable[TaskStop], order_id: int) -> list[TaskStop]:
    """The stops with the order taken off; a stop it leaves empty (and not done) is skipped."""
    changed = [stop.model_copy(deep=True) for stop in stops]
    for stop in changed:
        if order_id in stop.order_ids:
            stop.order_ids.remove(order_id)
            if not stop.order_ids and stop.status is not StopStatus.DONE:
                stop.status = StopStatus.SKIPPED
    return changed


def arrived_at(stops: Iterable[TaskStop], table_id: int) -> list[TaskStop] | None:
    """The stops with the first pending one at that table arrived; None when there is none."""
    changed = [stop.model_copy() for stop in stops]
    stop = next((s for s in changed if s.table_id == table_id
                 and s.status is StopStatus.PENDING), None)
    if stop is None:
        return None
    stop.status = StopStatus.ARRIVED
    return changed


def closed_stops(stops: Iterable[TaskStop]) -> list[TaskStop]:
    """The stops of a completed task: every one done but those skipped."""
    return [stop if stop.status is StopStatus.SKIPPED
            else stop.model_copy(update={"status": StopStatus.DONE}) for stop in stops]


def reprioritised(task: Task, priority: int) -> TaskChanges:
    """Staff change a task's priority: only while it waits in the queue (409 after)."""
    if task.status not in REPRIORITISABLE:
        raise Conflict(f"task {task.id} is {task.status}: only a queued task's priority changes")
    return {"priority": priority}


def repinned(task: Task, robot_id: str | None) -> TaskChanges:
    """Staff pin a task to a robot (None unpins): only before a robot started it (409 after).
    An assigned task pinned to another robot goes back to the queue (its first robot is then
    told to cancel)."""
    if task.status not in REPINNABLE:
        raise Conflict(f"task {task.id} is underway on {task.robot_id}: cancel it instead")
    changes: TaskChanges = {}
    if task.status is TaskStatus.ASSIGNED and task.robot_id != robot_id:
        changes.update({"status": TaskStatus.QUEUED, "assigned_at": None, "command_id": None})
    changes.update({"robot_id": robot_id, "pinned": robot_id is not None})
    return changes


def requeued(task: Task, *, rejected: bool, detail: str) -> TaskChanges:
    """Back in the queue for another robot; one that refused it is never offered it again."""
    changes: TaskChanges = {"status": TaskStatus.QUEUED, "assigned_at": None,
                            "command_id": None, "detail": detail}
    if rejected and task.robot_id is not None:
        changes["rejected_by"] = [*task.rejected_by, task.robot_id]
        # A task pinned to the robot that refused it would wait forever: unpin it.
        changes.update({"robot_id": None, "pinned": False})
    elif not task.pinned:
        changes["robot_id"] = None
    return changes


def start_point(task: Task, tables: Mapping[int, Point],
                places: Mapping[PlaceName, Point]) -> Point | None:
    """Where the task's robot first drives: its place to start from, else its first stop's
    table; None when that has no position."""
    place = FROM_PLACE.get(task.kind)
    if place is not None:
        return places.get(place)
    return tables.get(task.stops[0].table_id) if task.stops else None


def command_fields(task: Task, tables: Mapping[int, Point],
                   places: Mapping[PlaceName, Point]) -> dict[str, Any]:
    """task_id and stops, each with its table's position so a robot needs no map of table
    ids; `from` or `to` for the kinds that start or end at a place; one stop also as table_id
    (and order_id), for simple robots."""
    fields: dict[str, Any] = {"task_id": task.id, **place_fields(task.kind, places)}
    if task.stops:
        fields["stops"] = [stop_fields(stop.table_id, stop.order_ids, tables)
                           for stop in task.stops]
    if len(task.stops) == 1:
        fields["table_id"] = task.stops[0].table_id
        if len(task.stops[0].order_ids) == 1:
            fields["order_id"] = task.stops[0].order_ids[0]
    return fields


def stop_fields(table_id: int, order_ids: list[int],
                tables: Mapping[int, Point]) -> dict[str, Any]:
    """A command's stop: its table, orders and the table's position (null when unset)."""
    x, y = tables.get(table_id, (None, None))
    return {"table_id": table_id, "order_ids": order_ids, "x": x, "y": y}


def place_fields(kind: str, places: Mapping[PlaceName, Point]) -> dict[str, Any]:
    """A command's `from` (an escort's host stand) or `to` (a return's or a charge's dock),
    null while that place is unset; nothing for the other kinds."""
    fields: dict[str, Any] = {}
    for key, named in (("from", FROM_PLACE), ("to", TO_PLACE)):
        place = named.get(kind)
        if place is not None:
            point = places.get(place)
            fields[key] = None if point is None else {"x": point[0], "y": point[1]}
    return fields


def finished_cutoff(now: datetime | None = None) -> str:
    """The finished_at before which a finished task has left the tasks snapshot."""
    return iso((now or datetime.now(timezone.utc)) - timedelta(seconds=FINISHED_TASK_WINDOW_S))


def expired(task: dict[str, object], cutoff: str) -> bool:
    return task["status"] in FINISHED and str(task["finished_at"] or "") < cutoff

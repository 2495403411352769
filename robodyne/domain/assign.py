"""Which robot is available, which takes which queued task, which queued deliver task a ready
order joins, and when a robot goes to charge: the dispatcher's choices as pure functions of
plain values (docs/protocol.md, "Dispatch")."""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

from ..core.floor import Point
from ..core.models import RobotStatus, Task
from ..settings import DispatchSettings

if TYPE_CHECKING:
    from .fleet import RobotView

# A robot's own errand to charge begins from these: not while it carries anything.
CHARGEABLE_STATUSES: Final = frozenset({RobotStatus.IDLE, RobotStatus.RETURNING})


def available(robot: RobotView, busy: Container[str], settings: DispatchSettings) -> bool:
    """Free to take a task now: online, idle (or charging and charged), its battery at
    min_battery or unknown, and on no unfinished task (`busy`)."""
    if not robot.online or robot.id in busy:
        return False
    if robot.battery is not None and robot.battery < settings.min_battery:
        return False
    return robot.status is RobotStatus.IDLE or (
        robot.status is RobotStatus.CHARGING and charged(robot.battery, settings))


def charged(battery: float | None, settings: DispatchSettings) -> bool:
    """Charged enough to stop charging and work again."""
    return battery is not None and battery >= settings.resume_battery


def low(battery: float | None, settings: DispatchSettings) -> bool:
    """Low enough that the robot should go to charge rather than wait for work."""
    return battery is not None and battery < settings.charge_below


def needs_charge(robot: RobotView, settings: DispatchSettings) -> bool:
    """Low, and doing nothing a charge would cut short (the caller knows it has no task)."""
    return low(robot.battery, settings) and robot.status in CHARGEABLE_STATUSES


# NamedTuples: a decision makes one per queued task and per free robot, and these are the
# cheapest records Python builds (a frozen dataclass costs several times more).
class Candidate(NamedTuple):
    """A robot free to take a task now: where it is, and since when it has been free."""

    robot_id: str
    position: Point | None
    free_since: float


class Job(NamedTuple):
    """A queued task as the choice sees it."""

    task_id: int
    priority: int
    created_at: str
    # Where it goes first (its first stop's table), when that table has a position.
    target: Point | None = None
    pinned_to: str | None = None
    rejected_by: frozenset[str] = frozenset()


class Jobs:
    """The queued tasks as the choice sees them, each Job kept while its task (and its table)
    stay as they are: with a long queue, rebuilding every job each decision was most of its
    cost."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Task, Job]] = {}

    def of(self, queued: Iterable[Task], start: Callable[[Task], Point | None]) -> list[Job]:
        """The queued tasks' jobs, each aimed where its robot first drives (`start`); only
        theirs are kept for the next decision."""
        kept: dict[int, tuple[Task, Job]] = {}
        for task in queued:
            target = start(task)
            held = self._kept.get(task.id)
            if held is None or held[0] is not task or held[1].target != target:
                held = (task, Job(task.id, task.priority, task.created_at, target,
                                  task.robot_id if task.pinned else None,
                                  frozenset(task.rejected_by)))
            kept[task.id] = held
        self._kept = kept
        return [job for _, job in kept.values()]


def _distance(robot: Candidate, target: Point | None) -> float:
    """Metres from the robot to the target; a robot or table with no position is farthest."""
    if robot.position is None or target is None:
        return math.inf
    return math.dist(robot.position, target)


def plan(jobs: Iterable[Job], free: Iterable[Candidate]) -> list[tuple[int, str]]:
    """(task_id, robot_id) pairs for this round: highest priority first, then oldest, each to
    its pinned robot if that one is free, else to the nearest free robot that has not
    rejected it (ties to the robot free the longest). A job nobody can take stays queued."""
    robots = {robot.robot_id: robot for robot in free}
    pairs: list[tuple[int, str]] = []
    for job in sorted(jobs, key=lambda j: (-j.priority, j.created_at, j.task_id)):
        if not robots:
            break
        if job.pinned_to is not None:
            chosen = robots.get(job.pinned_to)
        else:
            eligible = [r for r in robots.values() if r.robot_id not in job.rejected_by]
            chosen = min(eligible, default=None,
                         key=lambda r: (_distance(r, job.target), r.free_since, r.robot_id))
        if chosen is not None:
            pairs.append((job.task_id, chosen.robot_id))
            del robots[chosen.robot_id]
    return pairs


class OpenDelivery(NamedTuple):
    """A queued, unpinned deliver task a ready order may still join."""

    task_id: int
    tables: Sequence[int]  # its stops' tables, in order


def delivery_for(table_id: int, open_deliveries: Iterable[OpenDelivery],
                 max_stops: int) -> int | None:
    """The queued deliver task a ready order for `table_id` joins, or None for a new one:
    the one with a stop at that table, else the oldest with room for another stop."""
    deliveries = sorted(open_deliveries, key=lambda d: d.task_id)
    for delivery in deliveries:
        if table_id in delivery.tables:
            return delivery.task_id
    for delivery in deliveries:
        if len(delivery.tables) < max_stops:
            return delivery.task_id
    return None

"""Which robot takes which queued task, and which queued deliver task a ready order joins:
the dispatcher's choices as pure functions of plain values (docs/protocol.md, "Dispatch")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

Point = tuple[float, float]


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

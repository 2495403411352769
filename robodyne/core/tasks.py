"""The task lifecycle (docs/protocol.md, "Dispatch"): which statuses are final, and when a
finished task leaves the tasks snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

from .models import TaskStatus, iso

FINISHED: Final = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# A task holding a robot: it was sent its command and has not finished.
ACTIVE: Final = frozenset({TaskStatus.ASSIGNED, TaskStatus.UNDERWAY})
# What staff may still change: the priority of a task waiting in the queue; the robot of one
# no robot has started (an assigned task's robot is told to cancel).
REPRIORITISABLE: Final = frozenset({TaskStatus.QUEUED})
REPINNABLE: Final = frozenset({TaskStatus.QUEUED, TaskStatus.ASSIGNED})
# Finished tasks stay in the tasks snapshot this long, as closed orders do in theirs.
FINISHED_TASK_WINDOW_S: Final = 3600


def finished_cutoff(now: datetime | None = None) -> str:
    """The finished_at before which a finished task has left the tasks snapshot."""
    return iso((now or datetime.now(timezone.utc)) - timedelta(seconds=FINISHED_TASK_WINDOW_S))


def expired(task: dict[str, object], cutoff: str) -> bool:
    return task["status"] in FINISHED and str(task["finished_at"] or "") < cutoff

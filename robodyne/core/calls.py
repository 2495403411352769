"""A table's calls for staff or a robot (SPEC §11.5, docs/guests.md): the record, and the rule
of one open call per kind and table."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypedDict

from .models import Item, TaskStatus


class CallKind(StrEnum):
    STAFF = "staff"
    ROBOT = "robot"
    WATER = "water"
    BILL = "bill"


class CallStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class Call(Item):
    id: int
    table_id: int
    # None for a call made before the table's party ordered anything (no visit yet).
    visit_id: int | None = None
    kind: CallKind
    status: CallStatus = CallStatus.OPEN
    # A robot call's summon task, which answers it by completing.
    task_id: int | None = None
    created_at: str
    answered_at: str | None = None


class CallChanges(TypedDict, total=False):
    status: CallStatus
    visit_id: int | None
    task_id: int | None
    answered_at: str | None


# How a robot call ends with its summon task: answered when the robot got there, cancelled
# when the task ended any other way.
ENDED_BY_TASK: Final = {TaskStatus.COMPLETED: CallStatus.ANSWERED,
                        TaskStatus.CANCELLED: CallStatus.CANCELLED,
                        TaskStatus.FAILED: CallStatus.CANCELLED}


def expired(call: dict[str, object], cutoff: str) -> bool:
    """Whether a call record has ended before `cutoff` (answered then, or cancelled: a
    cancelled call keeps no end time, so its creation stands for it)."""
    ended = call["answered_at"] or call["created_at"]
    return call["status"] != CallStatus.OPEN and str(ended) < cutoff

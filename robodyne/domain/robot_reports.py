"""What a robot (or an integration peer) reports besides its state: events, logs, results."""

from __future__ import annotations

from typing import Any

from ..core.errors import Forbidden
from ..core.events import server_owned
from ..core.models import LogLevel, Severity
from .dispatch import Dispatcher
from .journal import Journal
from .restaurant import Restaurant

# The events by which a robot carries out a task (docs/protocol.md, "Dispatch").
TASK_EVENTS = frozenset({"arrived", "delivered", "failed"})


def source_of(robot_id: str | None) -> str:
    """The source its records carry: `robot:<id>`, or `integration` for a peer without one."""
    return f"robot:{robot_id}" if robot_id else "integration"


class RobotReports:
    """Turns a session's events, logs and command results into journal records and rules."""

    def __init__(self, journal: Journal, restaurant: Restaurant, dispatcher: Dispatcher) -> None:
        self._journal = journal
        self._restaurant = restaurant
        self._dispatcher = dispatcher

    async def event(self, robot_id: str | None, event: str, *, severity: Severity, message: str,
                    data: dict[str, Any], order_id: int | None, table_id: int | None,
                    task_id: int | None = None) -> None:
        """Store the robot's event; those of a task drive it, and `delivered` serves an order
        only when that order is on this robot (its robot_id, or a task assigned to it)."""
        if server_owned(event):
            raise Forbidden(f"event {event!r} is the server's own")
        served = order_id if event == "delivered" else None  # the order it serves, if any
        if served is not None:
            await self._check_carrier(robot_id, served)
        data = dict(data)
        data.update({k: v for k, v in (("robot_id", robot_id), ("order_id", order_id),
                                       ("table_id", table_id), ("task_id", task_id))
                     if v is not None})
        # The effect first, then the record: a record stored before its effect was refused
        # (`unavailable`) was stored again when the robot sent the line again, as SPEC §4 asks.
        # Once the effect is committed the record may be kept in memory only, as the server's
        # own records are while the database refuses writes: the robot is acked, not told to
        # do it again.
        if not (event in TASK_EVENTS and robot_id is not None and await (
                self._dispatcher.robot_event(robot_id, event, task_id=task_id,
                                             table_id=table_id, order_id=order_id,
                                             message=message))):
            if served is not None:
                await self._restaurant.delivered(served, robot_id)
        acts = event in TASK_EVENTS or served is not None
        await self._journal.event(event, severity=severity, source=source_of(robot_id),
                                  message=message, data=data, durable=False if acts else None)

    async def _check_carrier(self, robot_id: str | None, order_id: int) -> None:
        """An integration peer (no robot id) may report any delivery; a robot only its own."""
        if robot_id is None:
            return
        carrier = self._dispatcher.carrier(order_id)
        if carrier is None:
            carrier = await self._restaurant.carrier(order_id)
        if carrier != robot_id:
            raise Forbidden(f"order {order_id} is not on this robot")

    async def log(self, robot_id: str | None, level: LogLevel, message: str) -> None:
        await self._journal.log(level, source_of(robot_id), message)

    async def command_result(self, robot_id: str | None, command_id: int | str, status: str,
                             detail: str) -> None:
        """Record a robot's answer to a command; a refusal or a failure is a warning."""
        severity = Severity.WARNING if status in ("rejected", "failed") else Severity.INFO
        await self._journal.event(
            "command_result", severity=severity, source=source_of(robot_id),
            message=f"command {command_id} {status}" + (f": {detail}" if detail else ""),
            data={"robot_id": robot_id, "command_id": command_id, "status": status,
                  "detail": detail})
        if robot_id is not None:
            await self._dispatcher.command_result(robot_id, command_id, status, detail)

"""Driving to one point through Nav2's goal topic and following the goal in its status topic."""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import Final, Protocol

from action_msgs.msg import GoalStatus

from ..core.logprefix import PrefixedLog
from .ros import GoalState

log = logging.getLogger(__name__)

# A goal that does not show in the status topic this long after it was published is sent
# again, at most RESENDS times: a goal topic message can be lost while discovery settles.
SHOW_S: Final = 5.0
RESENDS: Final = 3
LISTENER_POLL_S: Final = 0.1
FINAL: Final = frozenset({GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_CANCELED,
                          GoalStatus.STATUS_ABORTED})


class Goals(Protocol):
    """The ROS calls a Navigator makes (ros.RobotLink)."""

    def goal_listeners(self) -> int: ...
    def publish_goal(self, x: float, y: float) -> None: ...
    def cancel(self, goal_id: bytes | None) -> asyncio.Future[bool]: ...


class Outcome(enum.Enum):
    ARRIVED = "arrived"
    CANCELED = "canceled"  # cancelled by us (pause, cancel) or by anyone else


class NavFailed(Exception):
    """The goal did not succeed; the message is the reason the task fails with."""


class Navigator:
    """Sends goals one at a time and follows each to its end in the action's status topic."""

    def __init__(self, goals: Goals, goal_timeout_s: float, robot_id: str) -> None:
        self._goals = goals
        self._timeout_s = goal_timeout_s
        self._log = PrefixedLog(log, robot_id)
        self._status: dict[bytes, GoalState] = {}
        self._changed = asyncio.Event()
        self.following: bytes | None = None

    def on_status(self, goals: list[GoalState]) -> None:
        """The action server's latest status array (from the ROS thread, via the loop)."""
        # The array is the whole truth: goals leave it some time after they end.
        self._status = {goal.goal_id: goal for goal in goals}
        self._changed.set()

    async def drive(self, x: float, y: float) -> Outcome:
        """Drive to (x, y): ARRIVED or CANCELED, or NavFailed with why."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._drive(x, y)
        except TimeoutError:
            await self.cancel()
            raise NavFailed(f"goal ({x:g}, {y:g}) not reached within "
                            f"{self._timeout_s:g} s") from None
        finally:
            self.following = None

    async def cancel(self) -> bool:
        """Cancel the goal being followed (every goal if none is known yet) via the service."""
        return await self._goals.cancel(self.following)

    async def _drive(self, x: float, y: float) -> Outcome:
        while not self._goals.goal_listeners():
            await asyncio.sleep(LISTENER_POLL_S)
        known = set(self._status)
        for attempt in range(1 + RESENDS):
            self._goals.publish_goal(x, y)
            self._log.debug("goal (%g, %g) published (try %d)", x, y, attempt + 1)
            goal = await self._new_goal(known)
            if goal is not None:
                self.following = goal
                return await self._follow(goal, x, y)
        raise NavFailed(f"goal ({x:g}, {y:g}) never showed in the status topic")

    async def _new_goal(self, known: set[bytes]) -> bytes | None:
        """The newest goal that appears in the status topic within SHOW_S, if any."""
        try:
            async with asyncio.timeout(SHOW_S):
                while True:
                    fresh = [g for g in self._status.values() if g.goal_id not in known]
                    if fresh:
                        return max(fresh, key=lambda g: g.stamp_ns).goal_id
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return None

    async def _follow(self, goal: bytes, x: float, y: float) -> Outcome:
        while True:
            seen = self._status.get(goal)
            status = seen.status if seen else GoalStatus.STATUS_UNKNOWN
            if status == GoalStatus.STATUS_SUCCEEDED:
                return Outcome.ARRIVED
            if status == GoalStatus.STATUS_CANCELED:
                return Outcome.CANCELED
            if status == GoalStatus.STATUS_ABORTED:
                raise NavFailed(f"Nav2 aborted the goal ({x:g}, {y:g})")
            self._changed.clear()
            await self._changed.wait()

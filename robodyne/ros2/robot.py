"""One ROS 2 robot on the floor: its topics become state lines, the server's commands become
Nav2 goals, and the goals' ends become the task's events (SPEC §14)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final

from pydantic import BaseModel, Field, StrictInt, ValidationError

from ..core.logprefix import PrefixedLog
from .config import RobotConfig
from .nav import Goals, Navigator, NavFailed, Outcome
from .outbox import Message, Outbox
from .ros import GoalState

log = logging.getLogger(__name__)

TRIPS: Final = frozenset({"go_to", "deliver", "bus", "summon", "escort", "return", "charge"})
HOMEWARD: Final = frozenset({"return", "charge"})
SILENT: Final = "ros_silent"


class Place(BaseModel):
    """A position on the floor map in metres; null when the server has none for it."""

    x: float | None = None
    y: float | None = None


class Stop(Place):
    table_id: StrictInt
    order_ids: list[StrictInt] = []


class Command(BaseModel):
    """The server's command line, as far as a Nav2 robot needs it."""

    id: int | str | None = None
    command: str
    task_id: StrictInt | None = None
    stops: list[Stop] = []
    to: Place | None = None
    from_: Place | None = Field(None, alias="from")


class RobotBridge:
    """The asyncio side of one robot: receives its topics (ros.RobotSink), runs its commands."""

    def __init__(self, config: RobotConfig, goals: Goals) -> None:
        self.config = config
        self.outbox = Outbox()
        self.log = PrefixedLog(log, config.id)
        self.nav = Navigator(goals, config.goal_timeout_s, config.id)
        self._goals = goals
        self._loop = asyncio.get_running_loop()
        self.mode = "idle"
        self.task_id: int | None = None
        self._trip: asyncio.Task[None] | None = None
        self._holds: set[asyncio.Task[None]] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._paused_from = "idle"
        self._pose: dict[str, float] | None = None
        self._battery: float | None = None
        self._odom_at = self._loop.time()
        self.heard = asyncio.Event()  # its first odometry came
        self._reported: dict[str, Any] = {}
        self._state_at = 0.0
        self._flush: asyncio.TimerHandle | None = None

    # The robot's topics (on the loop's thread, handed over by ros.RobotLink).

    def on_pose(self, x: float, y: float, yaw: float) -> None:
        self._pose = {"x": round(x, 3), "y": round(y, 3), "yaw": round(yaw, 3)}
        self.report()

    def on_odom(self) -> None:
        self.heard.set()
        silent = self.silent()
        self._odom_at = self._loop.time()
        if silent:
            self.log.info("odometry is back")
            self.report()

    def on_battery(self, percent: float | None) -> None:
        self._battery = None if percent is None else round(percent, 1)
        self.report()

    def on_status(self, goals: list[GoalState]) -> None:
        self.nav.on_status(goals)

    # State lines, at most state_hz.

    def silent(self) -> bool:
        return self._loop.time() - self._odom_at > self.config.stale_s

    def state(self) -> dict[str, Any]:
        """The robot as the server should see it now."""
        silent = self.silent()
        issues = ([{"category": SILENT, "detail": f"no odometry for {self.config.stale_s:g} s"}]
                  if silent else [])
        return {"status": "error" if silent else self.mode, "battery": self._battery,
                "pose": self._pose, "issues": issues}

    def report(self, *, full: bool = False) -> None:
        """Send what changed now, or as soon as state_hz allows."""
        if full:
            self._reported = {}
        if self._flush is not None:
            return
        wait = self._state_at + 1.0 / self.config.state_hz - self._loop.time()
        if wait > 0:
            self._flush = self._loop.call_later(wait, self._send_state)
        else:
            self._send_state()

    def _send_state(self) -> None:
        self._flush = None
        if not self.outbox.connected:
            return
        now = self.state()
        changed = {k: v for k, v in now.items() if k not in self._reported
                   or self._reported[k] != v}
        if not changed:
            return
        self._reported = now
        self._state_at = self._loop.time()
        self.outbox.send({"type": "state", **changed})

    def carried_task(self) -> int | None:
        """The task the hello names: the one under way, or one whose lines are still kept."""
        return self.task_id if self.task_id is not None else self.outbox.kept_task()

    def _set_mode(self, mode: str) -> None:
        """A new status goes out at once, right after the line that caused it (a task's done
        is followed by idle, not a state_hz slot later); only poses wait for the rate."""
        self.mode = mode
        if self._flush is not None:
            self._flush.cancel()
        self._send_state()

    # The server's commands.

    def command(self, raw: Message) -> None:
        """A command line from the server; trips run as a task of their own."""
        try:
            cmd = Command.model_validate(raw)
        except ValidationError as err:
            self.log.warning("a command it cannot read: %s", err.errors()[0]["msg"])
            return
        if cmd.command in TRIPS:
            self._start(cmd)
        elif cmd.command == "cancel":
            self._drop(cmd)
        elif cmd.command in ("pause", "resume"):
            self._background(self._hold(cmd))
        else:
            self._result(cmd, "rejected", f"unknown command {cmd.command!r}")

    def _start(self, cmd: Command) -> None:
        if self._trip is not None:
            self._trip.cancel()  # the new goal preempts the old one in Nav2 as well
        self.task_id = cmd.task_id
        self._resumed.set()
        self._result(cmd, "accepted")
        self._set_mode("returning" if cmd.command in HOMEWARD else "delivering")
        self._trip = asyncio.create_task(self._run(cmd), name=f"trip {self.config.id}")
        self._trip.add_done_callback(_log_crash)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that waits for the cancel service: the next line must not wait for it."""
        task = asyncio.create_task(work)
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)
        task.add_done_callback(_log_crash)

    async def _hold(self, cmd: Command) -> None:
        if cmd.command == "pause" and self._resumed.is_set():
            self._resumed.clear()
            self._paused_from = self.mode
            self._set_mode("paused")
            if self._trip is not None and not self._trip.done():
                await self.nav.cancel()
        elif cmd.command == "resume" and not self._resumed.is_set():
            self._resumed.set()
            self._set_mode(self._paused_from)
        self._result(cmd, "done")

    def _drop(self, cmd: Command) -> None:
        """Cancel, decided as the line is read, so that a trip command right behind it is
        never the one stopped: a cancel of a task it is not on (one given up while the robot
        was away) changes nothing; otherwise the trip ends now and its goal is cancelled
        through the service, asked now, before any goal of a trip behind it."""
        if cmd.task_id is not None and cmd.task_id != self.task_id:
            self._result(cmd, "done", f"not on task {cmd.task_id}")
            return
        trip, self._trip = self._trip, None
        self.task_id = None
        self._set_mode("idle")
        if trip is None or trip.done():
            self._result(cmd, "done")
            return
        goal = self.nav.following
        trip.cancel()
        self._background(self._dropped(cmd, trip, self._goals.cancel(goal)))

    async def _dropped(self, cmd: Command, trip: asyncio.Task[None],
                       cancelled: asyncio.Future[bool]) -> None:
        await asyncio.gather(trip, return_exceptions=True)
        await cancelled
        self._result(cmd, "done")

    async def _run(self, cmd: Command) -> None:
        try:
            if cmd.command in HOMEWARD:
                await self._home(cmd)
            else:
                await self._serve(cmd)
        except NavFailed as err:
            self.log.warning("task %s failed: %s", cmd.task_id, err)
            self._event(cmd, "failed", str(err), severity="warning")
            self._result(cmd, "failed", str(err))
            self.task_id = None
            self._set_mode("idle")

    async def _home(self, cmd: Command) -> None:
        await self._go(cmd.to, "the dock")
        if cmd.command == "charge":
            self._set_mode("charging")  # the server completes it at resume_battery (§8)
            return
        self._finish(cmd)

    async def _serve(self, cmd: Command) -> None:
        if cmd.command == "escort":
            await self._go(cmd.from_, "the host stand")
            await asyncio.sleep(self.config.dwell_s)
        for stop in cmd.stops:
            await self._go(stop, f"table {stop.table_id}")
            self._event(cmd, "arrived", f"At table {stop.table_id}", table_id=stop.table_id)
            await asyncio.sleep(self.config.dwell_s)
            if cmd.command == "deliver":
                for order_id in stop.order_ids:
                    self._event(cmd, "delivered", f"Delivered order {order_id}",
                                table_id=stop.table_id, order_id=order_id)
        self._finish(cmd)

    def _finish(self, cmd: Command) -> None:
        self.log.info("task %s done", cmd.task_id)
        self._result(cmd, "done")
        self.task_id = None
        self._set_mode("idle")

    async def _go(self, place: Place | None, what: str) -> None:
        """Drive to `place`, holding while paused; NavFailed if it cannot be reached."""
        if place is None or place.x is None or place.y is None:
            raise NavFailed(f"{what} has no position on the map")
        while True:
            await self._resumed.wait()
            if await self.nav.drive(place.x, place.y) is Outcome.ARRIVED:
                return
            if self._resumed.is_set():  # cancelled by someone else, not by pause
                raise NavFailed(f"the goal to {what} was cancelled outside Robodyne")

    def _event(self, cmd: Command, event: str, message: str, *, severity: str = "info",
               **fields: Any) -> None:
        line = {"type": "event", "event": event, "severity": severity, "message": message,
                "task_id": cmd.task_id, **fields}
        self.outbox.send_task(line, cmd.task_id)

    def _result(self, cmd: Command, status: str, detail: str = "") -> None:
        line: Message = {"type": "command_result", "command_id": cmd.id, "status": status}
        if detail:
            line["detail"] = detail
        self.outbox.send_task(line, cmd.task_id)

    async def close(self) -> None:
        """Stop the trip (not its goal: the robot is left to Nav2 as it is)."""
        if self._flush is not None:
            self._flush.cancel()
        tasks = [*self._holds, *([self._trip] if self._trip else [])]
        self._trip = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a command failed", exc_info=task.exception())

"""A simulated serving robot's model: motion, battery, trips and failures, with no I/O.

A robot moves only when told to (SPEC §8: the server, not the robot, decides who does what). It
carries out one task at a time as a real robot would: a deliver/bus/summon/go_to/escort is
accepted when it is idle (at the dock or parked at a table) or charging, refused when it is busy
or its battery is low; it drives to each stop at the position the command gives (it has no map of
table ids, SPEC §4), reports `arrived`, one `delivered` per order at a deliver stop, then `done`.
An escort first drives to the command's `from` (the host stand) and waits there for its party.
`return` and `charge` drive to the command's `to` (the dock; while that is unset, the robot's own
home). It charges only when told `charge`. With a fail rate, some trips break down on the way (a
`failed` event, then `failed`), so the server's recovery can be watched.

demo/client.py connects it to a server over the robot TCP protocol (docs/protocol.md).
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, Field, StrictInt, ValidationError

from ..core.floor import DOCK, MAP_NAME, Point

Message = dict[str, Any]

MODEL_NAME: Final = "SimBot S1"
SPEED_M_S: Final = 0.8
# Battery percent per second.
DRAIN_MOVING: Final = 0.5
DRAIN_IDLE: Final = 0.05
CHARGE_RATE: Final = 3.0
# Below this a robot refuses new trips: it might not make it there and back.
LOW_BATTERY: Final = 25.0
# Below this a robot on its way out gives the trip up and drives home, as real robots keep a
# reserve to reach the dock; it still charges only when told to.
CRITICAL_BATTERY: Final = 10.0
CHARGED: Final = 95.0
# (min, max) seconds, drawn uniformly per occurrence: guests taking the food, or the dishes.
TABLE_WAIT_S: Final = (2.0, 5.0)
# (min, max) seconds an escort waits at the host stand for its party to come along.
MEET_WAIT_S: Final = (3.0, 6.0)
# After a delivery a robot waits this long at its last table for its next command (the server
# normally sends one at once: more work, or `return`) before it drives home by itself.
HOME_AFTER_S: Final = 5.0
CHATTER_EVERY_S: Final = (30.0, 60.0)
# The first event and log come sooner, so a fresh demo's console is not empty for a minute.
FIRST_CHATTER_S: Final = (3.0, 10.0)
# A failing trip breaks down somewhere between these fractions of one of its legs.
FAIL_AT: Final = (0.2, 0.8)

# Trips take the robot out to tables, so only an idle robot with charge to spare takes one; the
# rest steer the robot itself and are always accepted.
TRIPS: Final = frozenset({"deliver", "bus", "summon", "go_to", "escort"})
COMMANDS: Final = TRIPS | {"return", "charge", "pause", "resume", "cancel"}
# Statuses in which a robot takes a trip: nothing to do, or only charging.
AVAILABLE: Final = frozenset({"idle", "charging"})
# (event, severity, message) and (level, message template) for the occasional chatter.
_EVENTS: Final = (
    ("obstacle_detected", "info", "Obstacle in the path, rerouting"),
    ("guest_nearby", "info", "Guest close by, slowing down"),
    ("path_blocked", "warning", "Path blocked, waiting for it to clear"),
)
_LOGS: Final = (
    ("INFO", "Localisation confidence {confidence:.2f}"),
    ("INFO", "Battery at {battery:.0f}%"),
    ("WARNING", "Wheel slip detected, speed reduced"),
    ("WARNING", "Noisy lidar scan, rescanning"),
)
# Why a trip breaks down under --fail-rate.
_FAILURES: Final = (
    "Path blocked for too long, giving up",
    "Lost localisation, cannot go on",
    "Tray sensor tripped, load may have shifted",
    "Drive motor overheating, stopping",
)


class Phase(enum.Enum):
    """Where a robot is; `paused` is a flag on top of any phase."""

    DOCKED = "docked"  # at the dock, nothing to do
    OUTBOUND = "outbound"  # driving to its task's current stop (an escort: first to its party)
    MEETING = "meeting"  # an escort at the host stand, waiting for its party
    AT_TABLE = "at_table"  # at a stop, guests taking the food or handing over dishes
    PARKED = "parked"  # at a table with no task: after summon/go_to, or just after a delivery
    INBOUND = "inbound"  # driving to the dock
    CHARGING = "charging"


class Position(BaseModel):
    """A place on the floor map, in metres."""

    x: float
    y: float


class Stop(BaseModel):
    """One table of a task, where it stands (null: unknown) and the orders for it."""

    table_id: StrictInt
    order_ids: list[StrictInt] = Field(default_factory=list)
    x: float | None = None
    y: float | None = None


class Command(BaseModel):
    """A command line from the server (docs/protocol.md, "Server → robot")."""

    id: int | str | None = None
    command: str
    task_id: StrictInt | None = None
    table_id: StrictInt | None = None
    order_id: StrictInt | None = None
    stops: list[Stop] | None = None
    # An escort's meeting place (the host stand); where a return or a charge ends (the dock).
    from_: Position | None = Field(None, alias="from")
    to: Position | None = None

    def trip_stops(self) -> list[Stop]:
        """The stops to visit, each with its position: a bare table_id says nothing of where
        the table stands, and this robot has no map of table ids."""
        return self.stops or []


def command_result(command_id: int | str | None, status: str, detail: str | None = None) -> Message:
    """A command_result line answering the command with id `command_id`."""
    message: Message = {"type": "command_result", "command_id": command_id, "status": status}
    if detail:
        message["detail"] = detail
    return message


@dataclass
class Job:
    """The command a robot is carrying out, and how far it has got."""

    command: Command
    stops: list[Stop]
    leg: int = 0
    # Under --fail-rate: the leg on which this trip breaks down, how far along it, and once that
    # leg has started, the spot itself (motion is a straight line, so a point on it).
    fail_leg: int | None = None
    fail_fraction: float = 0.0
    fail_at: tuple[float, float] | None = None
    # An escort has met its party at the host stand.
    met: bool = False

    @property
    def kind(self) -> str:
        return self.command.command

    @property
    def stop(self) -> Stop:
        return self.stops[self.leg]

    @property
    def meeting(self) -> Point | None:
        """Where an escort still has to meet its party; None once met, or for other kinds."""
        start = self.command.from_
        return None if start is None or self.met else (start.x, start.y)


class SimRobot:
    """One robot's pose, battery and task, advanced by `step(dt)`; every method is pure (no I/O)."""

    def __init__(self, robot_id: str, rng: random.Random, *, fail_rate: float = 0.0) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within 0..1, got {fail_rate}")
        self.robot_id = robot_id
        self.rng = rng
        self.fail_rate = fail_rate
        self.x, self.y = DOCK
        # Where it goes home to: the dock as the last return or charge command gave it.
        self.home: Point = DOCK
        self.yaw = 0.0
        self.battery = rng.uniform(60.0, 100.0)
        # Slightly different speeds keep a fleet from moving in lockstep.
        self.speed = SPEED_M_S * rng.uniform(0.9, 1.1)
        self.phase = Phase.DOCKED
        self.paused = False
        self._job: Job | None = None
        # The table a PARKED robot stands at.
        self._parked_at: int | None = None
        # Seconds left at a table: the guests (AT_TABLE), or before driving home (PARKED).
        self._wait_s = 0.0
        self._chatter_s = rng.uniform(*FIRST_CHATTER_S)
        self._last_id = 0
        self._reported: Message = {}

    @property
    def status(self) -> str:
        """The robot status the robots topic shows."""
        if self.paused:
            return "paused"
        match self.phase:
            case Phase.DOCKED | Phase.PARKED:
                return "idle"
            case Phase.OUTBOUND | Phase.MEETING | Phase.AT_TABLE:
                return "delivering"
            case Phase.INBOUND:
                # Bringing dishes back is still the bus task; anything else is just going home.
                bussing = self._job is not None and self._job.kind == "bus"
                return "delivering" if bussing else "returning"
            case Phase.CHARGING:
                return "charging"

    @property
    def task_id(self) -> int | None:
        """The task the robot is working on, if its command named one."""
        return None if self._job is None else self._job.command.task_id

    @property
    def table_id(self) -> int | None:
        """The table of the current stop, or the one the robot is parked at; else None (an
        escort on its way to the host stand is not at its table's yet)."""
        if self.phase is Phase.PARKED:
            return self._parked_at
        job = self._job
        heading = self.phase in (Phase.OUTBOUND, Phase.AT_TABLE)
        return job.stop.table_id if job is not None and heading and job.meeting is None else None

    @property
    def order_id(self) -> int | None:
        """The (first) order of the current deliver stop; else None."""
        job = self._job
        on_the_way = self.phase in (Phase.OUTBOUND, Phase.AT_TABLE)
        if job is None or job.kind != "deliver" or not on_the_way:
            return None
        return job.stop.order_ids[0] if job.stop.order_ids else None

    # ---- state lines ----

    def full_state(self) -> Message:
        """A state line with every field, for the start of a connection."""
        self._reported = {}
        update = self.state_update()
        assert update is not None  # nothing was reported, so everything changed
        return update

    def state_update(self) -> Message | None:
        """A state line with the fields changed since the last one, plus pose; None if none did."""
        current: Message = {
            "status": self.status,
            # Whole percents: finer steps would make an idle robot report every few seconds.
            "battery": round(self.battery),
            "pose": {"x": round(self.x, 2), "y": round(self.y, 2), "yaw": round(self.yaw, 2),
                     "map": MAP_NAME},
            "order_id": self.order_id,
            "table_id": self.table_id,
        }
        changed = {k: v for k, v in current.items()
                   if k not in self._reported or self._reported[k] != v}
        if not changed:
            return None
        self._reported = current
        return {"type": "state", **changed, "pose": current["pose"]}

    # ---- commands ----

    def command(self, message: Mapping[str, Any]) -> list[Message]:
        """Answer a server command at once (accepted or rejected) and start carrying it out."""
        try:
            cmd = Command.model_validate(message)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "command"
            raw_id = message.get("id")
            return [command_result(raw_id if isinstance(raw_id, int | str) else None, "rejected",
                                   f"{where}: {first['msg']}")]
        if self._job is not None and cmd.id is not None and cmd.id == self._job.command.id:
            # The server sent it again after a reconnect (it never heard the first answer):
            # the robot is on it already.
            return [command_result(cmd.id, "accepted")]
        refusal = self._refusal(cmd)
        if refusal:
            return [command_result(cmd.id, "rejected", refusal)]
        out = [command_result(cmd.id, "accepted")]
        match cmd.command:
            case "pause" | "resume":
                self.paused = cmd.command == "pause"
                out.append(command_result(cmd.id, "done"))
            case "cancel":
                out.append(self._cancel(cmd))
            case "return":
                self._drop_job(cmd, out)
                self._job = Job(cmd, [])
                self._go_home_to(cmd.to)
            case "charge":
                self._drop_job(cmd, out)
                self._job = Job(cmd, [])
                if self.phase is not Phase.CHARGING:
                    self._go_home_to(cmd.to)
            case _:  # a trip; _refusal let it through, so the robot was idle or charging
                self._drop_job(cmd, out)
                job = Job(cmd, cmd.trip_stops())
                # Only drawn with a fail rate, so a run without one is the same as before it.
                if self.fail_rate > 0 and self.rng.random() < self.fail_rate:
                    job.fail_leg = self.rng.randrange(len(job.stops))
                    job.fail_fraction = self.rng.uniform(*FAIL_AT)
                self._job = job
                self._start_leg()
        return out

    def _refusal(self, cmd: Command) -> str | None:
        if cmd.command not in COMMANDS:
            return f"unknown command {cmd.command!r}"
        if cmd.command not in TRIPS:
            return None
        stops = cmd.trip_stops()
        if not stops:
            return f"{cmd.command} needs stops with their positions"
        if cmd.command != "deliver" and len(stops) > 1:
            return f"{cmd.command} takes one stop, got {len(stops)}"
        for stop in stops:
            if stop.x is None or stop.y is None:
                return f"table {stop.table_id} has no position"
        if cmd.command == "escort" and cmd.from_ is None:
            return "escort needs `from`, the host stand's position"
        if self.status not in AVAILABLE:
            on_task = f" on task {self.task_id}" if self.task_id is not None else ""
            return f"busy: {self.status}{on_task}"
        if self.battery < LOW_BATTERY:
            return f"battery {self.battery:.0f}% is below {LOW_BATTERY:.0f}%"
        return None

    def _drop_job(self, cmd: Command, out: list[Message]) -> None:
        """Give up the current job for `cmd`, answering the dropped job's command."""
        job, self._job = self._job, None
        if job is None:
            return
        if job.kind == "charge":
            # Charging is interrupted, not failed: whoever sent `cmd` judged the battery enough.
            out.append(command_result(job.command.id, "done",
                                      f"charged to {self.battery:.0f}%, then command {cmd.id}"))
        else:
            out.append(command_result(job.command.id, "failed", f"superseded by command {cmd.id}"))

    def _cancel(self, cmd: Command) -> Message:
        """Drop the cancelled task (or, without a task_id, whatever the robot is doing)."""
        if cmd.task_id is not None and cmd.task_id != self.task_id:
            return command_result(cmd.id, "done", f"not on task {cmd.task_id}")
        # The cancelled command gets no answer of its own: its task is over on the server.
        self._job = None
        if self.phase is Phase.CHARGING:
            self.phase = Phase.DOCKED
        elif self.phase is not Phase.DOCKED:
            self._head_home()
        return command_result(cmd.id, "done")

    def _finish(self, out: list[Message]) -> None:
        assert self._job is not None
        out.append(command_result(self._job.command.id, "done"))
        self._job = None

    # ---- motion ----

    def step(self, dt: float) -> list[Message]:
        """Advance `dt` seconds; returns the event, log and command_result lines this produced."""
        out: list[Message] = []
        self._chatter(dt, out)
        if self.paused:
            self._use_battery(DRAIN_IDLE, dt)
            return out
        # Checked on the way out only: a robot already at a table finishes the handover first.
        if self.battery < CRITICAL_BATTERY and self.phase is Phase.OUTBOUND:
            self._fail(f"Battery below {CRITICAL_BATTERY:.0f}%, heading back to the dock", out)
        match self.phase:
            case Phase.DOCKED:
                self._use_battery(DRAIN_IDLE, dt)
            case Phase.OUTBOUND:
                self._drive_out(dt, out)
            case Phase.MEETING:
                self._use_battery(DRAIN_IDLE, dt)
                self._wait_s -= dt
                if self._wait_s <= 0:
                    assert self._job is not None
                    self._job.met = True
                    self._start_leg()
            case Phase.AT_TABLE:
                self._use_battery(DRAIN_IDLE, dt)
                self._wait_s -= dt
                if self._wait_s <= 0:
                    self._leave_stop(out)
            case Phase.PARKED:
                self._use_battery(DRAIN_IDLE, dt)
                self._wait_s -= dt
                if self._wait_s <= 0:
                    self._head_home()
            case Phase.INBOUND:
                if self._move_towards(*self.home, dt):
                    self._reach_dock(out)
            case Phase.CHARGING:
                self.battery = min(100.0, self.battery + CHARGE_RATE * dt)
                if self.battery >= CHARGED:
                    self._finish(out)
                    self.phase = Phase.DOCKED
        return out

    def _start_leg(self) -> None:
        job = self._job
        assert job is not None
        self.phase = Phase.OUTBOUND
        self._parked_at = None
        if job.leg == job.fail_leg and job.meeting is None:
            x, y = self._stop_xy(job.stop)
            f = job.fail_fraction
            job.fail_at = (self.x + (x - self.x) * f, self.y + (y - self.y) * f)

    def _drive_out(self, dt: float, out: list[Message]) -> None:
        job = self._job
        assert job is not None
        meeting = job.meeting
        if not self._move_towards(*(meeting or job.fail_at or self._stop_xy(job.stop)), dt):
            return
        if meeting is not None:
            # At the host stand: no `arrived`, it is no stop of the task (SPEC §14).
            self.phase = Phase.MEETING
            self._wait_s = self.rng.uniform(*MEET_WAIT_S)
            return
        if job.fail_at is not None:
            self._fail(self.rng.choice(_FAILURES), out)
            return
        table_id = job.stop.table_id
        out.append(self._event("arrived", f"Arrived at table {table_id}", table_id=table_id))
        if job.kind in ("deliver", "bus"):
            self.phase = Phase.AT_TABLE
            self._wait_s = self.rng.uniform(*TABLE_WAIT_S)
        elif job.kind == "escort":
            # The party is at its table: done, and the robot soon heads home.
            self._finish(out)
            self._park(table_id, HOME_AFTER_S)
        else:
            # summon, go_to: done on arrival, and it stays until told otherwise.
            self._finish(out)
            self._park(table_id, math.inf)

    def _leave_stop(self, out: list[Message]) -> None:
        job = self._job
        assert job is not None
        if job.kind == "bus":
            self.phase = Phase.INBOUND  # the dishes ride home; done at the dock
            return
        table_id = job.stop.table_id
        for order_id in job.stop.order_ids:
            out.append(self._event("delivered", f"Delivered order {order_id} to table {table_id}",
                                   table_id=table_id, order_id=order_id))
        if job.leg + 1 < len(job.stops):
            job.leg += 1
            self._start_leg()
            return
        self._finish(out)
        self._park(table_id, HOME_AFTER_S)

    def _fail(self, reason: str, out: list[Message]) -> None:
        """The trip breaks down: say so, answer its command `failed`, and drive home."""
        job = self._job
        assert job is not None
        out.append(self._event("failed", reason, severity="warning",
                               table_id=job.stop.table_id))
        out.append(command_result(job.command.id, "failed", reason))
        self._job = None
        self._head_home()

    def _reach_dock(self, out: list[Message]) -> None:
        job = self._job
        if job is not None and job.kind == "charge":
            self.phase = Phase.CHARGING
            return
        if job is not None:  # return, or a bus home with the dishes
            self._finish(out)
        self.phase = Phase.DOCKED

    def _park(self, table_id: int, wait_s: float) -> None:
        self.phase = Phase.PARKED
        self._parked_at = table_id
        self._wait_s = wait_s

    def _head_home(self) -> None:
        self.phase = Phase.INBOUND
        self._parked_at = None

    def _go_home_to(self, dock: Position | None) -> None:
        """Drive to the dock the command names (it is home from now on), else home."""
        if dock is not None:
            self.home = (dock.x, dock.y)
        self._head_home()

    @staticmethod
    def _stop_xy(stop: Stop) -> Point:
        assert stop.x is not None and stop.y is not None  # _refusal turned those away
        return stop.x, stop.y

    def _move_towards(self, x: float, y: float, dt: float) -> bool:
        """Drive straight at (x, y); True once there."""
        dx, dy = x - self.x, y - self.y
        distance = math.hypot(dx, dy)
        reach = self.speed * dt
        self._use_battery(DRAIN_MOVING, min(dt, distance / self.speed))
        if distance > 0:
            self.yaw = math.atan2(dy, dx)
        # Within a nanometre counts as there: rounding could otherwise land exactly on (x, y)
        # one step early, a step that did not say it arrived.
        if reach >= distance - 1e-9:
            self.x, self.y = x, y
            return True
        self.x += dx / distance * reach
        self.y += dy / distance * reach
        return False

    def _use_battery(self, rate: float, dt: float) -> None:
        self.battery = max(0.0, self.battery - rate * dt)

    def _event(self, name: str, message: str, *, severity: str = "info",
               **fields: Any) -> Message:
        """An event line about the current task (task_id when its command named one)."""
        event: Message = {"type": "event", "id": self._next_id(), "event": name,
                          "severity": severity, "message": message}
        if self.task_id is not None:
            event["task_id"] = self.task_id
        event.update(fields)
        return event

    def _chatter(self, dt: float, out: list[Message]) -> None:
        """Now and then, an event and a log line like a real robot's."""
        self._chatter_s -= dt
        if self._chatter_s > 0:
            return
        self._chatter_s = self.rng.uniform(*CHATTER_EVERY_S)
        name, severity, text = self.rng.choice(_EVENTS)
        event: Message = {"type": "event", "id": self._next_id(), "event": name,
                          "severity": severity, "message": text}
        if self.table_id is not None:
            event["table_id"] = self.table_id
        level, template = self.rng.choice(_LOGS)
        out.append(event)
        out.append({"type": "log", "id": self._next_id(), "level": level,
                    "message": template.format(confidence=self.rng.uniform(0.9, 0.99),
                                               battery=self.battery)})

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

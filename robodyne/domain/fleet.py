"""The robots: live state in memory, persisted write-behind, coalesced onto the robots topic."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, Protocol

from ..core.errors import Conflict, Invalid, NotFound, RobotOffline, StorageUnavailable
from ..core.floor import Point
from ..core.models import Command, Robot, RobotStatus, Severity, utcnow
from ..core.tasks import TaskClaim
from ..core.topics import Topic
from ..live.hub import Hub
from ..live.pace import Pacer
from ..store.store import Store
from .journal import Journal

log = logging.getLogger(__name__)

# Telemetry reaches the robots topic batched by the backlog (live/pace.py): a change goes out
# at once while the tablets keep up, and rides with the others that came meanwhile while they
# are still taking the previous frame. It reaches SQLite in one transaction per window.
PERSIST_WINDOW_S: Final = 0.25
LOW_BATTERY: Final = 20
ERROR_STATUSES: Final = frozenset({RobotStatus.ERROR, RobotStatus.EMERGENCY_STOP})
# A record's status string to its member: Enum's own lookup (RobotStatus(value)) costs as much
# as the rest of a view, and the dispatcher builds one per online robot per decision.
_STATUS: Final = {status.value: status for status in RobotStatus}


def new_command_id() -> str:
    """An id for a command, unguessable enough that no robot answers another's."""
    return secrets.token_hex(6)


# A NamedTuple, like assign.py's records: the cheapest record to build on every read.
class RobotView(NamedTuple):
    """A robot as the fleet's readers see it, read from its live record when asked for."""

    id: str
    status: RobotStatus
    battery: float | None
    position: Point | None  # its pose's x, y on the floor, when it reported one
    online: bool  # it has a live session, so it can be sent a command


@dataclass(frozen=True)
class RobotChange:
    """A change a watcher of the fleet hears of: a session began or ended, the status moved,
    or the battery crossed one of the watcher's marks."""

    robot_id: str  # the watcher reads the robot as it is when it gets to it (fleet.robot)
    # "began" (a hello, or a takeover), "ended" (the session dropped), or None (a state line).
    session: Literal["began", "ended"] | None
    before_status: str
    # A hello's word on the task the robot carries (None: it said nothing, or no hello).
    claim: TaskClaim | None = None


Watcher = Callable[[RobotChange], Awaitable[None]]


class Link(Protocol):
    """What the fleet needs of a robot's session: to carry a command, and to end it."""

    def command(self, command_id: str, name: Command, fields: dict[str, Any]) -> None: ...
    def end(self, reason: str) -> None: ...


class Fleet:
    """Every robot the restaurant knows, and the live session of each connected one."""

    def __init__(self, store: Store, hub: Hub, journal: Journal) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._robots: dict[str, dict[str, Any]] = {}
        self._links: dict[str, Link] = {}
        # Each robot's view as last read, dropped whenever its record or session changes: the
        # dispatcher reads every online robot per decision, the ingest path only drops one.
        self._views: dict[str, RobotView] = {}
        self._unpublished: set[str] = set()
        self._unpersisted: set[str] = set()
        self._pacer = Pacer(hub.topics[Topic.ROBOTS], self._publish_changed)
        # Each watcher and the battery marks it asked for.
        self._watchers: dict[Watcher, tuple[float, ...]] = {}
        self._marks: tuple[float, ...] = ()
        # Acks waiting for the next publish of the robots they report on.
        self._publish_waiters: list[asyncio.Future[None]] = []

    async def load(self) -> None:
        """Read the robots and mark them offline: no robot is connected to a fresh process."""
        for robot in await self._store.robots():
            record = robot.model_dump(mode="json")
            record.update(connected=False, status=RobotStatus.OFFLINE.value)
            self._robots[robot.id] = record
        self._views.clear()
        await self._store.save_robots(self._robots.values())
        self._hub.prime(Topic.ROBOTS, list(self._robots.values()))

    def watch(self, watcher: Watcher, battery_marks: tuple[float, ...] = ()) -> None:
        """Tell `watcher` of sessions, status changes and battery crossing `battery_marks`.

        Not of every telemetry line: a pose or a battery drifting between marks is not news.
        """
        self._watchers[watcher] = battery_marks
        self._marks = tuple(sorted({*self._marks, *battery_marks}))

    def unwatch(self, watcher: Watcher) -> None:
        """Stop telling `watcher`; the marks only it asked for go with it."""
        del self._watchers[watcher]
        self._marks = tuple(sorted({mark for marks in self._watchers.values() for mark in marks}))

    def _crossed(self, before: float | None, after: float | None) -> bool:
        if after is None or before == after:
            return False
        return before is None or any((before < mark) != (after < mark) for mark in self._marks)

    async def _tell(self, robot_id: str, session: Literal["began", "ended"] | None,
                    before_status: str, claim: TaskClaim | None = None) -> None:
        change = RobotChange(robot_id, session, before_status, claim)
        for watcher in list(self._watchers):
            await watcher(change)

    # ---- reading robots ----

    def robot(self, robot_id: str) -> RobotView | None:
        """The robot as it is now, or None for a robot the fleet does not know."""
        return self._view(robot_id) if robot_id in self._robots else None

    def online(self) -> list[RobotView]:
        """Every robot with a live session, as it is now."""
        return [self._view(robot_id) for robot_id in self._links]

    def knows(self, robot_id: str) -> bool:
        """Whether this robot exists: it has said hello once, or the database has it."""
        return robot_id in self._robots

    def check_robot_id(self, robot_id: str | None) -> None:
        """A request's robot_id must name a robot the fleet knows (None names none)."""
        if robot_id is not None and robot_id not in self._robots:
            raise Invalid(f"robot_id: there is no robot {robot_id}")

    def is_online(self, robot_id: str) -> bool:
        return robot_id in self._links

    def count(self) -> int:
        """The robots the fleet knows, online or not."""
        return len(self._robots)

    def online_count(self) -> int:
        return len(self._links)

    def _view(self, robot_id: str) -> RobotView:
        view = self._views.get(robot_id)
        if view is None:
            record = self._robots[robot_id]
            pose = record["pose"]
            view = self._views[robot_id] = RobotView(
                robot_id, _STATUS[record["status"]], record["battery"],
                None if pose is None else (float(pose["x"]), float(pose["y"])),
                robot_id in self._links)
        return view

    # ---- sessions ----

    async def connect(self, robot_id: str, name: str | None, model: str | None, link: Link,
                      claim: TaskClaim | None = None) -> None:
        """A robot said hello: take over any older session, mark it online, raise the event;
        the watchers hear what the hello said of its task."""
        old = self._links.get(robot_id)
        self._links[robot_id] = link
        self._views.pop(robot_id, None)
        if old is not None:
            old.end("replaced")
        record = self._robots.get(robot_id) or Robot(id=robot_id, name=name or robot_id).model_dump(
            mode="json")
        before_status = record["status"]
        record.update(connected=True, last_seen=utcnow())
        if name:
            record["name"] = name
        if model:
            record["model"] = model
        if record["status"] == RobotStatus.OFFLINE:
            record["status"] = RobotStatus.IDLE.value
        self._robots[robot_id] = record
        self._unpublished.add(robot_id)
        self._publish_now()
        await self._persist_or_retry(robot_id)
        await self._event("robot_connected", robot_id, f"{record['name']} connected",
                          replaced_session=old is not None)
        await self._tell(robot_id, "began", before_status, claim)

    async def disconnect(self, robot_id: str, link: Link, reason: str) -> None:
        """A session ended. `reason` is bye, lost, silent or shutdown."""
        if self._links.get(robot_id) is not link:
            return  # a newer session took over: this one's end changes nothing
        del self._links[robot_id]
        self._views.pop(robot_id, None)
        record = self._robots[robot_id]
        before_status = record["status"]
        record.update(connected=False, status=RobotStatus.OFFLINE.value, last_seen=utcnow())
        self._unpublished.add(robot_id)
        self._publish_now()
        await self._persist_or_retry(robot_id)
        if reason == "bye":
            await self._event("robot_disconnected", robot_id, f"{record['name']} disconnected")
        elif reason != "shutdown":
            await self._event("robot_offline", robot_id,
                              f"{record['name']} went offline ({reason})", Severity.WARNING,
                              reason=reason)
        if reason != "shutdown":
            await self._tell(robot_id, "ended", before_status)

    async def _event(self, type_: str, robot_id: str, message: str,
                     severity: Severity = Severity.INFO,
                     **data: Any) -> None:
        """An event the server raises about a robot: published even while the DB refuses it."""
        await self._journal.event(type_, severity=severity, source=f"robot:{robot_id}",
                                  message=message, data={"robot_id": robot_id, **data},
                                  durable=False)

    async def forget(self, robot_id: str) -> None:
        """Remove a robot that is not connected from the robots topic and the database, so
        that its slot in tcp.max_robots is free; its events and tasks stay."""
        if robot_id not in self._robots:
            raise NotFound(f"robot {robot_id} not found")
        if robot_id in self._links:
            raise Conflict(f"robot {robot_id} is connected: it can be removed once it is not")
        await self._store.delete_robot(robot_id)
        if robot_id in self._links:  # it said hello while the row went, and wrote it again
            raise Conflict(f"robot {robot_id} connected again: it is not removed")
        del self._robots[robot_id]
        self._views.pop(robot_id, None)
        self._unpublished.discard(robot_id)
        self._unpersisted.discard(robot_id)
        self._hub.publish(Topic.ROBOTS, "delete", [], ids=[robot_id])

    # ---- telemetry ----

    async def apply_state(self, robot_id: str, changes: dict[str, Any]) -> None:
        """Merge reported fields into memory; raise events on transitions, once each."""
        record = self._robots[robot_id]
        before_status, before_battery = record["status"], record["battery"]
        record.update(changes)
        self._views.pop(robot_id, None)
        self.touch(robot_id)
        # Into error or emergency_stop, or from one to the other: each is news to the floor.
        if record["status"] in ERROR_STATUSES and record["status"] != before_status:
            await self._event("robot_error", robot_id,
                              f"{record['name']} reports {record['status']}", Severity.ERROR,
                              status=record["status"], issues=record["issues"])
        battery = record["battery"]
        if battery is not None and battery < LOW_BATTERY and (
                before_battery is None or before_battery >= LOW_BATTERY):
            await self._event("low_battery", robot_id,
                              f"{record['name']} battery at {battery:.0f}%", Severity.WARNING,
                              battery=battery)
        if self._watchers and (record["status"] != before_status
                               or self._crossed(before_battery, battery)):
            await self._tell(robot_id, None, before_status)

    def touch(self, robot_id: str) -> None:
        """Any line is a sign of life: note it, to be persisted and published with the next
        batch.

        last_seen is stamped when the robot is next published or persisted: one clock read
        per batch instead of one per line.
        """
        self._unpersisted.add(robot_id)
        self._unpublished.add(robot_id)
        self._pacer.request()

    async def commit(self, robot_id: str) -> None:
        """Make what the robot reported durable and visible: its line is about to be acked.

        The ack promises the change is committed and on the robots topic (and so in
        GET /api/robots). It is written now, then waits for its batch's publish rather than
        publishing on its own: a flood of acked lines still costs the tablets one frame per
        batch, not one per line.
        """
        await self.persist(robot_id)
        if robot_id in self._unpublished:
            published = asyncio.get_running_loop().create_future()
            self._publish_waiters.append(published)
            await published

    def _publish_now(self) -> None:
        """Publish what changed now, not held for the tablets: a session began or ended."""
        self._pacer.publish()

    def _publish_changed(self) -> None:
        if not self._unpublished:
            return
        changed = [self._robots[robot_id] for robot_id in self._unpublished]
        self._unpublished.clear()
        now = utcnow()
        for record in changed:
            record["last_seen"] = now
        # Copies: the hub keeps what it published, and memory keeps changing under it.
        self._hub.publish(Topic.ROBOTS, "upsert", [dict(record) for record in changed])
        self._release_waiters()

    def _release_waiters(self) -> None:
        waiters, self._publish_waiters = self._publish_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def persist(self, robot_id: str | None = None) -> None:
        """Write robots to SQLite now: one (for an ack), or every one changed since last time."""
        ids = {robot_id} if robot_id else set(self._unpersisted)
        if not ids:
            return
        now = utcnow()
        for unseen in ids & self._unpublished:
            self._robots[unseen]["last_seen"] = now
        self._unpersisted -= ids
        try:
            await self._store.save_robots(dict(self._robots[i]) for i in ids)
        except StorageUnavailable:
            self._unpersisted |= ids  # kept for the next window: nothing is dropped
            raise

    async def _persist_or_retry(self, robot_id: str) -> None:
        """Persist now if the database lets us; otherwise the write-behind retries it."""
        try:
            await self.persist(robot_id)
        except StorageUnavailable:
            pass  # the journal's storage watch reports the fault, once

    async def persist_forever(self) -> None:
        while True:
            await asyncio.sleep(PERSIST_WINDOW_S)
            try:
                await self.persist()
            except StorageUnavailable:
                pass  # retried next window; the journal's storage watch reports the fault

    # ---- commands ----

    def send_command(self, robot_id: str, name: Command, *, command_id: str | None = None,
                     **fields: Any) -> str:
        """Send a command to a connected robot; its id comes back in command_result."""
        link = self._links.get(robot_id)
        if link is None:
            raise RobotOffline(f"robot {robot_id} is not connected")
        command_id = command_id or new_command_id()
        link.command(command_id, name, fields)
        return command_id

    async def reload(self, robot_id: str | None) -> None:
        """Re-read robots another program changed; live telemetry wins for connected ones."""
        fresh = {r.id: r.model_dump(mode="json") for r in await self._store.robots()}
        for rid, record in fresh.items():
            if robot_id not in (None, rid) or rid in self._links:
                continue
            if self._robots.get(rid) != record:
                self._robots[rid] = record
                self._views.pop(rid, None)
                self._unpublished.add(rid)
        gone = [rid for rid in self._robots if rid not in fresh and rid not in self._links
                and robot_id in (None, rid)]
        for rid in gone:
            del self._robots[rid]
            self._views.pop(rid, None)
        self._publish_now()
        if gone:
            self._hub.publish(Topic.ROBOTS, "delete", [], ids=gone)

    async def close(self) -> None:
        """Final flush: every robot offline, nothing left unwritten."""
        self._publish_now()
        for record in self._robots.values():
            record.update(connected=False, status=RobotStatus.OFFLINE.value)
        self._links.clear()
        self._views.clear()
        await self._store.save_robots(self._robots.values())

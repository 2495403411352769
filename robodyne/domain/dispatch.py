"""Robot dispatch (docs/protocol.md, "Dispatch"): queues robot work, picks the robot, drives
each task from the robot's replies, recovers when a robot fails, sends robots to charge and
home. Every change of a task is committed, then published on tasks; the orders it moves are
moved through the restaurant's rules, committed and published there."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any, Final

from ..core.errors import Conflict, Forbidden, Invalid, NotFound, RobotOffline
from ..core.models import (
    Command,
    Order,
    OrderPriority,
    OrderStatus,
    RobotStatus,
    Severity,
    Task,
    TaskChanges,
    TaskKind,
    TaskSource,
    TaskStatus,
    TaskStop,
    StopStatus,
    utcnow,
)
from ..core.orders import CLOSED_ORDER_STATUSES
from ..core.stats import Stats
from ..core.tasks import ACTIVE, FINISHED, REPINNABLE, REPRIORITISABLE
from ..core.topics import Topic
from ..live.hub import Hub
from ..settings import DispatchSettings
from ..store.store import Store
from .assign import Candidate, Job, OpenDelivery, delivery_for, plan
from .fleet import ERROR_STATUSES, Fleet, RobotChange, new_command_id
from .journal import Journal
from .restaurant import Restaurant

log = logging.getLogger(__name__)

S = OrderStatus
T = TaskStatus
# Kinds that go to a table, and so take a stop with the table (and for deliver, orders).
TABLE_KINDS: Final = frozenset({TaskKind.DELIVER, TaskKind.BUS, TaskKind.SUMMON, TaskKind.GO_TO})
# The priority of a deliver task carrying a rush order.
RUSH_PRIORITY: Final = 10
# After a restart, a robot on an unfinished task has this many heartbeats to come back.
RESTART_GRACE_HEARTBEATS: Final = 3


def _position(record: dict[str, Any]) -> tuple[float, float] | None:
    pose = record["pose"]
    return None if pose is None else (float(pose["x"]), float(pose["y"]))


class Dispatcher:
    """Every unfinished task, in memory as committed, and the rules that move them."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, fleet: Fleet,
                 restaurant: Restaurant, settings: DispatchSettings, stats: Stats) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._fleet = fleet
        self._restaurant = restaurant
        self._settings = settings
        self._stats = stats
        self.tasks: dict[int, Task] = {}
        # Decisions are made one at a time: each reads tasks and robots, then writes.
        self._lock = asyncio.Lock()
        # When each robot last became free, for ties between equally near robots.
        self._free_since: dict[str, float] = {}
        # Each queued task's Job, with the task it was made from.
        self._jobs: dict[int, tuple[Task, Job]] = {}
        restaurant.order_watchers.append(self.order_moved)
        fleet.watch(self.robot_changed, (settings.min_battery, settings.charge_below,
                                         settings.resume_battery))

    def close(self) -> None:
        """Stop hearing of orders and robots: undoes the constructor's registrations."""
        self._restaurant.order_watchers.remove(self.order_moved)
        self._fleet.unwatch(self.robot_changed)

    async def load(self) -> None:
        """The unfinished tasks of the database: a restart forgets none of them. Orders that
        are ready on no task (made ready while auto_deliver was off, or by another program)
        are put on one, as if they had just become ready."""
        self.tasks = {task.id: task for task in await self._store.unfinished_tasks()}
        async with self._lock:
            for order in await self._store.orders():
                if self._holder(order.id) is not None:
                    continue
                if order.status is S.DELIVERING:
                    # Its task finished, but the server stopped before the order was released:
                    # released now as that end would have (a cancel hands it to staff, so it
                    # keeps the task's id; after a failure it rides again).
                    ended = (await self._store.task(order.task_id)
                             if order.task_id is not None else None)
                    to_staff = ended is not None and ended.status is T.CANCELLED
                    order = await self._move(order.id, status=S.READY, robot_id=None,
                                             set_robot=True, task_id=None,
                                             set_task=not to_staff) or order
                if (order.status is S.READY and order.task_id is None
                        and self._settings.auto_deliver):
                    # A ready order staff took off a task keeps that task's id, and stays.
                    await self._auto_deliver(order)

    async def recover(self, heartbeat_s: float) -> None:
        """After a restart: fail the active tasks whose robot is not back within the grace."""
        if not any(task.status in ACTIVE for task in self.tasks.values()):
            return
        await asyncio.sleep(RESTART_GRACE_HEARTBEATS * heartbeat_s)
        async with self._lock:
            for task in list(self.tasks.values()):
                if task.status in ACTIVE and task.robot_id not in self._fleet.links:
                    await self._fail(task, f"robot {task.robot_id} was not back after the"
                                           " server restarted")
            await self._dispatch()

    # ---- what staff ask for (REST) ----

    async def create(self, kind: TaskKind, *, table_id: int | None = None,
                     order_ids: list[int] | None = None, robot_id: str | None = None,
                     priority: int = 0, source: TaskSource = TaskSource.STAFF) -> Task:
        """A new task, queued and at once offered to a robot; bad input queues nothing."""
        async with self._lock:
            if robot_id is not None and robot_id not in self._fleet.robots:
                raise Invalid(f"robot_id: there is no robot {robot_id}")
            stops = await self._stops_for(kind, table_id, order_ids or [], robot_id)
            task = await self._create(kind, stops, priority=priority, robot_id=robot_id,
                                      source=source)
            await self._claim_orders(task)
            await self._dispatch()
            return self.tasks.get(task.id) or await self._require(task.id)

    async def change(self, task_id: int, *, priority: int | None = None,
                     robot_id: str | None = None, set_robot: bool = False) -> Task:
        """Change a task's priority, or pin it to a robot (None unpins)."""
        async with self._lock:
            task = await self._unfinished(task_id)
            changes: TaskChanges = {}
            if priority is not None:
                if task.status not in REPRIORITISABLE:
                    raise Conflict(f"task {task_id} is {task.status}: only a queued task's"
                                   " priority changes")
                changes["priority"] = priority
            if set_robot:
                if robot_id is not None and robot_id not in self._fleet.robots:
                    raise Invalid(f"robot_id: there is no robot {robot_id}")
                if task.status not in REPINNABLE:
                    raise Conflict(f"task {task_id} is underway on {task.robot_id}: cancel it"
                                   " instead")
                if task.status is T.ASSIGNED and task.robot_id != robot_id:
                    changes.update({"status": T.QUEUED, "assigned_at": None,
                                    "command_id": None})
                changes.update({"robot_id": robot_id, "pinned": robot_id is not None})
            if changes:
                before = task
                task = await self._save(task, changes)
                if before.status is T.ASSIGNED and task.status is T.QUEUED:
                    self._tell_cancel(before)  # committed first: then the robot is told
                await self._dispatch()
            return self.tasks.get(task.id) or task

    async def cancel(self, task_id: int, reason: str = "cancelled by staff") -> Task:
        """Staff take it over: the robot is told, its orders go back to ready and stay there."""
        async with self._lock:
            before = await self._unfinished(task_id)
            task = await self._save(before, {"status": T.CANCELLED, "finished_at": utcnow(),
                                             "detail": reason})
            self._tell_cancel(before)
            await self._release_orders(task, redeliver=False)
            await self._dispatch()
            return task

    # ---- what the restaurant tells us ----

    async def order_moved(self, before: OrderStatus, order: Order, by_dispatch: bool) -> None:
        """An order reaching ready rides to its table; one moved by hand leaves its task."""
        if by_dispatch:
            return
        async with self._lock:
            if before in (S.READY, S.DELIVERING):
                await self._leave_task(order)
            if order.status is S.READY and self._settings.auto_deliver:
                await self._auto_deliver(order)
            await self._dispatch()

    # ---- what the robots tell us ----

    async def robot_changed(self, change: RobotChange) -> None:
        """A robot connected, dropped, changed status or crossed a battery mark."""
        async with self._lock:
            record, robot_id = change.record, change.robot_id
            task = self._task_of(robot_id)
            battery = record["battery"]
            if change.session == "began" and task is not None and task.status is T.ASSIGNED:
                # Back (or a takeover) before it accepted: its command may have gone to the
                # dead connection, so the new one is sent it again, under the same id.
                self._send(task, robot_id)
            elif not record["connected"]:
                if task is not None:
                    await self._robot_lost(task, "robot went offline")
            elif record["status"] in ERROR_STATUSES and change.before_status != record["status"]:
                if task is not None:
                    await self._robot_lost(task, f"robot reports {record['status']}")
            elif task is not None and task.kind is TaskKind.CHARGE and battery is not None \
                    and battery >= self._settings.resume_battery:
                await self._complete(task, f"charged to {battery:.0f}%")
            elif task is None and self._needs_charge(record):
                await self._send_own(robot_id, TaskKind.CHARGE,
                                     f"battery {battery:.0f}% is below"
                                     f" {self._settings.charge_below:g}%")
            if self._available(record):
                self._free_since.setdefault(robot_id, time.monotonic())
            else:
                self._free_since.pop(robot_id, None)
            await self._dispatch()

    async def command_result(self, robot_id: str, command_id: int | str, status: str,
                             detail: str) -> None:
        """A robot's answer to the command that carries one of its tasks."""
        async with self._lock:
            task = next((t for t in self.tasks.values()
                         if t.command_id == command_id and t.robot_id == robot_id), None)
            if task is None:
                return  # not a task's command (a manual one), or a task already over
            if status == "accepted" and task.status is T.ASSIGNED:
                await self._underway(task)
            elif status == "rejected" and task.status is T.ASSIGNED:
                await self._requeue(task, rejected=True,
                                    detail=f"rejected by {robot_id}" + (f": {detail}"
                                                                        if detail else ""))
            elif status == "done":
                await self._complete(task, detail or "done")
            elif status == "failed":
                await self._fail(task, detail or f"robot {robot_id} reports the task failed")
            await self._dispatch()

    async def robot_event(self, robot_id: str, event: str, *, task_id: int | None,
                          table_id: int | None, order_id: int | None, message: str) -> bool:
        """`arrived`, `delivered` and `failed` for one of this robot's tasks; False when the
        event is about no task of this robot (a delivered order then takes the old path)."""
        async with self._lock:
            task = self._event_task(robot_id, task_id, order_id)
            if task is None:
                return False
            if event == "arrived" and table_id is not None:
                await self._arrived(task, table_id)
            elif event == "delivered" and order_id is not None:
                await self._delivered(task, robot_id, order_id)
            elif event == "failed":
                await self._fail(task, message or f"robot {robot_id} reports the task failed")
            await self._dispatch()
            return True

    # ---- choosing robots ----

    def _busy(self) -> set[str]:
        """The robots on an unfinished task."""
        return {t.robot_id for t in self.tasks.values() if t.status in ACTIVE and t.robot_id}

    def _available(self, record: dict[str, Any], busy: set[str] | None = None) -> bool:
        """Connected, idle (or charged enough), battery enough, and on no unfinished task."""
        battery = record["battery"]
        if record["id"] not in self._fleet.links or record["id"] in (
                self._busy() if busy is None else busy):
            return False
        if battery is not None and battery < self._settings.min_battery:
            return False
        return record["status"] == RobotStatus.IDLE or (
            record["status"] == RobotStatus.CHARGING and battery is not None
            and battery >= self._settings.resume_battery)

    def _needs_charge(self, record: dict[str, Any]) -> bool:
        battery = record["battery"]
        return (battery is not None and battery < self._settings.charge_below
                and record["status"] in (RobotStatus.IDLE, RobotStatus.RETURNING))

    async def _dispatch(self) -> None:
        """Offer every queued task, best first, to the robots free right now.

        The decision (who is free, where everything is, the plan) is timed for /metrics.
        """
        started = time.perf_counter()
        queued = [task for task in self.tasks.values() if task.status is T.QUEUED]
        if not queued:
            return
        busy = self._busy()
        free = [Candidate(robot_id, _position(record), self._free_since.get(robot_id, 0.0))
                for robot_id, record in self._fleet.robots.items()
                if self._available(record, busy)]
        if not free:
            return
        tables = {table["id"]: (float(table["x"]), float(table["y"]))
                  for table in self._hub.snapshot(Topic.TABLES)[0]
                  if table["x"] is not None and table["y"] is not None}
        jobs = [self._job(task, tables) for task in queued]
        pairs = plan(jobs, free)
        self._stats.dispatch_decisions.observe(time.perf_counter() - started)
        for task_id, robot_id in pairs:
            await self._assign(self.tasks[task_id], robot_id)

    # ---- moving a task along ----

    def _job(self, task: Task, tables: dict[int, tuple[float, float]]) -> Job:
        """The task as the choice sees it, kept while the task (and its table) stay as they
        are: with a long queue, rebuilding every job each decision was most of its cost."""
        target = tables.get(task.stops[0].table_id) if task.stops else None
        cached = self._jobs.get(task.id)
        if cached is not None and cached[0] is task and cached[1].target == target:
            return cached[1]
        job = Job(task.id, task.priority, task.created_at, target,
                  task.robot_id if task.pinned else None, frozenset(task.rejected_by))
        self._jobs[task.id] = (task, job)
        return job

    async def _assign(self, task: Task, robot_id: str) -> None:
        """Commit the choice, then send the robot its command; a robot gone since goes back."""
        command_id = new_command_id()
        task = await self._save(task, {"status": T.ASSIGNED, "robot_id": robot_id,
                                       "assigned_at": utcnow(), "command_id": command_id})
        self._free_since.pop(robot_id, None)
        if not self._send(task, robot_id):
            await self._robot_lost(task, f"robot {robot_id} went offline")

    def _send(self, task: Task, robot_id: str) -> bool:
        """The task's command to its robot; False when the robot has no session now."""
        assert task.command_id is not None
        try:
            self._fleet.send_command(robot_id, Command(task.kind), command_id=task.command_id,
                                     **self._command_fields(task))
        except RobotOffline:
            return False
        return True

    @staticmethod
    def _command_fields(task: Task) -> dict[str, Any]:
        """task_id and stops; one stop also as table_id (and order_id), for simple robots."""
        fields: dict[str, Any] = {"task_id": task.id}
        if task.stops:
            fields["stops"] = [{"table_id": stop.table_id, "order_ids": stop.order_ids}
                               for stop in task.stops]
        if len(task.stops) == 1:
            fields["table_id"] = task.stops[0].table_id
            if len(task.stops[0].order_ids) == 1:
                fields["order_id"] = task.stops[0].order_ids[0]
        return fields

    async def _underway(self, task: Task) -> None:
        task = await self._save(task, {"status": T.UNDERWAY, "started_at": utcnow()})
        for order_id in self._order_ids(task):
            order = await self._store.order(order_id)
            if order is not None and order.status is S.READY:
                await self._move(order_id, status=S.DELIVERING, robot_id=task.robot_id,
                                 set_robot=True)

    async def _requeue(self, task: Task, *, rejected: bool, detail: str) -> None:
        """Back in the queue for another robot (never the one that refused it). A robot's own
        errand (to charge, to go home) is for no other robot: it ends instead, and the robot
        gets a fresh one when it needs one."""
        if task.kind not in TABLE_KINDS:
            await self._save(task, {"status": T.CANCELLED, "finished_at": utcnow(),
                                    "detail": detail})
            return
        changes: TaskChanges = {"status": T.QUEUED, "assigned_at": None, "command_id": None,
                                "detail": detail}
        if rejected and task.robot_id is not None:
            changes["rejected_by"] = [*task.rejected_by, task.robot_id]
            # A task pinned to the robot that refused it would wait forever: unpin it.
            changes.update({"robot_id": None, "pinned": False})
        elif not task.pinned:
            changes["robot_id"] = None
        await self._save(task, changes)

    async def _robot_lost(self, task: Task, reason: str) -> None:
        """The robot dropped or broke: before it accepted, the task waits for another robot;
        after, the task failed and its food goes back to a person."""
        if task.status is T.ASSIGNED:
            await self._requeue(task, rejected=False, detail=reason)
        else:
            await self._fail(task, reason)

    async def _arrived(self, task: Task, table_id: int) -> None:
        stops = [stop.model_copy() for stop in task.stops]
        stop = next((s for s in stops if s.table_id == table_id
                     and s.status is StopStatus.PENDING), None)
        if stop is not None:
            stop.status = StopStatus.ARRIVED
            await self._save(task, {"stops": stops})

    async def _delivered(self, task: Task, robot_id: str, order_id: int) -> None:
        if order_id not in self._order_ids(task):
            raise Forbidden(f"order {order_id} is not on task {task.id}")
        order = await self._store.order(order_id)
        if order is None or order.status not in (S.READY, S.DELIVERING):
            return
        served = await self._move(order_id, status=S.SERVED, robot_id=robot_id,
                                  set_robot=True)
        if served is not None:
            self._observe_delivery(served)
        stops = [stop.model_copy() for stop in task.stops]
        for stop in stops:
            if order_id in stop.order_ids and await self._all_served(stop.order_ids):
                stop.status = StopStatus.DONE
        task = await self._save(task, {"stops": stops})
        if all(stop.status in (StopStatus.DONE, StopStatus.SKIPPED) for stop in stops):
            await self._complete(task, "every stop done")

    async def _complete(self, task: Task, detail: str, *, tell_cancel: bool = False) -> None:
        """Finished: a deliver's remaining orders are served (the robot says it handed them
        over), and the robot is sent to charge or home when that is what it needs next.
        `tell_cancel`: the robot did not finish it itself, so it is told to stop first."""
        if task.status in FINISHED:
            return
        before = task
        for order_id in self._order_ids(task):
            order = await self._store.order(order_id)
            if order is not None and order.status in (S.READY, S.DELIVERING):
                served = await self._move(order_id, status=S.SERVED, robot_id=task.robot_id,
                                          set_robot=True)
                if served is not None:
                    self._observe_delivery(served)
        stops = [stop.model_copy(update={"status": StopStatus.DONE})
                 if stop.status is not StopStatus.SKIPPED else stop for stop in task.stops]
        task = await self._save(task, {"status": T.COMPLETED, "finished_at": utcnow(),
                                       "detail": detail, "stops": stops})
        if tell_cancel:
            self._tell_cancel(before)
        robot_id = task.robot_id
        if robot_id is not None:
            self._free_since[robot_id] = time.monotonic()
        if robot_id is None or robot_id not in self._fleet.links or task.kind is TaskKind.CHARGE:
            return
        battery = self._fleet.robots[robot_id]["battery"]
        if battery is not None and battery < self._settings.charge_below:
            await self._send_own(robot_id, TaskKind.CHARGE,
                                 f"battery {battery:.0f}% after its task")
        elif task.kind is not TaskKind.RETURN and self._settings.return_when_idle and not any(
                t.status is T.QUEUED and robot_id not in t.rejected_by
                and (not t.pinned or t.robot_id == robot_id) for t in self.tasks.values()):
            await self._send_own(robot_id, TaskKind.RETURN, "nothing queued for it")

    async def _fail(self, task: Task, reason: str) -> None:
        """Failed: task_failed is raised, and its undelivered orders go back to ready (and,
        with auto_deliver, onto a new deliver task at once)."""
        if task.status in FINISHED:
            return
        task = await self._save(task, {"status": T.FAILED, "finished_at": utcnow(),
                                       "detail": reason})
        await self._journal.event(
            "task_failed", severity=Severity.WARNING,
            message=f"{task.kind} task {task.id} on {task.robot_id} failed: {reason}",
            data={"task_id": task.id, "kind": task.kind, "robot_id": task.robot_id,
                  "reason": reason, "order_ids": self._order_ids(task)})
        await self._release_orders(task, redeliver=self._settings.auto_deliver)

    async def _send_own(self, robot_id: str, kind: TaskKind, detail: str) -> None:
        """A charge or return task for this robot, sent to it at once."""
        task = await self._create(kind, [], robot_id=robot_id, source=TaskSource.AUTO,
                                  detail=detail)
        await self._assign(task, robot_id)

    def _tell_cancel(self, task: Task) -> None:
        if task.status in ACTIVE and task.robot_id is not None:
            try:
                self._fleet.send_command(task.robot_id, Command.CANCEL, task_id=task.id)
            except RobotOffline:
                pass  # gone already: nothing to take back

    # ---- orders on tasks ----

    async def _stops_for(self, kind: TaskKind, table_id: int | None, order_ids: list[int],
                         robot_id: str | None) -> list[TaskStop]:
        """The stops of a new task, after checking every table and order it names."""
        if kind is TaskKind.DELIVER:
            if not order_ids:
                raise Invalid("order_ids: a deliver task needs at least one order")
            stops: dict[int, list[int]] = {}
            for order_id in dict.fromkeys(order_ids):
                order = await self._store.order(order_id)
                if order is None:
                    raise Invalid(f"order_ids: there is no order {order_id}")
                if order.status is not S.READY:
                    raise Invalid(f"order_ids: order {order_id} is {order.status}, not ready")
                holder = self._holder(order_id)
                if holder is not None:
                    raise Conflict(f"order {order_id} is already on task {holder.id}")
                stops.setdefault(order.table_id, []).append(order_id)
            return [TaskStop(table_id=table, order_ids=ids) for table, ids in stops.items()]
        if order_ids:
            raise Invalid(f"order_ids: a {kind} task carries no orders")
        if kind in TABLE_KINDS:
            if table_id is None:
                raise Invalid(f"table_id: a {kind} task needs a table")
            if await self._store.table(table_id) is None:
                raise Invalid(f"table_id: there is no table {table_id}")
            return [TaskStop(table_id=table_id)]
        if robot_id is None:
            raise Invalid(f"robot_id: a {kind} task needs the robot it is for")
        return []

    async def _auto_deliver(self, order: Order) -> None:
        """Onto the queued deliver task with a stop at its table, else one with room, else new."""
        if self._holder(order.id) is not None:
            return
        open_deliveries = [
            OpenDelivery(task.id, [stop.table_id for stop in task.stops])
            for task in self.tasks.values()
            if task.kind is TaskKind.DELIVER and task.status is T.QUEUED and not task.pinned]
        joined = delivery_for(order.table_id, open_deliveries, self._settings.max_stops)
        # A rush order rides first: its trip is raised above every normal one.
        priority = RUSH_PRIORITY if order.priority is OrderPriority.RUSH else 0
        if joined is None:
            task = await self._create(TaskKind.DELIVER, [TaskStop(table_id=order.table_id,
                                                                  order_ids=[order.id])],
                                      priority=priority, source=TaskSource.AUTO)
        else:
            task = self.tasks[joined]
            stops = [stop.model_copy(deep=True) for stop in task.stops]
            stop = next((s for s in stops if s.table_id == order.table_id), None)
            if stop is None:
                stops.append(TaskStop(table_id=order.table_id, order_ids=[order.id]))
            else:
                stop.order_ids.append(order.id)
            task = await self._save(task, {"stops": stops,
                                           "priority": max(task.priority, priority)})
        await self._move(order.id, task_id=task.id, set_task=True)

    async def _claim_orders(self, task: Task) -> None:
        for order_id in self._order_ids(task):
            await self._move(order_id, task_id=task.id, set_task=True)

    async def _leave_task(self, order: Order) -> None:
        """An order moved by hand off ready or delivering: its stop drops it; a stop left
        empty is skipped; a deliver task left with nothing to deliver is cancelled."""
        task = self._holder(order.id)
        if task is None:
            return
        stops = [stop.model_copy(deep=True) for stop in task.stops]
        for stop in stops:
            if order.id in stop.order_ids:
                stop.order_ids.remove(order.id)
                if not stop.order_ids and stop.status is not StopStatus.DONE:
                    stop.status = StopStatus.SKIPPED
        for stop in stops:
            if stop.order_ids and stop.status is not StopStatus.DONE \
                    and await self._all_served(stop.order_ids):
                stop.status = StopStatus.DONE  # what is left of it was delivered already
        task = await self._save(task, {"stops": stops})
        if order.status not in CLOSED_ORDER_STATUSES:
            await self._move(order.id, task_id=None, set_task=True, robot_id=None,
                             set_robot=True)
        if task.kind is TaskKind.DELIVER and all(
                stop.status in (StopStatus.DONE, StopStatus.SKIPPED) for stop in stops):
            if any(stop.status is StopStatus.DONE for stop in stops):
                await self._complete(task, f"the rest was taken by hand (order {order.id}"
                                           f" is {order.status})", tell_cancel=True)
            else:
                await self._save(task, {
                    "status": T.CANCELLED, "finished_at": utcnow(),
                    "detail": f"nothing left to deliver (order {order.id} is {order.status})"})
                self._tell_cancel(task)

    async def _release_orders(self, task: Task, *, redeliver: bool) -> None:
        """The task's undelivered orders go back to ready, off the task (and off the robot)."""
        released = []
        for order_id in self._order_ids(task):
            order = await self._store.order(order_id)
            if order is None or order.status not in (S.READY, S.DELIVERING):
                continue
            # Handed back to staff, it keeps the id of the task that let it go, so that no
            # restart puts it on a robot again; to be redelivered, it leaves it.
            moved = await self._move(order_id, status=S.READY, robot_id=None, set_robot=True,
                                     task_id=None, set_task=redeliver)
            if moved is not None:
                released.append(moved)
        if redeliver:
            for order in released:
                await self._auto_deliver(order)

    async def _move(self, order_id: int, **change: Any) -> Order | None:
        """Move or change an order as the dispatcher; None when someone moved it first (a
        person's write between our read and this one): their move stands."""
        try:
            return await self._restaurant.change_order(order_id, by_dispatch=True, **change)
        except Conflict:
            log.info("order %s moved by someone else meanwhile: left as it is", order_id)
            return None

    async def _all_served(self, order_ids: Iterable[int]) -> bool:
        for order_id in order_ids:
            order = await self._store.order(order_id)
            if order is None or order.status is not S.SERVED:
                return False
        return True

    def _observe_delivery(self, order: Order) -> None:
        if order.ready_at is not None and order.served_at is not None:
            self._stats.observe_delivery(order.ready_at, order.served_at)

    # ---- reading tasks ----

    @staticmethod
    def _order_ids(task: Task) -> list[int]:
        return [order_id for stop in task.stops for order_id in stop.order_ids]

    def carrier(self, order_id: int) -> str | None:
        """The robot an unfinished task has given this order to, if any."""
        task = self._holder(order_id)
        return task.robot_id if task is not None and task.status in ACTIVE else None

    def _holder(self, order_id: int) -> Task | None:
        """The unfinished task that carries this order, if any."""
        return next((t for t in self.tasks.values() if order_id in self._order_ids(t)), None)

    def _task_of(self, robot_id: str) -> Task | None:
        """The task this robot is on (assigned or underway), if any."""
        return next((t for t in self.tasks.values()
                     if t.robot_id == robot_id and t.status in ACTIVE), None)

    def _event_task(self, robot_id: str, task_id: int | None,
                    order_id: int | None) -> Task | None:
        if task_id is not None:
            task = self.tasks.get(task_id)
        elif order_id is not None:
            task = self._holder(order_id)
        else:
            task = self._task_of(robot_id)
        return task if task is not None and task.robot_id == robot_id else None

    async def _unfinished(self, task_id: int) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            finished = await self._require(task_id)
            raise Conflict(f"task {task_id} is {finished.status}: it can no longer change")
        return task

    async def _require(self, task_id: int) -> Task:
        task = await self._store.task(task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        return task

    # ---- writing tasks ----

    async def _create(self, kind: TaskKind, stops: list[TaskStop], *, priority: int = 0,
                      robot_id: str | None = None, source: TaskSource,
                      detail: str = "") -> Task:
        task = await self._store.add_task(kind, stops, priority=priority, robot_id=robot_id,
                                          source=source, detail=detail)
        self.tasks[task.id] = task
        self._hub.publish(Topic.TASKS, "upsert", [task.model_dump(mode="json")])
        return task

    async def _save(self, task: Task, changes: TaskChanges) -> Task:
        """Commit the change, then publish it; a finished task leaves memory and is counted."""
        updated = await self._store.update_task(task.id, changes)
        if updated is None:
            raise NotFound(f"task {task.id} not found")
        if updated.status in FINISHED:
            self.tasks.pop(updated.id, None)
            self._jobs.pop(updated.id, None)
            if task.status not in FINISHED:
                self._stats.tasks_finished[(updated.kind.value, updated.status.value)] += 1
        else:
            self.tasks[updated.id] = updated
        self._hub.publish(Topic.TASKS, "upsert", [updated.model_dump(mode="json")])
        return updated

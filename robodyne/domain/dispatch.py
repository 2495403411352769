"""Robot dispatch (docs/protocol.md, "Dispatch"): queues robot work, picks the robot, drives
each task from the robot's replies, recovers when a robot fails, sends robots to charge and
home. The task book commits and publishes every change of a task; the cargo moves the orders
tasks carry through the restaurant's rules; the choices themselves are assign.py's."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from collections.abc import Awaitable, Callable
from typing import Final

from ..core.errors import DomainError, Forbidden, RobotOffline
from ..core.models import (
    Command,
    Customer,
    Order,
    OrderStatus,
    PlaceName,
    Severity,
    StopStatus,
    Task,
    TaskChanges,
    TaskKind,
    TaskSource,
    TaskStatus,
    TaskStop,
    Visit,
    iso,
    utcnow,
)
from ..core.orders import CLOSED_ORDER_STATUSES
from ..core.stats import Stats
from ..core.tasks import (
    ACTIVE,
    CARRIABLE_ORDER_STATUSES,
    FINISHED,
    TABLE_KINDS,
    all_stops_closed,
    arrived_at,
    closed_stops,
    command_fields,
    orders_on,
    repinned,
    reprioritised,
    requeued,
    start_point,
    without_order,
)
from ..live.hub import Hub
from ..settings import DispatchSettings
from ..store.store import Store
from .assign import Candidate, Jobs, available, charged, low, needs_charge, plan
from .cargo import Cargo
from .fleet import ERROR_STATUSES, Fleet, RobotChange, new_command_id
from .journal import Journal
from .places import Places
from .restaurant import Restaurant
from .taskbook import TaskBook
from .visits import Visits

log = logging.getLogger(__name__)

S = OrderStatus
T = TaskStatus
# After a restart, a robot on an unfinished task has this many heartbeats to come back.
RESTART_GRACE_HEARTBEATS: Final = 3
# A party at the door goes before food on the pass (rush orders, 10, still go first); an
# escort no robot took within ESCORT_WAIT_S is given up: the party has walked to its table.
ESCORT_PRIORITY: Final = 5
ESCORT_WAIT_S: Final = 120.0


class Dispatcher:
    """The decisions that move tasks: what is queued, who takes it, how it ends."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, fleet: Fleet,
                 restaurant: Restaurant, visits: Visits, places: Places,
                 settings: DispatchSettings, stats: Stats) -> None:
        self._journal = journal
        self._fleet = fleet
        self._restaurant = restaurant
        self._places = places
        self._visits = visits
        self._settings = settings
        self._stats = stats
        # The dispatcher's own parts: no other holds them.
        self._book = TaskBook(store, hub, stats)
        self._cargo = Cargo(store, restaurant, self._book, stats, settings.max_stops)
        # Decisions are made one at a time: each reads tasks and robots, then writes.
        self._lock = asyncio.Lock()
        # When each robot last became free, for ties between equally near robots.
        self._free_since: dict[str, float] = {}
        self._jobs = Jobs()
        # Told of every task that finished, from inside the decision that finished it: they
        # must not ask the dispatcher anything (its lock is held).
        self.on_finish: list[Callable[[Task], Awaitable[None]]] = []

    def close(self) -> None:
        """Stop hearing of orders, visits, robots and the store: undoes load's registrations."""
        self._restaurant.order_watchers.remove(self.order_moved)
        self._visits.on_close.remove(self.visit_closed)
        self._fleet.unwatch(self.robot_changed)
        self._journal.on_recovered.remove(self.look_over)

    async def load(self) -> None:
        """The unfinished tasks of the database: a restart forgets none of them, and the
        orders are looked over (`_look_over_orders`). From then on it hears of orders, robots
        and the store's recovery (until close)."""
        await self._book.load()
        async with self._lock:
            await self._look_over_orders()
        self._restaurant.order_watchers.append(self.order_moved)
        self._visits.on_close.append(self.visit_closed)
        self._journal.on_recovered.append(self.look_over)
        settings = self._settings
        self._fleet.watch(self.robot_changed, (settings.min_battery, settings.charge_below,
                                               settings.resume_battery))

    async def look_over(self) -> None:
        """After the database refused writes: a decision cut short between two of its writes
        (a task failed whose orders were not yet released, an order made ready whose trip was
        not yet written) is finished now, as a restart would, and the queue offered again."""
        async with self._lock:
            await self._look_over_orders()
            await self._dispatch()

    async def _look_over_orders(self) -> None:
        """Orders delivering on a task that ended are released as its end would have (one
        delivering on no task is in a person's hands: left there); orders ready on no task
        (made ready while auto_deliver was off, by another program, or while the trip could not
        be written) are put on one, as if just ready."""
        for order in await self._cargo.orders():
            if self._book.holder(order.id) is not None:
                continue
            if order.status is S.DELIVERING and order.task_id is not None:
                order = await self._cargo.unstick(order)
            if (order.status is S.READY and order.task_id is None
                    and self._settings.auto_deliver):
                # A ready order staff took off a task keeps that task's id, and stays.
                await self._cargo.ride(order)

    async def recover(self, heartbeat_s: float) -> None:
        """After a restart: fail the active tasks whose robot is not back within the grace."""
        if not self._book.any_active():
            return
        await asyncio.sleep(RESTART_GRACE_HEARTBEATS * heartbeat_s)
        async with self._lock:
            for task in list(self._book):
                if task.status in ACTIVE and not self._fleet.is_online(task.robot_id or ""):
                    await self._fail(task, f"robot {task.robot_id} was not back after the"
                                           " server restarted")
            await self._dispatch()

    # ---- what staff ask for (REST) ----

    async def create(self, kind: TaskKind, *, table_id: int | None = None,
                     order_ids: list[int] | None = None, robot_id: str | None = None,
                     priority: int = 0, source: TaskSource = TaskSource.STAFF) -> Task:
        """A new task, queued and at once offered to a robot; bad input queues nothing."""
        async with self._lock:
            self._fleet.check_robot_id(robot_id)
            stops = await self._cargo.stops_for(kind, table_id, order_ids or [], robot_id)
            task = await self._book.create(kind, stops, priority=priority, robot_id=robot_id,
                                           source=source)
            await self._cargo.claim(task)
            await self._dispatch()
            return self._book.get(task.id) or await self._book.require(task.id)

    async def change(self, task_id: int, *, priority: int | None = None,
                     robot_id: str | None = None, set_robot: bool = False) -> Task:
        """Change a task's priority, or pin it to a robot (None unpins)."""
        async with self._lock:
            task = await self._book.unfinished(task_id)
            changes: TaskChanges = {}
            if priority is not None:
                changes.update(reprioritised(task, priority))
            if set_robot:
                self._fleet.check_robot_id(robot_id)
                changes.update(repinned(task, robot_id))
            if changes:
                before = task
                task = await self._book.save(task, changes)
                if before.status is T.ASSIGNED and task.status is T.QUEUED:
                    self._tell_cancel(before)  # committed first: then the robot is told
                await self._dispatch()
            return self._book.get(task.id) or task

    async def cancel(self, task_id: int, reason: str = "cancelled by staff") -> Task:
        """Staff take it over: the robot is told, its orders go back to ready and stay there."""
        async with self._lock:
            before = await self._book.unfinished(task_id)
            task = await self._end(before, T.CANCELLED, reason)
            self._tell_cancel(before)
            await self._cargo.release(task, redeliver=False)
            await self._dispatch()
            return task

    # ---- what the restaurant tells us ----

    async def visit_closed(self, visit: Visit, bus: bool) -> None:
        """A party has gone and left its table to clear: with dispatch.bus_on_close, a robot
        is sent to bus it (SPEC §12.3)."""
        if bus and self._settings.bus_on_close:
            await self.create(TaskKind.BUS, table_id=visit.table_id, source=TaskSource.AUTO)

    async def escort(self, party: Customer, visit: Visit) -> None:
        """A party seated (with host.escort): a robot meets it at the host stand and leads it
        to its table (SPEC §12.4) — unless no host stand is set, when there is none to meet
        at. The seating stands whatever becomes of the escort: one that cannot be queued
        (the table deleted meanwhile, storage failing) is logged, not the seating's error."""
        if PlaceName.HOST not in self._places.positions():
            return
        try:
            await self.create(TaskKind.ESCORT, table_id=visit.table_id,
                              priority=ESCORT_PRIORITY, source=TaskSource.AUTO)
        except DomainError as err:
            log.warning("no escort for %s at table %d: %s", party.name, visit.table_id, err)

    async def order_moved(self, before: OrderStatus, order: Order, by_dispatch: bool) -> None:
        """An order reaching ready rides to its table; one moved by hand leaves its task."""
        if by_dispatch:
            return
        async with self._lock:
            if before in CARRIABLE_ORDER_STATUSES:
                await self._leave_task(order)
            if order.status is S.READY and self._settings.auto_deliver:
                await self._cargo.ride(order)
            await self._dispatch()

    # ---- what the robots tell us ----

    async def robot_changed(self, change: RobotChange) -> None:
        """A robot connected, dropped, changed status or crossed a battery mark."""
        async with self._lock:
            robot_id = change.robot_id
            robot = self._fleet.robot(robot_id)  # as it is now, not as it was when told
            task = self._book.of_robot(robot_id)
            claim = change.claim if change.session == "began" else None
            if task is not None and claim is not None and claim.lost(task):
                # Back without the task it was on (it restarted): failed at once, or back in
                # the queue if it never accepted, instead of waiting for someone to notice.
                await self._robot_lost(task, f"robot {robot_id} came back without task"
                                             f" {task.id}: it restarted")
            elif change.session == "began" and task is not None and task.status is T.ASSIGNED:
                # Back (or a takeover) before it accepted: its command may have gone to the
                # dead connection, so the new one is sent it again, under the same id.
                self._send(task, robot_id)
            elif robot is None or not robot.online:
                if task is not None:
                    await self._robot_lost(task, "robot went offline")
            elif robot.status in ERROR_STATUSES and change.before_status != robot.status:
                if task is not None:
                    await self._robot_lost(task, f"robot reports {robot.status}")
                    # Still connected, it may drive on once the error clears and hand over
                    # food that is someone else's now: it is told to drop the task.
                    self._tell_robot_cancel(robot_id, task.id)
            elif task is not None and task.kind is TaskKind.CHARGE and charged(
                    robot.battery, self._settings):
                await self._complete(task, f"charged to {robot.battery:.0f}%")
            elif task is None and needs_charge(robot, self._settings):
                await self._send_own(robot_id, TaskKind.CHARGE,
                                     f"battery {robot.battery:.0f}% is below"
                                     f" {self._settings.charge_below:g}%")
            # Again as it is now: the awaits above moved it, or its tasks.
            robot = self._fleet.robot(robot_id)
            if robot is not None and available(robot, self._book.busy(), self._settings):
                self._free_since.setdefault(robot_id, time.monotonic())
            else:
                self._free_since.pop(robot_id, None)
            await self._dispatch()
            stale = claim.stale(self._book.of_robot(robot_id)) if claim is not None else None
            if stale is not None:
                # Back still on a trip that is not its own now (it ended while the robot was
                # away, or went to another robot): told to drop it, after whatever was just
                # sent it (a robot drops only the task the cancel names).
                self._tell_robot_cancel(robot_id, stale)

    async def command_result(self, robot_id: str, command_id: int | str, status: str,
                             detail: str) -> None:
        """A robot's answer to the command that carries one of its tasks."""
        async with self._lock:
            task = self._book.of_command(robot_id, command_id)
            if task is None:
                return  # not a task's command (a manual one), or a task already over
            if status == "accepted" and task.status is T.ASSIGNED:
                task = await self._book.save(task, {"status": T.UNDERWAY,
                                                    "started_at": utcnow()})
                await self._cargo.set_off(task)
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
            task = self._book.of_event(robot_id, task_id, order_id)
            if task is None:
                return False
            if event == "arrived" and table_id is not None:
                stops = arrived_at(task.stops, table_id)
                if stops is not None:
                    await self._book.save(task, {"stops": stops})
            elif event == "delivered" and order_id is not None:
                await self._delivered(task, robot_id, order_id)
            elif event == "failed":
                await self._fail(task, message or f"robot {robot_id} reports the task failed")
            await self._dispatch()
            return True

    def carrier(self, order_id: int) -> str | None:
        """The robot an unfinished task has given this order to, if any."""
        task = self._book.holder(order_id)
        return task.robot_id if task is not None and task.status in ACTIVE else None

    # ---- choosing robots ----

    async def _dispatch(self) -> None:
        """Offer every queued task, best first, to the robots free right now.

        The decision (who is free, where everything is, the plan) is timed for /metrics.
        """
        started = time.perf_counter()
        queued = await self._without_stale_escorts(self._book.queued())
        if not queued:
            return
        busy = self._book.busy()
        free = [Candidate(robot.id, robot.position, self._free_since.get(robot.id, 0.0))
                for robot in self._fleet.online() if available(robot, busy, self._settings)]
        if not free:
            return
        tables, places = self._restaurant.table_positions(), self._places.positions()
        pairs = plan(self._jobs.of(queued, lambda task: start_point(task, tables, places)), free)
        self._stats.dispatch_decisions.observe(time.perf_counter() - started)
        for task_id, robot_id in pairs:
            await self._assign(self._book[task_id], robot_id)

    async def _without_stale_escorts(self, queued: list[Task]) -> list[Task]:
        """The queued tasks, an escort still queued ESCORT_WAIT_S after it was made given up
        first: its party has walked to its table, and a robot sent to the door now would
        find nobody (checked at every decision, so a restart forgets none)."""
        if not any(task.kind is TaskKind.ESCORT for task in queued):
            return queued
        cutoff = iso(datetime.now(timezone.utc) - timedelta(seconds=ESCORT_WAIT_S))
        kept = []
        for task in queued:
            if task.kind is TaskKind.ESCORT and task.created_at < cutoff:
                await self._end(task, T.CANCELLED, f"no robot was free within"
                                f" {ESCORT_WAIT_S:g} s: the party went to its table without one")
            else:
                kept.append(task)
        return kept

    # ---- moving a task along ----

    async def _assign(self, task: Task, robot_id: str) -> None:
        """Commit the choice, then send the robot its command; a robot gone since goes back."""
        task = await self._book.save(task, {"status": T.ASSIGNED, "robot_id": robot_id,
                                            "assigned_at": utcnow(),
                                            "command_id": new_command_id()})
        self._free_since.pop(robot_id, None)
        if not self._send(task, robot_id):
            await self._robot_lost(task, f"robot {robot_id} went offline")

    def _send(self, task: Task, robot_id: str) -> bool:
        """The task's command to its robot; False when the robot has no session now."""
        assert task.command_id is not None
        try:
            self._fleet.send_command(robot_id, Command(task.kind), command_id=task.command_id,
                                     **command_fields(task, self._restaurant.table_positions(),
                                                      self._places.positions()))
        except RobotOffline:
            return False
        return True

    async def _requeue(self, task: Task, *, rejected: bool, detail: str) -> None:
        """Back in the queue for another robot (never the one that refused it). A robot's own
        errand (to charge, to go home) is for no other robot: it ends instead, and the robot
        gets a fresh one when it needs one."""
        if task.kind not in TABLE_KINDS:
            await self._end(task, T.CANCELLED, detail)
            return
        await self._book.save(task, requeued(task, rejected=rejected, detail=detail))

    async def _robot_lost(self, task: Task, reason: str) -> None:
        """The robot dropped or broke: before it accepted, the task waits for another robot;
        after, the task failed and its food goes back to a person."""
        if task.status is T.ASSIGNED:
            await self._requeue(task, rejected=False, detail=reason)
        else:
            await self._fail(task, reason)

    async def _delivered(self, task: Task, robot_id: str, order_id: int) -> None:
        if order_id not in orders_on(task):
            raise Forbidden(f"order {order_id} is not on task {task.id}")
        if await self._cargo.carriable(order_id) is None:
            return
        await self._cargo.serve(order_id, robot_id)
        stops = await self._cargo.settled(task.stops, order_id)
        task = await self._book.save(task, {"stops": stops})
        if all_stops_closed(stops):
            await self._complete(task, "every stop done")

    async def _complete(self, task: Task, detail: str, *, tell_cancel: bool = False) -> None:
        """Finished: a deliver's remaining orders are served (the robot says it handed them
        over), and the robot is sent to charge or home when that is what it needs next.
        `tell_cancel`: the robot did not finish it itself, so it is told to stop first."""
        if task.status in FINISHED:
            return
        before = task
        await self._cargo.serve_rest(task)
        task = await self._end(task, T.COMPLETED, detail, stops=closed_stops(task.stops))
        if tell_cancel:
            self._tell_cancel(before)
        robot_id = task.robot_id
        if robot_id is not None:
            self._free_since[robot_id] = time.monotonic()
        robot = self._fleet.robot(robot_id) if robot_id is not None else None
        if robot is None or not robot.online or task.kind is TaskKind.CHARGE:
            return
        if low(robot.battery, self._settings):
            await self._send_own(robot.id, TaskKind.CHARGE,
                                 f"battery {robot.battery:.0f}% after its task")
        elif (task.kind is not TaskKind.RETURN and self._settings.return_when_idle
              and not self._book.waits_for(robot.id)):
            await self._send_own(robot.id, TaskKind.RETURN, "nothing queued for it")

    async def _fail(self, task: Task, reason: str) -> None:
        """Failed: task_failed is raised, and its undelivered orders go back to ready (and,
        with auto_deliver, onto a new deliver task at once)."""
        if task.status in FINISHED:
            return
        task = await self._end(task, T.FAILED, reason)
        await self._journal.event(
            "task_failed", severity=Severity.WARNING,
            message=f"{task.kind} task {task.id} on {task.robot_id} failed: {reason}",
            data={"task_id": task.id, "kind": task.kind, "robot_id": task.robot_id,
                  "reason": reason, "order_ids": orders_on(task)})
        await self._cargo.release(task, redeliver=self._settings.auto_deliver)

    async def _end(self, task: Task, status: TaskStatus, detail: str,
                   stops: list[TaskStop] | None = None) -> Task:
        """The task finished with this status and why (and its stops as they ended)."""
        changes: TaskChanges = {"status": status, "finished_at": utcnow(), "detail": detail}
        if stops is not None:
            changes["stops"] = stops
        task = await self._book.save(task, changes)
        for watcher in list(self.on_finish):
            try:
                await watcher(task)
            except Exception:  # the decision goes on: its robot and orders must not hang
                log.exception("a watcher of finished tasks failed on task %d", task.id)
        return task

    async def _send_own(self, robot_id: str, kind: TaskKind, detail: str) -> None:
        """A charge or return task for this robot, sent to it at once."""
        task = await self._book.create(kind, [], robot_id=robot_id, source=TaskSource.AUTO,
                                       detail=detail)
        await self._assign(task, robot_id)

    def _tell_cancel(self, task: Task) -> None:
        if task.status in ACTIVE and task.robot_id is not None:
            self._tell_robot_cancel(task.robot_id, task.id)

    def _tell_robot_cancel(self, robot_id: str, task_id: int) -> None:
        try:
            self._fleet.send_command(robot_id, Command.CANCEL, task_id=task_id)
        except RobotOffline:
            pass  # gone already: nothing to take back

    async def _leave_task(self, order: Order) -> None:
        """An order moved by hand off ready or delivering: its stop drops it; a stop left
        empty is skipped; a deliver task left with nothing to deliver is cancelled."""
        task = self._book.holder(order.id)
        if task is None:
            return
        # A stop may be left with only orders that were delivered already: it is done.
        stops = await self._cargo.settled(without_order(task.stops, order.id))
        task = await self._book.save(task, {"stops": stops})
        if order.status not in CLOSED_ORDER_STATUSES:
            await self._cargo.move(order.id, task_id=None, set_task=True, robot_id=None,
                                   set_robot=True)
        if task.kind is TaskKind.DELIVER and all_stops_closed(stops):
            if any(stop.status is StopStatus.DONE for stop in stops):
                await self._complete(task, f"the rest was taken by hand (order {order.id}"
                                           f" is {order.status})", tell_cancel=True)
            else:
                await self._end(task, T.CANCELLED, f"nothing left to deliver (order {order.id}"
                                                   f" is {order.status})")
                self._tell_cancel(task)

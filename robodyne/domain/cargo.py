"""The orders tasks carry: checked when a task is asked for, put on a trip when ready, and
moved through the restaurant's rules as the dispatcher's own moves (committed and published
there)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

from ..core.errors import Conflict, Invalid
from ..core.models import (
    Order,
    OrderPriority,
    OrderStatus,
    StopStatus,
    Task,
    TaskKind,
    TaskSource,
    TaskStatus,
    TaskStop,
)
from ..core.stats import Stats
from ..core.tasks import CARRIABLE_ORDER_STATUSES, TABLE_KINDS, orders_on, with_order
from ..store.store import Store
from .assign import delivery_for
from .restaurant import Restaurant
from .taskbook import TaskBook

log = logging.getLogger(__name__)

S = OrderStatus
# The priority of a deliver task carrying a rush order.
RUSH_PRIORITY: Final = 10


class Cargo:
    """Reads and moves the orders on tasks; a move someone else made first is left standing."""

    def __init__(self, store: Store, restaurant: Restaurant, book: TaskBook, stats: Stats,
                 max_stops: int) -> None:
        self._store = store
        self._restaurant = restaurant
        self._book = book
        self._stats = stats
        self._max_stops = max_stops

    async def stops_for(self, kind: TaskKind, table_id: int | None, order_ids: list[int],
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
                holder = self._book.holder(order_id)
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

    async def ride(self, order: Order) -> None:
        """A ready order on no task rides: onto the queued deliver task with a stop at its
        table, else one with room for another stop, else a new one."""
        if self._book.holder(order.id) is not None:
            return
        joined = delivery_for(order.table_id, self._book.open_deliveries(), self._max_stops)
        # A rush order rides first: its trip is raised above every normal one.
        priority = RUSH_PRIORITY if order.priority is OrderPriority.RUSH else 0
        if joined is None:
            task = await self._book.create(TaskKind.DELIVER, [TaskStop(
                table_id=order.table_id, order_ids=[order.id])], priority=priority,
                source=TaskSource.AUTO)
        else:
            task = self._book[joined]
            task = await self._book.save(task, {
                "stops": with_order(task.stops, order.table_id, order.id),
                "priority": max(task.priority, priority)})
        await self.move(order.id, task_id=task.id, set_task=True)

    async def unstick(self, order: Order) -> Order:
        """An order delivering on a task that ended, before the order was released (the server
        stopped, or the database refused the release). Released now as that end would have: a
        cancel hands it to staff (it keeps the task's id), after a failure it rides again."""
        ended = await self._book.stored(order.task_id) if order.task_id is not None else None
        to_staff = ended is not None and ended.status is TaskStatus.CANCELLED
        return await self._hand_back(order.id, redeliver=not to_staff) or order

    async def orders(self) -> list[Order]:
        """Every open order (and those closed lately), for a restart to look over."""
        return await self._store.orders()

    async def carriable(self, order_id: int) -> Order | None:
        """The order while a robot may carry it; None once it is out of the robots' hands."""
        order = await self._store.order(order_id)
        return order if order is not None and order.status in CARRIABLE_ORDER_STATUSES else None

    async def move(self, order_id: int, **change: Any) -> Order | None:
        """Move or change an order as the dispatcher; None when someone moved it first (a
        person's write between our read and this one): their move stands."""
        try:
            return await self._restaurant.change_order(order_id, by_dispatch=True, **change)
        except Conflict:
            log.info("order %s moved by someone else meanwhile: left as it is", order_id)
            return None

    async def claim(self, task: Task) -> None:
        """The task's orders name it: they are on it now."""
        for order_id in orders_on(task):
            await self.move(order_id, task_id=task.id, set_task=True)

    async def set_off(self, task: Task) -> None:
        """A deliver task went underway: its ready orders are delivering, on its robot."""
        for order_id in orders_on(task):
            order = await self._store.order(order_id)
            if order is not None and order.status is S.READY:
                await self.move(order_id, status=S.DELIVERING, robot_id=task.robot_id,
                                set_robot=True)

    async def serve(self, order_id: int, robot_id: str | None) -> None:
        """Served by the robot; its time from ready to served is measured."""
        served = await self.move(order_id, status=S.SERVED, robot_id=robot_id, set_robot=True)
        if served is not None and served.ready_at is not None and served.served_at is not None:
            self._stats.observe_delivery(served.ready_at, served.served_at)

    async def serve_rest(self, task: Task) -> None:
        """Every order of the task a robot still carries is served: the robot handed it over."""
        for order_id in orders_on(task):
            if await self.carriable(order_id) is not None:
                await self.serve(order_id, task.robot_id)

    async def settled(self, stops: Iterable[TaskStop], order_id: int | None = None
                      ) -> list[TaskStop]:
        """The stops with each one whose orders are all served now done (only those holding
        `order_id`, when given)."""
        changed = [stop.model_copy() for stop in stops]
        for stop in changed:
            if not stop.order_ids or stop.status is StopStatus.DONE:
                continue
            if (order_id is None or order_id in stop.order_ids) and await self._all_served(
                    stop.order_ids):
                stop.status = StopStatus.DONE
        return changed

    async def _all_served(self, ids: Iterable[int]) -> bool:
        for order_id in ids:
            order = await self._store.order(order_id)
            if order is None or order.status is not S.SERVED:
                return False
        return True

    async def _hand_back(self, order_id: int, *, redeliver: bool) -> Order | None:
        """The order ready again, off its robot. Handed back to staff, it keeps the id of the
        task that let it go, so that no restart puts it on a robot again; to be redelivered,
        it leaves it."""
        return await self.move(order_id, status=S.READY, robot_id=None, set_robot=True,
                               task_id=None, set_task=redeliver)

    async def release(self, task: Task, *, redeliver: bool) -> None:
        """The task's undelivered orders go back to ready, off the task (and off the robot);
        to be redelivered, each rides again at once."""
        released = []
        for order_id in orders_on(task):
            if await self.carriable(order_id) is None:
                continue
            moved = await self._hand_back(order_id, redeliver=redeliver)
            if moved is not None:
                released.append(moved)
        if redeliver:
            for order in released:
                await self.ride(order)

"""The unfinished tasks, in memory as committed: every change is saved through the store, then
published on the tasks topic; a finished task leaves memory and is counted for /metrics."""

from __future__ import annotations

from collections.abc import Iterator

from ..core.errors import Conflict, NotFound
from ..core.models import Task, TaskChanges, TaskKind, TaskSource, TaskStatus, TaskStop
from ..core.stats import Stats
from ..core.tasks import ACTIVE, FINISHED, orders_on
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store
from .assign import OpenDelivery


class TaskBook:
    """Every unfinished task by id, and the questions the dispatcher asks of them."""

    def __init__(self, store: Store, hub: Hub, stats: Stats) -> None:
        self._store = store
        self._hub = hub
        self._stats = stats
        self._tasks: dict[int, Task] = {}

    async def load(self) -> None:
        """The unfinished tasks of the database: a restart forgets none of them."""
        self._tasks = {task.id: task for task in await self._store.unfinished_tasks()}

    # ---- writing ----

    async def create(self, kind: TaskKind, stops: list[TaskStop], *, priority: int = 0,
                     robot_id: str | None = None, source: TaskSource,
                     detail: str = "") -> Task:
        task = await self._store.add_task(kind, stops, priority=priority, robot_id=robot_id,
                                          source=source, detail=detail)
        self._tasks[task.id] = task
        self._publish(task)
        return task

    async def save(self, task: Task, changes: TaskChanges) -> Task:
        """Commit the change, then publish it; a finished task leaves memory and is counted."""
        updated = await self._store.update_task(task.id, changes)
        if updated is None:
            raise NotFound(f"task {task.id} not found")
        if updated.status in FINISHED:
            self._tasks.pop(updated.id, None)
            if task.status not in FINISHED:
                self._stats.tasks_finished[(updated.kind.value, updated.status.value)] += 1
        else:
            self._tasks[updated.id] = updated
        self._publish(updated)
        return updated

    def _publish(self, task: Task) -> None:
        self._hub.publish(Topic.TASKS, "upsert", [task.model_dump(mode="json")])

    # ---- reading ----

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __getitem__(self, task_id: int) -> Task:
        return self._tasks[task_id]

    def get(self, task_id: int) -> Task | None:
        return self._tasks.get(task_id)

    def any_active(self) -> bool:
        return any(task.status in ACTIVE for task in self._tasks.values())

    def queued(self) -> list[Task]:
        return [task for task in self._tasks.values() if task.status is TaskStatus.QUEUED]

    def busy(self) -> set[str]:
        """The robots on an unfinished task."""
        return {t.robot_id for t in self._tasks.values() if t.status in ACTIVE and t.robot_id}

    def holder(self, order_id: int) -> Task | None:
        """The unfinished task that carries this order, if any."""
        return next((t for t in self._tasks.values() if order_id in orders_on(t)), None)

    def of_robot(self, robot_id: str) -> Task | None:
        """The task this robot is on (assigned or underway), if any."""
        return next((t for t in self._tasks.values()
                     if t.robot_id == robot_id and t.status in ACTIVE), None)

    def of_command(self, robot_id: str, command_id: int | str) -> Task | None:
        """The task this robot's command carries; None for a manual command or a task over."""
        return next((t for t in self._tasks.values()
                     if t.command_id == command_id and t.robot_id == robot_id), None)

    def of_event(self, robot_id: str, task_id: int | None, order_id: int | None) -> Task | None:
        """The robot's task a robot event is about: the one it names, else the one carrying
        its order, else the robot's own; None when that task is not this robot's."""
        if task_id is not None:
            task = self._tasks.get(task_id)
        elif order_id is not None:
            task = self.holder(order_id)
        else:
            task = self.of_robot(robot_id)
        return task if task is not None and task.robot_id == robot_id else None

    def open_deliveries(self) -> list[OpenDelivery]:
        """The queued, unpinned deliver tasks a ready order may still join."""
        return [OpenDelivery(task.id, [stop.table_id for stop in task.stops])
                for task in self._tasks.values()
                if task.kind is TaskKind.DELIVER and task.status is TaskStatus.QUEUED
                and not task.pinned]

    def waits_for(self, robot_id: str) -> bool:
        """Whether a queued task may go to this robot (it has not refused it, nor is it
        pinned to another)."""
        return any(t.status is TaskStatus.QUEUED and robot_id not in t.rejected_by
                   and (not t.pinned or t.robot_id == robot_id) for t in self._tasks.values())

    async def unfinished(self, task_id: int) -> Task:
        """The task, which must still be unfinished: 404 when unknown, 409 when over."""
        task = self._tasks.get(task_id)
        if task is None:
            finished = await self.require(task_id)
            raise Conflict(f"task {task_id} is {finished.status}: it can no longer change")
        return task

    async def stored(self, task_id: int) -> Task | None:
        """The task as stored, finished or not."""
        return await self._store.task(task_id)

    async def require(self, task_id: int) -> Task:
        """The task as stored, finished or not; 404 when there is none."""
        task = await self.stored(task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found")
        return task

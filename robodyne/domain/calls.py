"""Guests' calls (SPEC §11.5, docs/guests.md): one open call per kind and table, raised as a
`guest_call` event; a robot call is a summon task and ends with it; staff answer the others;
a closed visit's calls are cancelled."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Final

from ..core.calls import ENDED_BY_TASK, Call, CallChanges, CallKind, CallStatus
from ..core.errors import ConstraintFailed, Conflict, NotFound, VisitClosed
from ..core.models import Task, TaskKind, TaskSource, Visit, VisitStatus, utcnow
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store
from .dispatch import Dispatcher
from .journal import Journal
from .visits import Visits

log = logging.getLogger(__name__)

# A guest's robot call waits behind the food (deliveries are 0): one table calling again and
# again keeps no dish from the others.
GUEST_SUMMON_PRIORITY: Final = -1


class Calls:
    """Calls made, answered and ended: committed, then published on the calls topic."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, dispatcher: Dispatcher,
                 visits: Visits) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._dispatcher = dispatcher
        self._visits = visits
        # "Is there an open call of this kind?" then a write, with awaits between: two phones
        # calling at once would both make one (the unique index would refuse the second as
        # an error rather than answer it with the first).
        self._lock = asyncio.Lock()

    def load(self) -> None:
        """Hear of finished tasks and closed visits (until close)."""
        self._dispatcher.on_finish.append(self.task_finished)
        self._visits.on_close.append(self.visit_closed)

    def close(self) -> None:
        self._dispatcher.on_finish.remove(self.task_finished)
        self._visits.on_close.remove(self.visit_closed)

    def _publish(self, call: Call) -> None:
        self._hub.publish(Topic.CALLS, "upsert", [call.model_dump(mode="json")])

    async def call(self, table_id: int, visit_id: int | None, kind: CallKind
                   ) -> tuple[Call, bool]:
        """The table's open call of this kind, made now if it has none (True then). A robot
        call queues a summon task for the table first: no call without its task. A visit
        that closed since the caller looked refuses it (403 visit_closed): visit_closed,
        which cancels its calls, waits for this lock, so no call of it outlives it."""
        async with self._lock:
            if visit_id is not None:
                visit = await self._store.visit(visit_id)
                if visit is None or visit.status is not VisitStatus.OPEN:
                    raise VisitClosed("this visit has ended: thank you")
            for held in await self._store.open_calls(table_id):
                if held.kind is kind:
                    return held, False
            task = None
            if kind is CallKind.ROBOT:
                task = await self._dispatcher.create(TaskKind.SUMMON, table_id=table_id,
                                                     source=TaskSource.GUEST,
                                                     priority=GUEST_SUMMON_PRIORITY)
            try:
                call = await self._store.add_call(table_id, visit_id, kind)
            except ConstraintFailed:  # another program made one meanwhile
                if task is not None:
                    await self._dispatcher.cancel(task.id, "the table already called")
                raise Conflict(f"table {table_id} has an open {kind} call") from None
            if task is not None:
                call = await self._change(call.id, {"task_id": task.id})
            self._publish(call)
        table = await self._store.table(table_id)
        await self._journal.event(
            "guest_call", message=f"table {table.label if table else table_id} calls: {kind}",
            data={"table_id": table_id, "kind": kind, "call_id": call.id})
        return call, True

    async def answer(self, call_id: int) -> Call:
        """Staff answered it; 409 once it is no longer open."""
        async with self._lock:
            call = await self._store.call(call_id)
            if call is None:
                raise NotFound(f"call {call_id} not found")
            if call.status is not CallStatus.OPEN:
                raise Conflict(f"call {call_id} is {call.status}")
            call = await self._change(call_id, {"status": CallStatus.ANSWERED,
                                                "answered_at": utcnow()})
            self._publish(call)
        if call.task_id is not None:
            # Answered by hand: the robot need not come any more.
            with suppress(Conflict):  # finished already
                await self._dispatcher.cancel(call.task_id, "the call was answered by staff")
        return call

    async def task_finished(self, task: Task) -> None:
        """A robot call ends with its summon task. Told from inside the dispatcher's
        decisions, so it takes no lock of ours (call() holds ours while it asks the
        dispatcher for the task): one row, changed only while it is open."""
        if task.kind is not TaskKind.SUMMON or task.status not in ENDED_BY_TASK:
            return
        call = await self._store.call_of_task(task.id)
        if call is not None:
            status = ENDED_BY_TASK[task.status]
            self._publish(await self._change(call.id, {
                "status": status,
                "answered_at": utcnow() if status is CallStatus.ANSWERED else None}))

    async def visit_closed(self, visit: Visit, bus: bool) -> None:
        """The party has gone: the table's open calls (theirs, or made before their first
        order) are cancelled, and a robot called for them is called off."""
        tasks = []
        async with self._lock:
            for call in await self._store.open_calls(visit.table_id):
                if call.visit_id in (visit.id, None):
                    self._publish(await self._change(call.id, {"status": CallStatus.CANCELLED}))
                    if call.task_id is not None:
                        tasks.append(call.task_id)
        for task_id in tasks:
            with suppress(Conflict):  # finished already
                await self._dispatcher.cancel(task_id, "the party has left")

    async def _change(self, call_id: int, changes: CallChanges) -> Call:
        call = await self._store.update_call(call_id, changes)
        assert call is not None  # calls are never deleted
        return call

"""Events and system logs: committed to the store, then appended to their topics."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Final

from ..core.errors import StorageUnavailable
from ..core.models import Event, LogLevel, Severity, SystemLog, utcnow
from ..core.repeats import Repeats, Tracked
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store

log = logging.getLogger(__name__)

SERVER: Final = "server"
# While the database refuses writes, storing storage_recovered is tried this often, so that
# its recovery is noticed even when nobody else writes.
PROBE_EVERY_S: Final = 1.0


def _must_store(source: str, durable: bool | None) -> bool:
    """Whether a record the store refused must be refused, rather than published from memory."""
    return source != SERVER if durable is None else durable


class Journal:
    """The one way anything raises an event or records a system log.

    When the database refuses a record, one the server raises itself is still published, from
    memory, with a negative id (SQLite only assigns positive ones, so the two never collide);
    it is gone after a restart. A record a robot sent is refused instead (StorageUnavailable):
    its ack promises that it was stored. `durable` overrides that choice per call.
    """

    def __init__(self, store: Store, hub: Hub,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._hub = hub
        self._memory_ids = itertools.count(-1, -1)
        self._clock = clock
        self._repeats = Repeats()
        self._repeated = asyncio.Event()
        # Run once storage_recovered is stored: what a refused write may have left half done
        # is put right then (the dispatcher's look-over).
        self.on_recovered: list[Callable[[], Awaitable[None]]] = []

    async def event(self, type_: str, *, severity: Severity = Severity.INFO, source: str = SERVER,
                    message: str = "", data: dict[str, Any] | None = None,
                    durable: bool | None = None) -> Event:
        try:
            event = await self._store.add_event(type_, severity=severity, source=source,
                                                message=message, data=data)
        except StorageUnavailable:
            if _must_store(source, durable):
                raise
            event = Event(
                id=next(self._memory_ids), type=type_, severity=severity,
                source=source, message=message, data=data or {}, created_at=utcnow())
        self._hub.publish(Topic.EVENTS, "append", [event.model_dump(mode="json")])
        return event

    async def log(self, level: LogLevel, source: str, message: str, *,
                  durable: bool | None = None) -> SystemLog:
        """Store and append a system log; a repeat within a minute is counted on its record
        instead (`count_repeats` writes and publishes the count)."""
        counted = self._repeats.repeat((source, level, message), self._clock())
        if counted is not None:
            self._repeated.set()
            return counted.model_copy()
        try:
            record = await self._store.add_systemlog(level, source, message)
        except StorageUnavailable:
            if _must_store(source, durable):
                raise
            record = SystemLog(
                id=next(self._memory_ids), ts=utcnow(), level=level,
                source=source, message=message)
        self._hub.publish(Topic.SYSTEMLOGS, "append", [record.model_dump(mode="json")])
        self._repeats.stored(record.model_copy(), self._clock())
        return record

    async def count_repeats(self) -> None:
        """Write each repeated record's count and publish it as an upsert, at most once a
        second per record; the counts still pending are written when the task is cancelled."""
        try:
            while True:
                due_at = self._repeats.next_due()
                if due_at is None:
                    self._repeated.clear()
                    await self._repeated.wait()
                    continue
                await asyncio.sleep(max(0.0, due_at - self._clock()))
                await self._flush(self._repeats.due(self._clock()))
        except asyncio.CancelledError:
            await self._flush(self._repeats.pending())  # before the store closes
            raise

    async def _flush(self, due: list[Tracked]) -> None:
        if not due:
            return
        records = [held.record.model_copy() for held in due]
        try:
            # Records published from memory (negative ids) have no row to count on.
            await self._store.count_repeats(
                (record.id, record.repeats) for record in records if record.id > 0)
        except StorageUnavailable:
            self._repeats.postpone(due, self._clock())  # the storage watch reports the failure
            return
        self._repeats.flushed(due, self._clock(), [record.repeats for record in records])
        self._hub.publish(Topic.SYSTEMLOGS, "upsert",
                          [record.model_dump(mode="json") for record in records])

    async def watch_storage(self) -> None:
        """Raise storage_failed when the store starts refusing writes, storage_recovered after."""
        changed = asyncio.Event()

        def flipped(healthy: bool) -> None:
            changed.set()
        self._store.on_health.append(flipped)
        loop = asyncio.get_running_loop()
        reported, failure, failed_at, down_since = True, "", "", 0.0
        try:
            while True:
                changed.clear()
                healthy = self._store.healthy
                if reported and healthy:
                    await changed.wait()
                    continue
                if reported:
                    reported = False
                    failure, failed_at = self._store.failure or "", utcnow()
                    down_since = loop.time()
                    await self._storage_failed(failure)
                    continue
                # Storing storage_recovered is itself the probe: a nearly full disk takes a
                # one-page write and refuses the next, and the events must not flap with it.
                if not healthy:
                    with suppress(TimeoutError):  # a write got through, or it is time to try
                        async with asyncio.timeout(PROBE_EVERY_S):  # not wait_for: see status
                            await changed.wait()
                try:
                    await self._storage_recovered(failure, failed_at, loop.time() - down_since)
                except StorageUnavailable:
                    if self._store.healthy:  # an error that left health as it was: no spinning
                        await asyncio.sleep(PROBE_EVERY_S)
                    continue
                reported = True
                await self._recovered()
        finally:
            self._store.on_health.remove(flipped)

    async def _recovered(self) -> None:
        for recovered in list(self.on_recovered):
            try:
                await recovered()
            except StorageUnavailable:
                pass  # refused again: the watch reports it, and runs this at the next recovery
            except Exception:  # the watch goes on: the next fault must still be reported
                log.exception("putting things right after the database recovered failed")

    async def _storage_failed(self, failure: str) -> None:
        # Logged here, in this task, not where the write failed: the systemlog bridge drops
        # records logged inside its own writes, and this one must reach systemlogs.
        log.critical("database write failed: %s; writes answer 503 and the topics carry on from"
                     " memory until it recovers", failure)
        await self.event("storage_failed", severity=Severity.CRITICAL,
                         message=f"the database refuses writes: {failure}",
                         data={"error": failure})

    async def _storage_recovered(self, failure: str, failed_at: str, down_s: float) -> None:
        await self.event("storage_recovered", durable=True,
                         message=f"the database takes writes again after {down_s:.1f} s",
                         data={"error": failure, "failed_at": failed_at,
                               "down_s": round(down_s, 1)})
        log.info("database writes succeed again after %.1f s", down_s)

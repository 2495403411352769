"""Events and system logs: committed to the store, then appended to their topics."""

from __future__ import annotations

from typing import Any

from .hub import Hub
from .models import Event, SystemLog
from .storage import Store


class Journal:
    """The one way anything raises an event or records a system log."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self._store = store
        self._hub = hub

    async def event(self, type_: str, *, severity: str = "info", source: str = "server",
                    message: str = "", data: dict[str, Any] | None = None) -> Event:
        event = await self._store.add_event(type_, severity=severity, source=source,
                                            message=message, data=data)
        self._hub.publish("events", "append", [event.model_dump(mode="json")])
        return event

    async def log(self, level: str, source: str, message: str) -> SystemLog:
        record = await self._store.add_systemlog(level, source, message)
        self._hub.publish("systemlogs", "append", [record.model_dump(mode="json")])
        return record

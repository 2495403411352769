"""The lines one robot sends the server: written at once while connected; a task's events and
results kept while the server is away and sent after the next hello (SPEC §14)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final

import orjson

Message = dict[str, Any]

# A task sends a handful of lines; more than this while away is a stuck server, not a trip.
MAX_KEPT: Final = 256


class Outbox:
    """Where the bridge's lines go: the current connection, or the queue for the next one."""

    def __init__(self) -> None:
        self._writer: asyncio.StreamWriter | None = None
        self._kept: deque[tuple[int | None, Message]] = deque(maxlen=MAX_KEPT)
        self.sent_at = 0.0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    def kept_task(self) -> int | None:
        """The task of the oldest line still kept, if any: the hello must still carry it."""
        return next((task_id for task_id, _ in self._kept if task_id is not None), None)

    def attach(self, writer: asyncio.StreamWriter) -> None:
        """A connection was welcomed: send what was kept, then write as lines come."""
        self._writer = writer
        while self._kept:
            self._write(self._kept.popleft()[1])

    def detach(self) -> None:
        self._writer = None

    def send(self, message: Message) -> None:
        """A line that only matters now (state, heartbeat): dropped while away."""
        if self._writer is not None:
            self._write(message)

    def send_task(self, message: Message, task_id: int | None) -> None:
        """A line about a task (its events, its command's results): kept while away."""
        if self._writer is not None:
            self._write(message)
        else:
            self._kept.append((task_id, message))

    def _write(self, message: Message) -> None:
        assert self._writer is not None
        self._writer.write(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))
        self.sent_at = asyncio.get_running_loop().time()

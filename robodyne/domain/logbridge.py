"""The server's own WARNING-and-above log records, published on systemlogs (source server)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from typing import Final

from ..core.errors import StorageUnavailable
from ..core.models import LogLevel
from .journal import Journal

# Records waiting while the database is slow; older ones are dropped first.
BACKLOG: Final = 1000

# Set while the bridge writes: a record logged by that write (say, the database failing)
# must not come back into the bridge, or one failure would feed itself forever.
_inside_bridge: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_bridge",
                                                                      default=False)


class SystemlogBridge(logging.Handler):
    """A logging handler that queues records; its task journals them on the event loop."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(logging.WARNING)
        self._journal = journal
        self._backlog: deque[tuple[LogLevel, str]] = deque(maxlen=BACKLOG)
        self._wake = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if _inside_bridge.get():
            return
        try:
            message = f"{record.name}: {record.getMessage()}"
        except (TypeError, ValueError):  # a malformed %-format; logging's own rule is never raise
            message = f"{record.name}: {record.msg!r}"
        self._backlog.append((LogLevel(record.levelname), message))
        self._wake.set()

    async def run(self) -> None:
        _inside_bridge.set(True)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._backlog:
                level, message = self._backlog.popleft()
                try:
                    await self._journal.log(level, "server", message)
                except StorageUnavailable:
                    # The database is what is failing; journald still has these records.
                    self._backlog.clear()
                    break

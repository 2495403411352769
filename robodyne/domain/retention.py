"""Events and system logs kept within their rows and their bytes of text (docs/operations.md,
"Retention"): pruned every minute, and at once when a table goes past its bytes by a tenth."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from ..core.errors import StorageUnavailable
from ..core.topics import LOG_TOPICS
from ..settings import RetentionSettings
from ..store.retention import RetentionRows


class LogRetention:
    """The retention settings applied to the store's events and systemlogs."""

    def __init__(self, rows: RetentionRows, settings: RetentionSettings) -> None:
        self._rows = rows
        self._settings = settings

    async def count(self) -> None:
        """The bytes each table holds, read once at the start: from then on a table past its
        budget wakes the pruner. Failing, the first prune counts them."""
        with suppress(StorageUnavailable):
            for topic in LOG_TOPICS:
                await self._rows.count(topic, self._settings.max_bytes(topic))

    async def prune(self) -> None:
        for topic in LOG_TOPICS:
            await self._rows.prune(topic, getattr(self._settings, topic),
                                   self._settings.max_bytes(topic))

    async def wake(self, seconds: float) -> None:
        """Return after `seconds`, or sooner once a table went past its bytes."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._rows.due.wait()
        self._rows.due.clear()

"""Scheduled backups: one every backup.interval_h into backup.dir, the newest backup.keep
kept; each outcome logged and counted, a failure raised as a backup_failed event."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Final

from ..core.errors import StorageUnavailable
from ..core.models import Severity
from ..core.stats import Stats
from ..settings import BackupSettings
from ..store.backup import BackupError, Written, backup_stamp, backups_in, new_name, prune
from ..store.store import Store
from .journal import Journal

log = logging.getLogger(__name__)

# With no recent backup in the directory, the first one is taken this long after the start
# (or after interval_h, if that is shorter): soon, but not while the restaurant is starting up.
FIRST_DELAY_S: Final = 60.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Backups:
    """Takes the scheduled backups of the store."""

    def __init__(self, store: Store, journal: Journal, stats: Stats, settings: BackupSettings,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._journal = journal
        self._stats = stats
        self._settings = settings
        self._now = now

    def first_delay(self) -> float:
        """Seconds until the first backup: when the newest one falls due, but not before
        FIRST_DELAY_S (or interval_h, if shorter) after the start."""
        interval = self._settings.interval_h * 3600
        floor = min(FIRST_DELAY_S, interval)
        newest = backups_in(self._settings.dir)
        stamp = backup_stamp(newest[-1]) if newest else None
        if stamp is None:
            return floor
        due_in = interval - (self._now() - stamp[0]).total_seconds()
        return max(floor, due_in)

    async def run(self) -> None:
        """Back up every interval_h for as long as the server runs; 0 turns it off."""
        if self._settings.interval_h <= 0:
            return
        await asyncio.sleep(self.first_delay())
        while True:
            await self.once()
            await asyncio.sleep(self._settings.interval_h * 3600)

    async def once(self) -> Written | None:
        """One backup into backup.dir and the pruning after it; None when it failed."""
        directory = self._settings.dir
        started = time.perf_counter()
        try:
            written = await self._store.backup(new_name(directory, self._now()))
            pruned = prune(directory, self._settings.keep)
        except (BackupError, OSError, StorageUnavailable) as err:
            await self._failed(str(err))
            return None
        seconds = time.perf_counter() - started
        stats = self._stats
        stats.backups += 1
        stats.backup_last_success = time.time()
        stats.backup_last_duration = seconds
        stats.backup_last_size = written.size
        log.info("backup written to %s (%d bytes in %.2f s); %d older backup(s) removed",
                 written.path, written.size, seconds, len(pruned))
        return written

    async def _failed(self, error: str) -> None:
        self._stats.backup_failures += 1
        # Logged at ERROR, so it also reaches systemlogs; the server goes on serving.
        log.error("backup into %s failed: %s", self._settings.dir, error)
        await self._journal.event("backup_failed", severity=Severity.ERROR,
                                  message=f"the backup into {self._settings.dir} failed: {error}",
                                  data={"dir": str(self._settings.dir), "error": error})

"""The SQLite file: one aiosqlite connection, WAL, migrations, the write lock and its
transactions, and the health they report."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiosqlite

from ..core.errors import StorageUnavailable
from .backup import hold_lock
from .errors import READ_FAILED, failing, translated
from .files import PlantedFile, create_private, tighten
from .report_queries import ReportReader
from .schema import MIGRATIONS, VERSION_TABLE

log = logging.getLogger(__name__)

# How long a write waits for another connection's lock before the database counts as failing.
BUSY_TIMEOUT_MS: Final = 5000
# Once it is failing, each write waits only this long: requests answer 503 at once instead of
# queueing behind one another for BUSY_TIMEOUT_MS each.
DEGRADED_BUSY_TIMEOUT_MS: Final = 100
WRITE_REFUSED: Final = "the database refused the write"


def _private_file(path: Path) -> None:
    """Make a new database file 0600 before SQLite does (it would follow the umask, 0644 by
    default), which its -wal and -shm then copy; take from an older one any right beyond 0640.
    """
    if not os.path.lexists(path):
        try:
            create_private(path)
        except PlantedFile:
            pass  # made meanwhile by another process: it is the database, not ours to refuse
    tighten(path)


class Database:
    """The connection every read and write of the store goes through."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        # The shared flock a restore checks for (store.backup.hold_lock), held while open.
        self._lock_fd: int | None = None
        # One connection means one transaction at a time: writers queue here so that one
        # coroutine's commit never carries another's half-done statements.
        self._write_lock = asyncio.Lock()
        self.healthy = True
        # Why the last write failed, while it is failing.
        self.failure: str | None = None
        # Seconds each committed transaction took, for /metrics; read and cleared by its collector.
        self.on_commit: list[Any] = []
        # Called with the new health each time it flips; the journal raises the events.
        self.on_health: list[Callable[[bool], None]] = []

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError("the store is not open")
        return self._connection

    async def open(self) -> None:
        """Connect, configure and migrate the database file, creating it if need be."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock_fd = hold_lock(self.path, exclusive=False)
        except BlockingIOError:
            raise OSError(f"{self.path} is being restored (robodyne restore holds its lock);"
                          " start again once it is done") from None
        _private_file(self.path)
        self._connection = await aiosqlite.connect(self.path)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL is durable across a process crash (kill -9); only an
        # OS crash or power loss can lose the last transactions.
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await self._migrate()

    async def close(self) -> None:
        async with self._write_lock:
            await self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def _migrate(self) -> None:
        await self._db.execute(VERSION_TABLE)
        async with self._db.execute("SELECT max(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        current = (row[0] if row else None) or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            await self._db.executescript(
                f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); COMMIT;"
            )
            log.info("database migrated to schema version %d", version)

    @asynccontextmanager
    async def report_reader(self) -> AsyncIterator[ReportReader]:
        """The report's and the export's queries on a read-only connection of their own: they
        see one snapshot of the file, and the writers never queue behind them (WAL lets both
        run). The snapshot holds the WAL back from resetting until it closes."""
        with translated(READ_FAILED):
            db = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            with translated(READ_FAILED):
                db.row_factory = aiosqlite.Row
                await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                await db.execute("BEGIN")
            yield ReportReader(db)
        finally:
            await db.close()

    async def rows(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Every row a query returns, read on the writers' connection."""
        with translated(READ_FAILED):
            async with self._db.execute(sql, tuple(params)) as cur:
                return list(await cur.fetchall())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One committed-or-rolled-back unit of writes.

        A database that refuses writes (locked, read-only, disk full) raises StorageUnavailable
        and marks the store unhealthy until a later transaction commits; a duplicate of a unique
        key raises ConstraintFailed; a bug of ours (a wrong statement) raises as it is.
        """
        async with self._write_lock:
            started = time.perf_counter()
            try:
                yield self._db
                await self._db.commit()
            except sqlite3.Error as err:
                await self._rollback()
                if failing(err):
                    await self._set_health(False, err)
                    raise StorageUnavailable(
                        f"storage unavailable: {WRITE_REFUSED} ({err}); nothing was saved, try"
                        " again shortly") from err
                with translated(WRITE_REFUSED):
                    raise
            except BaseException:
                await self._rollback()
                raise
            await self._set_health(True)
            for observe in self.on_commit:
                observe(time.perf_counter() - started)

    async def _rollback(self) -> None:
        try:
            await self._db.rollback()
        except sqlite3.Error:
            pass  # nothing to undo when the failed statement never began a transaction

    async def _set_health(self, healthy: bool, err: Exception | None = None) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        self.failure = None if healthy else str(err)
        timeout = BUSY_TIMEOUT_MS if healthy else DEGRADED_BUSY_TIMEOUT_MS
        await self._db.execute(f"PRAGMA busy_timeout={timeout}")
        # Logged by the journal's storage watch, in its own task: a failure first met by the
        # systemlog bridge's own write would otherwise log where the bridge ignores records.
        for callback in self.on_health:
            callback(healthy)

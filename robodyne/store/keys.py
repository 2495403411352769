"""Idempotency keys (docs/api.md, "Idempotency"): what each key's first request got, and the
item it wrote, noted in the same transaction as the item."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

import aiosqlite

from ..core.models import utcnow
from ..core.topics import Topic
from .database import Database


@dataclass(frozen=True)
class KeyRecord:
    """An idempotency key's record: the request it first came with, and the answer it got."""

    method: str
    path: str
    body_sha256: str
    # None until the request had its answer: still running, or cut short by a crash.
    status: int | None
    content_type: str | None
    body: bytes | None
    # The item the request had created and committed by then (topic and id), if any.
    created_topic: str | None
    created_id: int | None


@dataclass(frozen=True)
class _Keyed:
    scope: str
    key: str
    writes: str | None
    creates: bool


# Keys kept per scope (a token, or a guest table): the oldest go first (SPEC §5).
KEPT_PER_SCOPE: Final = 1000


class Keys:
    """The keys' records in the database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # The key the running request writes under: a context variable, so each request's
        # task has its own, and another request's writes in between are never noted on it.
        self._writing: ContextVar[_Keyed | None] = ContextVar("idempotency_key", default=None)

    async def record(self, scope: str, key: str, since: str) -> KeyRecord | None:
        """The key's record if it was made at or after `since` (an older one counts as gone)."""
        rows = await self._database.rows(
            "SELECT method, path, body_sha256, status, content_type, body, created_topic,"
            " created_id FROM idempotency_keys WHERE scope = ? AND key = ? AND"
            " created_at >= ?", (scope, key, since))
        return KeyRecord(*rows[0]) if rows else None

    async def begin(self, scope: str, key: str, method: str, path: str,
                    body_sha256: str) -> None:
        """A key's record before its request runs (replacing an expired one)."""
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO idempotency_keys (scope, key, method, path, body_sha256,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (scope, key, method, path, body_sha256, utcnow()))

    @contextmanager
    def keyed(self, scope: str, key: str, writes: str | None, *, creates: bool = True
              ) -> Iterator[None]:
        """While open, the calling task's first write that creates (or, with creates=False,
        changes) an item of topic `writes` also notes it on the key's record, in the same
        transaction: a crash can then never leave the item committed and the key not knowing
        it."""
        token = self._writing.set(_Keyed(scope, key, writes, creates))
        try:
            yield
        finally:
            self._writing.reset(token)

    async def note_written(self, db: aiosqlite.Connection, topic: Topic, row_id: int,
                           *, created: bool = True) -> None:
        """Within a write's transaction: the item written, on the key it is written under."""
        keyed = self._writing.get()
        if keyed is None or keyed.writes != topic or keyed.creates != created:
            return
        await db.execute(
            "UPDATE idempotency_keys SET created_topic = ?, created_id = ?"
            " WHERE scope = ? AND key = ? AND created_id IS NULL",
            (topic.value, row_id, keyed.scope, keyed.key))

    async def finish(self, scope: str, key: str, status: int, content_type: str | None,
                     body: bytes) -> None:
        """The answer the key's request got, to be given again to its retries; the scope's
        oldest keys beyond KEPT_PER_SCOPE forgotten."""
        async with self._database.transaction() as db:
            await db.execute(
                "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?"
                " WHERE scope = ? AND key = ?", (status, content_type, body, scope, key))
            # By rowid among keys of the same millisecond: never more than the bound.
            await db.execute(
                "DELETE FROM idempotency_keys WHERE scope = ? AND rowid NOT IN ("
                " SELECT rowid FROM idempotency_keys WHERE scope = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?)",
                (scope, scope, KEPT_PER_SCOPE))

    async def forget(self, scope: str, key: str) -> None:
        """A key whose request was refused: its retry runs again."""
        async with self._database.transaction() as db:
            await db.execute("DELETE FROM idempotency_keys WHERE scope = ? AND key = ?",
                             (scope, key))

    async def prune(self, before: str) -> int:
        """Forget the keys made before `before` (an ISO UTC time)."""
        async with self._database.transaction() as db:
            cur = await db.execute("DELETE FROM idempotency_keys WHERE created_at < ?",
                                   (before,))
        return cur.rowcount

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
class Asked:
    """What makes a retry the same request: method, path and the body's SHA-256."""

    method: str
    path: str
    body_sha256: str

    def matches(self, record: KeyRecord) -> bool:
        return (record.method, record.path, record.body_sha256) == (
            self.method, self.path, self.body_sha256)


@dataclass
class Keyed:
    """The key the running request writes under, and whether its record was written yet."""

    scope: str
    key: str
    asked: Asked
    writes: str | None
    creates: bool
    noted: bool = False


# Keys kept per scope (a token, or a guest table): the oldest go first (SPEC §5).
KEPT_PER_SCOPE: Final = 1000


class Keys:
    """The keys' records in the database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # The key the running request writes under: a context variable, so each request's
        # task has its own, and another request's writes in between are never noted on it.
        self._writing: ContextVar[Keyed | None] = ContextVar("idempotency_key", default=None)

    async def record(self, scope: str, key: str, since: str) -> KeyRecord | None:
        """The key's record if it was made at or after `since` (an older one counts as gone)."""
        rows = await self._database.rows(
            "SELECT method, path, body_sha256, status, content_type, body, created_topic,"
            " created_id FROM idempotency_keys WHERE scope = ? AND key = ? AND"
            " created_at >= ?", (scope, key, since))
        return KeyRecord(*rows[0]) if rows else None

    @contextmanager
    def keyed(self, scope: str, key: str, asked: Asked, writes: str | None, *,
              creates: bool = True) -> Iterator[Keyed]:
        """While open, the calling task's first write that creates (or, with creates=False,
        changes) an item of topic `writes` also writes the key's record, naming the item, in
        the same transaction: a crash can then never leave the item committed and the key not
        knowing it. Until then the key has no record: a request refused before it wrote
        anything leaves none (SPEC §5)."""
        keyed = Keyed(scope, key, asked, writes, creates)
        token = self._writing.set(keyed)
        try:
            yield keyed
        finally:
            self._writing.reset(token)

    async def note_written(self, db: aiosqlite.Connection, item: str, row_id: int,
                           *, created: bool = True) -> None:
        """Within a write's transaction: the key's record, naming the item written (its kind:
        a topic, or PAYMENTS)."""
        keyed = self._writing.get()
        if keyed is None or keyed.noted or keyed.writes != item or keyed.creates != created:
            return
        asked = keyed.asked
        # Replacing an expired record of the key, or one a crash cut short before it wrote.
        await db.execute(
            "INSERT OR REPLACE INTO idempotency_keys (scope, key, method, path, body_sha256,"
            " created_topic, created_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (keyed.scope, keyed.key, asked.method, asked.path, asked.body_sha256, str(item),
             row_id, utcnow()))
        keyed.noted = True

    async def finish(self, scope: str, key: str, asked: Asked, status: int,
                     content_type: str | None, body: bytes) -> None:
        """The answer the key's request got, to be given again to its retries; the scope's
        oldest keys beyond KEPT_PER_SCOPE forgotten."""
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO idempotency_keys (scope, key, method, path, body_sha256, status,"
                " content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET method = excluded.method,"
                " path = excluded.path, body_sha256 = excluded.body_sha256,"
                " status = excluded.status, content_type = excluded.content_type,"
                " body = excluded.body, created_at = excluded.created_at",
                (scope, key, asked.method, asked.path, asked.body_sha256, status, content_type,
                 body, utcnow()))
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

"""Idempotency-Key on every POST of the API (docs/api.md, "Idempotency"): a retried POST gets
the first answer again and changes nothing, even after a kill -9 between commit and answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Final, NamedTuple

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..core.errors import StorageUnavailable
from ..core.models import iso
from ..core.topics import STATE_TOPICS, Topic
from ..store.store import KeyRecord, Store
from .api import error_response
from .auth import Auth, request_token

log = logging.getLogger(__name__)

HEADER: Final = "Idempotency-Key"
REPLAYED: Final = "Idempotent-Replayed"
KEEP: Final = timedelta(hours=24)
KEY_PATTERN: Final = re.compile(r"[\x20-\x7e]{1,255}")
# Answers not kept: a refused token or role may be put right (the same key then works), and a
# 5xx means the request did not run to its end. Everything else is the key's answer for good.
NOT_KEPT: Final = frozenset({401, 403})
# POST /api/<topic> creates one item of that topic: after a crash, the item is the answer.
CREATING: Final = {f"/api/{topic.value}": topic for topic in STATE_TOPICS}
# A cancel changes its task, and cancelling again is refused (the task is finished): after a
# crash, the cancelled task is the answer. An ack may simply run again (it keeps its first
# stamp and answers the same); a command or a pairing code is not stored, so is not replayed.
CHANGING: Final = ((re.compile(r"/api/tasks/[0-9]+/cancel"), Topic.TASKS),)


class Writes(NamedTuple):
    """The item a POST creates or changes: its topic, and the status its answer has."""

    topic: Topic
    creates: bool

    @property
    def status(self) -> int:
        return 201 if self.creates else 200


def _writes(path: str) -> Writes | None:
    if path in CREATING:
        return Writes(CREATING[path], creates=True)
    for pattern, topic in CHANGING:
        if pattern.fullmatch(path):
            return Writes(topic, creates=False)
    return None


@dataclass(frozen=True)
class Fingerprint:
    """What makes a retry the same request: method, path and the body's SHA-256."""

    method: str
    path: str
    body_sha256: str

    def matches(self, record: KeyRecord) -> bool:
        return (record.method, record.path, record.body_sha256) == (
            self.method, self.path, self.body_sha256)


@dataclass
class _Running:
    fingerprint: Fingerprint
    done: asyncio.Event = field(default_factory=asyncio.Event)


def _conflict(message: str) -> web.Response:
    return error_response(409, "conflict", message)


def _replay(record: KeyRecord) -> web.Response:
    response = web.Response(status=record.status or 200, body=record.body or None)
    if record.content_type:
        response.headers["Content-Type"] = record.content_type
    response.headers[REPLAYED] = "true"
    return response


class Idempotency:
    """The keys' records in the store, and the requests running under a key in this process."""

    def __init__(self, store: Store, auth: Auth) -> None:
        self._store = store
        self._auth = auth
        self._running: dict[tuple[str, str], _Running] = {}

    def cutoff(self) -> str:
        """Keys made before this (an ISO UTC time) are forgotten."""
        return iso(datetime.now(timezone.utc) - KEEP)

    async def prune(self) -> int:
        return await self._store.prune_idempotency_keys(self.cutoff())

    def middleware(self) -> Middleware:
        """Between the origin check and the API's error mapping: it sees every answer as the
        client will (errors already mapped) and keeps it."""
        @web.middleware
        async def idempotent(request: web.Request, handler: Handler) -> web.StreamResponse:
            key = request.headers.get(HEADER)
            if key is None or request.method != "POST" or not request.path.startswith("/api/"):
                return await handler(request)
            if not KEY_PATTERN.fullmatch(key):
                return error_response(400, "validation_error",
                                      f"{HEADER}: 1 to 255 printable ASCII characters")
            token = request_token(request)
            if token is None or self._auth.tokens.grant(token) is None:
                return await handler(request)  # refused (401) by the handler; nothing kept
            try:
                body = await request.read()  # kept by aiohttp for the handler's own read
            except web.HTTPRequestEntityTooLarge as err:
                return error_response(413, "too_large", err.reason)
            scope = hashlib.sha256(token.encode()).hexdigest()
            fingerprint = Fingerprint(request.method, request.path,
                                      hashlib.sha256(body).hexdigest())
            return await self._once(request, handler, scope, key, fingerprint)
        return idempotent

    async def _once(self, request: web.Request, handler: Handler, scope: str, key: str,
                    fingerprint: Fingerprint) -> web.StreamResponse:
        # A retry while the first is still running here waits for its answer.
        while (running := self._running.get((scope, key))) is not None:
            if running.fingerprint != fingerprint:
                return _conflict(f"{HEADER} {key!r} is in use by another request")
            await running.done.wait()
        running = self._running[(scope, key)] = _Running(fingerprint)
        try:
            return await self._run(request, handler, scope, key, fingerprint)
        finally:
            del self._running[(scope, key)]
            running.done.set()

    async def _run(self, request: web.Request, handler: Handler, scope: str, key: str,
                   fingerprint: Fingerprint) -> web.StreamResponse:
        record = await self._store.idempotency_record(scope, key, self.cutoff())
        if record is not None:
            if not fingerprint.matches(record):
                return _conflict(f"{HEADER} {key!r} was used for another request")
            if record.status is not None:
                return _replay(record)
            recovered = await self._recover(record, fingerprint.path)
            if recovered is not None:
                await self._keep(scope, key, recovered)
                recovered.headers[REPLAYED] = "true"
                return recovered
            # Cut short before it created anything: it runs again.
        else:
            await self._store.begin_idempotent(scope, key, fingerprint.method,
                                               fingerprint.path, fingerprint.body_sha256)
        writes = _writes(fingerprint.path)
        with self._store.keyed(scope, key, writes.topic if writes else None,
                               creates=writes is None or writes.creates):
            response = await handler(request)
        if (isinstance(response, web.Response) and response.status < 500
                and response.status not in NOT_KEPT):
            await self._keep(scope, key, response)
        return response

    async def _recover(self, record: KeyRecord, path: str) -> web.Response | None:
        """A request cut short (kill -9) after it had committed its item: the item as it is now
        is the answer (created_* name the item it created or changed)."""
        writes = _writes(path)
        if writes is None or record.created_topic is None or record.created_id is None:
            return None
        item = await self._store.one(Topic(record.created_topic), record.created_id)
        if item is None:  # deleted since: it is not made again
            did = "created" if writes.creates else "changed"
            return error_response(404, "not_found", f"{HEADER}: the {record.created_topic}"
                                  f" item {record.created_id} it {did} is gone")
        return web.Response(status=writes.status, body=orjson.dumps(item.model_dump(mode="json")),
                            content_type="application/json")

    async def _keep(self, scope: str, key: str, response: web.Response) -> None:
        body = response.body if isinstance(response.body, bytes) else b""
        try:
            await self._store.finish_idempotent(scope, key, response.status,
                                                response.headers.get("Content-Type"), body)
        except StorageUnavailable as err:
            # The write it guards is done; a retry finds what it created (see _recover).
            log.warning("the answer of an idempotent request was not kept: %s", err)

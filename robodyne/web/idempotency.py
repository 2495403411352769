"""Idempotency-Key on every POST of the API (docs/api.md, "Idempotency"): a retried POST gets
the first answer again and changes nothing, even after a kill -9 between commit and answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Final

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..core.codes import Code
from ..core.errors import StorageUnavailable
from ..core.models import iso
from ..store.keys import Asked, KeyRecord
from ..store.store import Store
from .auth import Auth, request_token
from .payload import read_payload
from .responses import error_response
from .routing import RouteTable, Writes

log = logging.getLogger(__name__)

HEADER: Final = "Idempotency-Key"
REPLAYED: Final = "Idempotent-Replayed"
KEEP: Final = timedelta(hours=24)
KEY_PATTERN: Final = re.compile(r"[\x20-\x7e]{1,255}")
# Only a success is the key's answer for good (SPEC §5): a refusal may be put right (a token,
# a table seated, a dish back, a rate passed) and the same key then works. A 5xx may have
# committed before it failed: its record stays, for the retry to find what it wrote.
KEPT: Final = range(200, 300)


@dataclass
class _Running:
    asked: Asked
    done: asyncio.Event = field(default_factory=asyncio.Event)


def _conflict(message: str) -> web.Response:
    return error_response(409, Code.CONFLICT, message)


def _replay(record: KeyRecord) -> web.Response:
    response = web.Response(status=record.status or 200, body=record.body or None)
    if record.content_type:
        response.headers["Content-Type"] = record.content_type
    response.headers[REPLAYED] = "true"
    # The first answer's own headers are not kept: a kept answer may hold a secret (a table's
    # new link code), so no replay may be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


class Idempotency:
    """The keys' records in the store, and the requests running under a key in this process."""

    def __init__(self, store: Store, auth: Auth) -> None:
        self._store = store
        self._keys = store.keys
        self._auth = auth
        self._running: dict[tuple[str, str], _Running] = {}

    def cutoff(self) -> str:
        """Keys made before this (an ISO UTC time) are forgotten."""
        return iso(datetime.now(timezone.utc) - KEEP)

    async def prune(self) -> int:
        return await self._keys.prune(self.cutoff())

    async def _scope(self, request: web.Request) -> str | None:
        """Whose keys these are: a token's, else a live guest session's table's (anyone may
        make sessions of a table they sit at, so the 1,000 keys a scope keeps are counted per
        table, whichever phone sent them); None for neither."""
        token = request_token(request)
        if token is not None and self._auth.tokens.grant(token) is not None:
            return hashlib.sha256(token.encode()).hexdigest()
        session = await self._auth.guest(request)
        if session is not None and session.ended is None:
            return f"guest-table:{session.table_id}"
        return None

    def middleware(self, routes: RouteTable) -> Middleware:
        """Between the origin check and the API's error mapping: it sees every answer as the
        client will (errors already mapped) and keeps it. What a POST writes is its route's
        `writes` in the table."""
        @web.middleware
        async def idempotent(request: web.Request, handler: Handler) -> web.StreamResponse:
            key = request.headers.get(HEADER)
            if key is None or request.method != "POST" or not request.path.startswith("/api/"):
                return await handler(request)
            if not routes.keyed(request):
                return await handler(request)  # no route of ours, or one whose answer is secret
            if not KEY_PATTERN.fullmatch(key):
                return error_response(400, Code.VALIDATION_ERROR,
                                      f"{HEADER}: 1 to 255 printable ASCII characters")
            scope = await self._scope(request)
            if scope is None:
                return await handler(request)  # refused (401) by the handler; nothing kept
            try:
                # Kept on the request for the handler's own read.
                body = await read_payload(request, routes.max_body(request))
            except web.HTTPRequestEntityTooLarge as err:
                return error_response(413, Code.TOO_LARGE, err.reason)
            asked = Asked(request.method, request.path, hashlib.sha256(body).hexdigest())
            return await self._once(request, handler, scope, key, asked,
                                    routes.writes(request))
        return idempotent

    async def _once(self, request: web.Request, handler: Handler, scope: str, key: str,
                    asked: Asked, writes: Writes | None) -> web.StreamResponse:
        # A retry while the first is still running here waits for its answer.
        while (running := self._running.get((scope, key))) is not None:
            if running.asked != asked:
                return _conflict(f"{HEADER} {key!r} is in use by another request")
            await running.done.wait()
        running = self._running[(scope, key)] = _Running(asked)
        try:
            return await self._run(request, handler, scope, key, asked, writes)
        finally:
            del self._running[(scope, key)]
            running.done.set()

    async def _run(self, request: web.Request, handler: Handler, scope: str, key: str,
                   asked: Asked, writes: Writes | None) -> web.StreamResponse:
        record = await self._keys.record(scope, key, self.cutoff())
        if record is not None:
            if not asked.matches(record):
                return _conflict(f"{HEADER} {key!r} was used for another request")
            if record.status is not None:
                return _replay(record)
            recovered = await self._recover(record, writes)
            if recovered is not None:
                await self._keep(scope, key, asked, recovered)
                recovered.headers[REPLAYED] = "true"
                return recovered
            # Cut short before it created anything: it runs again.
        with self._keys.keyed(scope, key, asked, writes.item if writes else None,
                              creates=writes is None or writes.creates) as keyed:
            response = await handler(request)
        if isinstance(response, web.Response) and response.status in KEPT:
            await self._keep(scope, key, asked, response)
        elif response.status < 500 and (keyed.noted or record is not None):
            await self._keys.forget(scope, key)  # a refusal after all: its retry runs again
        return response

    async def _recover(self, record: KeyRecord, writes: Writes | None) -> web.Response | None:
        """A request cut short (kill -9) after it had committed its item: the item as it is now
        is the answer (created_* name the item it created or changed)."""
        if writes is None or record.created_topic is None or record.created_id is None:
            return None
        item = await self._store.written(record.created_topic, record.created_id)
        if item is None:  # deleted since: it is not made again
            did = "created" if writes.creates else "changed"
            return error_response(404, Code.NOT_FOUND, f"{HEADER}: the {record.created_topic}"
                                  f" item {record.created_id} it {did} is gone")
        return web.Response(status=writes.status, body=orjson.dumps(item.model_dump(mode="json")),
                            content_type="application/json")

    async def _keep(self, scope: str, key: str, asked: Asked, response: web.Response) -> None:
        body = response.body if isinstance(response.body, bytes) else b""
        try:
            await self._keys.finish(scope, key, asked, response.status,
                                    response.headers.get("Content-Type"), body)
        except StorageUnavailable as err:
            # The write it guards is done; a retry finds what it created (see _recover).
            log.warning("the answer of an idempotent request was not kept: %s", err)

"""The /ws/{topic} endpoint: handshake checks, the reader loop and one writer task per client."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from typing import Any, Literal

import orjson
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from . import keys, messages, tcpinfo
from .auth import may_read, origin_allowed, request_token
from .const import (
    CLOSE_TIMEOUT_S,
    RATE_LIMIT_BURST,
    RATE_LIMIT_PER_S,
    RECONNECT_AFTER_MS,
    SLOW_CLOSE_TIMEOUT_S,
    TOPICS,
    Close,
)
from .hub import Subscriber
from .logprefix import PrefixedLog

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class ClientMessage(BaseModel):
    """The only frames a client may send (SPEC §3.5)."""

    type: Literal["ping", "pong"]
    topic: str | None = None
    data: Any = None


class Connection:
    """One subscribed WebSocket: its queue, writer task, liveness clock and rate budget."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, topic: str) -> None:
        self.ws = ws
        self.request = request
        self.topic = topic
        self.hub = request.app[keys.HUB]
        self.stats = request.app[keys.STATS]
        self.log = PrefixedLog(log, f"ws#{next(_ids)} {topic} {request.remote}")
        now = asyncio.get_running_loop().time()
        self.last_heard = now
        self.last_ping = now
        self.ping_sent_at: float | None = None
        self.ping_due = False
        self.close_reason = "client"
        self.close_code: int | None = None  # what the server sent, when it closed first
        self._budget = float(RATE_LIMIT_BURST)
        self._budget_at = now
        self._acked = -1
        self._stalled_since = now
        self._closer: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.subscriber: Subscriber

    def send(self, frame: bytes) -> None:
        self.subscriber.push((frame, asyncio.get_running_loop().time()))

    async def write_loop(self) -> None:
        """Drain the queue into the socket; the only place that awaits this client."""
        subscriber, ws, topic = self.subscriber, self.ws, self.topic
        loop = asyncio.get_running_loop()
        latency = self.stats.publish_to_socket
        try:
            while True:
                await subscriber.wake.wait()
                subscriber.wake.clear()
                frames = sent_bytes = 0
                while subscriber.queue:
                    frame, queued_at = subscriber.queue.popleft()
                    await ws.send_frame(frame, WSMsgType.TEXT)
                    now = loop.time()
                    subscriber.sent(now)
                    latency.observe(now - queued_at)
                    frames += 1
                    sent_bytes += len(frame)
                self.stats.ws_messages[topic] += frames
                self.stats.ws_bytes[topic] += sent_bytes
                if self.ping_due:
                    self.ping_due = False
                    await ws.ping()
        except (ConnectionError, RuntimeError) as err:
            # The socket went away under us; the reader loop sees the same and ends the handler.
            self.log.debug("writer stopped: %s", err)

    def start(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        self._writer = asyncio.create_task(self.write_loop(), name=f"ws-writer-{self.topic}")

    def close(self, code: Close, reason: str, final_frame: bytes | None = None) -> None:
        """Stop queueing for this client and close it with `code`, bounded in time."""
        if self._closer is not None:
            if code is Close.GOING_AWAY:
                self._abort()  # shutting down: a slow client's long goodbye is cut short
            return
        self.close_reason = reason
        self.close_code = code
        self.stats.closed(code)
        self.hub.unsubscribe(self.subscriber)
        self._closer = asyncio.create_task(self._close(code, reason, final_frame))

    async def _close(self, code: Close, reason: str, final_frame: bytes | None) -> None:
        if self._writer is not None:
            self._writer.cancel()
        try:
            async with asyncio.timeout(SLOW_CLOSE_TIMEOUT_S if code is Close.SLOW
                                       else CLOSE_TIMEOUT_S):
                if final_frame is not None:
                    await self.ws.send_frame(final_frame, WSMsgType.TEXT)
                await self.ws.close(code=code, message=reason.encode())
        except (TimeoutError, ConnectionError, RuntimeError):
            self._abort()  # a frozen peer never takes the close frame: nothing may linger

    def _abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def finish(self) -> None:
        """Stop the writer and wait for any close in progress; runs in the handler's finally."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._closer is not None:
            await self._closer

    def stalled_for(self, now: float) -> float:
        """Seconds during which bytes waited for this client and its socket took none.

        "Took" means the peer acknowledged them (TCP_INFO): the kernel would otherwise
        swallow megabytes for a frozen tablet before the writer ever blocked.
        """
        transport = self.request.transport
        progress = tcpinfo.progress(transport.get_extra_info("socket") if transport else None)
        if progress is None:
            waiting = self.subscriber.waiting_since
            return 0.0 if waiting is None else now - waiting
        waiting = bool(self.subscriber.queue) or progress.unsent > 0 or bool(
            transport and transport.get_write_buffer_size())
        if not waiting or progress.acked != self._acked:
            self._acked = progress.acked
            self._stalled_since = now
            return 0.0
        return now - self._stalled_since

    def heard(self, now: float) -> None:
        self.last_heard = now

    def within_rate(self, now: float) -> bool:
        """A token bucket: bursts of RATE_LIMIT_BURST, RATE_LIMIT_PER_S sustained."""
        self._budget = min(RATE_LIMIT_BURST, self._budget + (now - self._budget_at) * RATE_LIMIT_PER_S)
        self._budget_at = now
        self._budget -= 1
        return self._budget >= 0

    async def read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        ws = self.ws
        while True:
            msg = await ws.receive()
            now = loop.time()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type is WSMsgType.ERROR:
                # aiohttp has already closed with 1009 for an oversize frame.
                self.close_reason = f"protocol error: {msg.data}"
                return
            self.heard(now)
            if msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
                continue
            if msg.type is WSMsgType.PONG:
                continue
            if not self.within_rate(now):
                self.close(Close.POLICY, "rate limit exceeded")
                continue
            self.handle(msg)

    def handle(self, msg: Any) -> None:
        if msg.type is not WSMsgType.TEXT:
            self.send(messages.error(self.topic, "bad_message", "frames must be JSON text"))
            return
        try:
            parsed = orjson.loads(msg.data)
        except orjson.JSONDecodeError as err:
            self.send(messages.error(self.topic, "invalid_json", str(err)))
            return
        try:
            message = ClientMessage.model_validate(parsed)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "message"
            self.send(messages.error(self.topic, "bad_message", f"{where}: {first['msg']}"))
            return
        if message.type == "ping":
            try:
                self.send(messages.pong(self.topic, message.data))
            except orjson.JSONEncodeError:  # parses, but nests past what orjson will write
                self.send(messages.error(self.topic, "bad_message", "data: nested too deep"))


def _refusal(request: web.Request, topic: str) -> tuple[Close, str] | None:
    """The first check of SPEC §3.1 that this handshake fails, in the SPEC's order."""
    app = request.app
    if topic not in TOPICS:
        return Close.UNSUPPORTED, f"unknown topic {topic!r}"
    role = app[keys.SETTINGS].auth.tokens.get(request_token(request) or "")
    if role is None:
        return Close.UNAUTHORIZED, "missing or unknown token"
    if not may_read(role, topic):
        return Close.FORBIDDEN, f"role {role} may not read {topic}"
    if app[keys.SHUTTING_DOWN].is_set():
        return Close.GOING_AWAY, "server is shutting down"
    limit = app[keys.SETTINGS].websocket.max_connections_per_topic
    if len(app[keys.HUB].topics[topic].subscribers) >= limit:
        return Close.POLICY, f"topic {topic} is full ({limit} clients)"
    return None


def _resume_point(request: web.Request) -> tuple[int | None, str | None]:
    try:
        since = int(request.query["since"]) if "since" in request.query else None
    except ValueError:
        since = None  # an unusable resume point just means a fresh snapshot
    return since, request.query.get("epoch")


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    if not origin_allowed(request, settings.auth.allowed_origins):
        raise web.HTTPForbidden(text="origin not allowed")
    ws = web.WebSocketResponse(
        autoping=False,
        max_msg_size=settings.websocket.max_message_bytes,
        timeout=CLOSE_TIMEOUT_S,
        # Compressing per client would undo serialise-once; updates are small anyway.
        compress=False,
        # A larger drain threshold keeps small stalls from blocking the writer (HA's lesson).
        writer_limit=1 << 20,
    )
    await ws.prepare(request)
    topic = request.match_info["topic"]
    refusal = _refusal(request, topic)
    if refusal is not None:
        code, reason = refusal
        request.app[keys.STATS].closed(code)
        await ws.close(code=code, message=reason.encode())
        return ws

    conn = Connection(ws, request, topic)
    registry: set[Connection] = request.app[keys.CONNECTIONS]
    hub = request.app[keys.HUB]
    since, epoch = _resume_point(request)
    with hub.subscription(topic, lambda: conn.close(Close.SLOW, "send queue full"),
                          since=since, epoch=epoch) as subscriber:
        conn.start(subscriber)
        registry.add(conn)
        conn.log.info("open (%d on topic)", len(hub.topics[topic].subscribers))
        try:
            await conn.read_loop()
        finally:
            registry.discard(conn)
            await conn.finish()
            conn.log.info("closed %s (%s)", conn.close_code or ws.close_code, conn.close_reason)
    return ws


async def watchdog(app: web.Application) -> None:
    """Pings, pong timeouts (4000) and send timeouts (4008) for every connection, once a tick."""
    ws_settings = app[keys.SETTINGS].websocket
    tick = min(1.0, ws_settings.pong_timeout_s / 4, ws_settings.send_timeout_s / 4,
               ws_settings.ping_interval_s / 2)
    loop = asyncio.get_running_loop()
    stats = app[keys.STATS]
    while True:
        asleep_at = loop.time()
        await asyncio.sleep(tick)
        now = loop.time()
        # How late the loop woke us: the event-loop lag every other task suffers too.
        stats.loop_lag = max(0.0, now - asleep_at - tick)
        pings: dict[str, bytes] = {}
        connections: set[Connection] = app[keys.CONNECTIONS]
        for conn in list(connections):
            if conn.stalled_for(now) > ws_settings.send_timeout_s:
                conn.close(Close.SLOW, "socket accepted nothing for send_timeout_s")
                continue
            if conn.ping_sent_at is not None:
                if conn.last_heard >= conn.ping_sent_at:
                    conn.ping_sent_at = None
                elif now - conn.ping_sent_at > ws_settings.pong_timeout_s:
                    conn.close(Close.PONG_TIMEOUT, "no pong within pong_timeout_s")
                    continue
            if conn.ping_sent_at is None and now - conn.last_ping >= ws_settings.ping_interval_s:
                if conn.topic not in pings:
                    pings[conn.topic] = messages.ping(conn.topic, loop.time())
                conn.ping_sent_at = conn.last_ping = now
                conn.ping_due = True  # the writer follows the JSON ping with a protocol ping
                conn.send(pings[conn.topic])


async def close_all(app: web.Application) -> None:
    """SPEC §3.7: refuse new handshakes, tell every client and close it with 1001."""
    app[keys.SHUTTING_DOWN].set()
    registry: set[Connection] = app[keys.CONNECTIONS]
    connections = list(registry)
    for conn in connections:
        conn.close(Close.GOING_AWAY, "server shutting down",
                   messages.shutdown(conn.topic, random.randint(*RECONNECT_AFTER_MS)))
    if connections:
        log.info("closing %d WebSocket clients", len(connections))
    await asyncio.gather(*(conn.finish() for conn in connections), return_exceptions=True)

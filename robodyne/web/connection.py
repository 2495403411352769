"""One subscribed WebSocket: its writer task, its close, its liveness clock and rate budget."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Final

import orjson
from aiohttp import WSMsgType, web

from ..core.codes import Code
from ..core.logprefix import PrefixedLog
from ..core.stats import Stats
from ..domain.guests import GuestSession
from ..live.hub import Direct, Hub, Subscriber
from ..wire import frames
from ..wire.frames import BadFrame, Close
from . import tcpinfo

log = logging.getLogger(__name__)

# A client may burst this many frames, then sustain RATE_LIMIT_PER_S (docs/protocol.md,
# "Bad input and limits").
RATE_LIMIT_PER_S: Final = 50
RATE_LIMIT_BURST: Final = 100
# How long a close handshake may take before the socket is aborted under the client.
CLOSE_TIMEOUT_S: Final = 3.0
CLOSE_REASONS: Final = {
    Close.SLOW: "slow", Close.PONG_TIMEOUT: "pong_timeout", Close.POLICY: "limit",
    Close.TOO_BIG: "limit", Close.UNAUTHORIZED: "auth", Close.FORBIDDEN: "auth",
    Close.UNSUPPORTED: "unknown_topic", Close.GOING_AWAY: "shutdown",
}

_ids = itertools.count(1)


def count_close(stats: Stats, code: Close) -> None:
    stats.ws_closed[CLOSE_REASONS[code]] += 1


class Connection:
    """One subscribed WebSocket: its queue, writer task, liveness clock and rate budget."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, topic: str, *,
                 hub: Hub, stats: Stats) -> None:
        self.ws = ws
        self.request = request
        self.topic = topic
        self.hub = hub
        self.stats = stats
        self.log = PrefixedLog(log, f"ws#{next(_ids)} {topic} {request.remote}")
        now = asyncio.get_running_loop().time()
        self.last_heard = now
        self.last_ping = now
        self.ping_sent_at: float | None = None
        self.ping_due = False
        self.close_reason = "client"
        self.close_code: int | None = None  # what the server sent, when it closed first
        # The token it was opened with: a revoked token closes its sockets (4401).
        self.token: str | None = None
        # The guest session of a guest stream: its visit's close or a rotation of its link
        # closes it (4401).
        self.guest: GuestSession | None = None
        self._budget = float(RATE_LIMIT_BURST)
        self._budget_at = now
        self._acked = -1
        self._stalled_since = now
        self._closer: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        # The writer waits for frames with nothing queued or being written (write_now's turn).
        self._idle = False
        self.subscriber: Subscriber

    def send(self, frame: bytes) -> None:
        self.subscriber.push((frame, asyncio.get_running_loop().time()))

    def write_now(self, wire: bytes, length: int) -> Direct:
        """Write a published frame (its WebSocket bytes, and its message's length) to the
        socket in the publish's own step, as the raw limit does, when nothing of this client
        waits: its writer is idle, the transport holds no bytes, the socket is open. Otherwise
        the frame goes through the queue, whose bound and stall clock see a slow client as
        before."""
        transport = self.request.transport
        if transport is None or self.ws.closed or transport.get_write_buffer_size():
            return Direct.BEHIND
        if not self._idle:
            return Direct.BUSY
        transport.write(wire)
        stats = self.stats
        stats.ws_messages[self.topic] += 1
        stats.ws_bytes[self.topic] += length
        stats.publish_to_socket.observe(0.0)
        return Direct.WRITTEN

    async def write_loop(self) -> None:
        """Drain the queue into the socket; the only place that awaits this client."""
        subscriber, ws, topic = self.subscriber, self.ws, self.topic
        loop = asyncio.get_running_loop()
        latency = self.stats.publish_to_socket
        try:
            while True:
                self._idle = True
                await subscriber.wake.wait()
                self._idle = False
                subscriber.wake.clear()
                sent_frames = sent_bytes = 0
                while subscriber.queue:
                    frame, queued_at = subscriber.take()
                    await ws.send_frame(frame, WSMsgType.TEXT)
                    now = loop.time()
                    subscriber.sent(now)
                    latency.observe(now - queued_at)
                    sent_frames += 1
                    sent_bytes += len(frame)
                self.stats.ws_messages[topic] += sent_frames
                self.stats.ws_bytes[topic] += sent_bytes
                if self.ping_due:
                    self.ping_due = False
                    await ws.ping()
        except (ConnectionError, RuntimeError) as err:
            # The socket went away under us; the reader loop sees the same and ends the handler.
            self.log.debug("writer stopped: %s", err)
        finally:
            self._idle = False  # a writer gone takes no frame, now or queued

    def start(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        subscriber.direct = self.write_now
        self._writer = asyncio.create_task(self.write_loop(), name=f"ws-writer-{self.topic}")

    def close(self, code: Close, reason: str, final_frame: bytes | None = None, *,
              drain: bool = False) -> None:
        """Stop queueing for this client and close it with `code`, bounded in time. `drain`:
        what is queued for it still goes first (a guest's last view of their visit)."""
        if self._closer is not None:
            if code is Close.GOING_AWAY:
                self._abort()  # shutting down: a slow client's goodbye is cut short
            return
        self.close_reason = reason
        self.close_code = code
        count_close(self.stats, code)
        self.hub.unsubscribe(self.subscriber)
        # Taken out of the queue: the writer, woken for them already, must not send them too.
        finals: list[bytes] = []
        if drain:
            finals = [frame for frame, _ in self.subscriber.queue]
            self.subscriber.queue.clear()
        if final_frame is not None:
            finals.append(final_frame)
        self._closer = asyncio.create_task(self._close(code, reason, finals))

    async def _close(self, code: Close, reason: str, final_frames: list[bytes]) -> None:
        if self._writer is not None:
            # Awaited: a frame it is halfway through sending must not interleave with ours.
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if code is Close.SLOW and self._backed_up():
            # The peer takes nothing: its close frame would only wait behind what waits
            # already, holding the socket and its buffers. Nothing of it is kept.
            self._abort()
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                for frame in final_frames:
                    await self.ws.send_frame(frame, WSMsgType.TEXT)
                await self.ws.close(code=code, message=frames.close_reason(reason))
        except (TimeoutError, ConnectionError, RuntimeError):
            self._abort()  # a peer that never answers the close: nothing may linger

    def _backed_up(self) -> bool:
        """Whether bytes already wait for this peer, in our buffer or the kernel's."""
        transport = self.request.transport
        if transport is None:
            return False
        if transport.get_write_buffer_size():
            return True
        progress = tcpinfo.progress(transport.get_extra_info("socket"))
        return progress is not None and progress.unsent > 0

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

    def within_rate(self, now: float) -> bool:
        """A token bucket: bursts of RATE_LIMIT_BURST, RATE_LIMIT_PER_S sustained."""
        self._budget = min(RATE_LIMIT_BURST,
                           self._budget + (now - self._budget_at) * RATE_LIMIT_PER_S)
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
            self.last_heard = now
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
            self.send(frames.error(self.topic, Code.BAD_MESSAGE, "frames must be JSON text"))
            return
        try:
            message = frames.parse_client(msg.data)
        except BadFrame as err:
            self.send(frames.error(self.topic, err.code, err.detail))
            return
        if message.type == "ping":
            try:
                self.send(frames.pong(self.topic, message.data))
            except orjson.JSONEncodeError:  # parses, but nests past what orjson will write
                self.send(frames.error(self.topic, Code.BAD_MESSAGE, "data: nested too deep"))

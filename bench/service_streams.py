"""The service bench's screens: staff tablets and guests' phones on WebSocket topics, each
stream seq-checked, resumed with since/epoch after every drop (as web/js/client.js does) and
able to lose its Wi-Fi; and one tablet that froze and never reads again.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Final

import aiohttp
import orjson
from yarl import URL

from .guests import Seq

RECONNECT_S: Final = 0.2
# A frozen tablet's receive buffer: its TCP window closes after a few KB, not megabytes.
FROZEN_RCVBUF: Final = 4096
# Close codes that mean "your session is over": do not come back.
ENDED: Final = frozenset({4401, 4403})


class Stream:
    """One screen's WebSocket stream, kept open until `stop` or its session ends."""

    def __init__(self, session: aiohttp.ClientSession, url: str, name: str,
                 headers: dict[str, str] | None = None,
                 on_update: Callable[[dict[str, Any], float], None] | None = None) -> None:
        self.session = session
        self.url = url
        self.name = name
        self.headers = headers or {}
        self.on_update = on_update
        self.seq = Seq()
        self.epoch: str | None = None
        self.epochs: dict[str, float] = {}  # each epoch and when it first reached this screen
        self.connections = 0
        self.resumed = 0  # reconnects answered with the missed updates, not a snapshot
        self.errors: list[str] = []
        self.closed_code: int | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._away_until = 0.0

    def _query(self) -> URL:
        url = URL(self.url)
        if self.epoch is not None and self.seq.last is not None:
            url = url.update_query(since=str(self.seq.last), epoch=self.epoch)
        return url

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, self._away_until - time.monotonic()))
            with suppress(aiohttp.ClientError, OSError, TimeoutError):
                await self._connect_once(stop)
            if self.closed_code in ENDED:
                return
            await asyncio.sleep(RECONNECT_S)

    async def _connect_once(self, stop: asyncio.Event) -> None:
        async with self.session.ws_connect(self._query(), headers=self.headers, heartbeat=None,
                                           max_msg_size=0) as ws:
            self._ws = ws
            self.connections += 1
            first = True
            stopped = asyncio.create_task(stop.wait())
            try:
                while True:
                    receive = asyncio.create_task(ws.receive())
                    await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if not receive.done():
                        receive.cancel()
                        return
                    msg = receive.result()
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        self.closed_code = ws.close_code
                        return
                    await self._handle(ws, orjson.loads(msg.data), first)
                    first = False
            finally:
                stopped.cancel()
                self._ws = None

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any],
                      first: bool) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await ws.send_str(orjson.dumps({"type": "pong", "topic": frame.get("topic"),
                                            "data": frame.get("data")}).decode())
        elif kind == "error":
            self.errors.append(str(frame)[:200])
        elif kind == "update":
            now = time.monotonic()
            data = frame["data"]
            if data.get("kind") == "snapshot":
                self.epoch = data["epoch"]
                self.epochs.setdefault(self.epoch, now)
            elif first and self.connections > 1:
                self.resumed += 1
            self.seq.check(frame)
            if self.on_update is not None:
                self.on_update(data, now)

    async def lose_wifi(self, away_s: float) -> None:
        """The connection cut without a close frame; back (resuming) after `away_s`."""
        self._away_until = time.monotonic() + away_s
        ws = self._ws
        if ws is not None and ws._response.connection is not None:
            transport = ws._response.connection.transport
            if transport is not None:
                transport.abort()


class Frozen:
    """A tablet whose app hung: subscribed, then never reads a byte again. Its small receive
    buffer closes its TCP window after a few KB (a phone's, not loopback's megabytes); the
    server must close it (4008, counted in /metrics) and go on as if it were not there."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.path = path
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """The WebSocket handshake by hand: no client library reads for it afterwards."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, FROZEN_RCVBUF)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        reader, self.writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                          .encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"the frozen tablet was refused: {head[:80]!r}")
        # Frozen from here: not even asyncio's stream buffer takes another byte off the socket.
        self.writer.transport.pause_reading()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()

"""One robot's TCP session with the server (SPEC §4): hello with the task it carries, the
server's commands to the robot, state and heartbeats out; reconnects with backoff."""

from __future__ import annotations

import asyncio
import enum
import random
import ssl
from collections import deque
from contextlib import suppress
from typing import Any, Final

import orjson

from ..core.codes import Code
from ..wire.framing import LineFramer, LineTooLong
from .config import ServerConfig
from .outbox import Message
from .robot import RobotBridge

MODEL: Final = "ROS 2 (robodyne-ros2)"
HELLO_TIMEOUT_S: Final = 10.0
DEFAULT_HEARTBEAT_S: Final = 5.0
BACKOFF_FIRST_S: Final = 0.25
BACKOFF_MAX_S: Final = 5.0  # SPEC §14: at most 5 s between tries
MAX_LINE_BYTES: Final = 1 << 20
READ_CHUNK: Final = 1 << 16
CLOSE_TIMEOUT_S: Final = 2.0


class Refused(Exception):
    """The server refused this robot's token: no retry can help."""


class End(enum.Enum):
    LOST = "connection lost"
    STOPPED = "stopped"
    # Another connection took this robot over: two bridges (or a bridge and the robot itself)
    # would take it from each other forever, so this one gives it up.
    REPLACED = "replaced"


class Lines:
    """The server's JSON objects on one connection; lines that are not objects are skipped."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._framer = LineFramer(MAX_LINE_BYTES)
        self._framed: deque[bytes | LineTooLong] = deque()

    async def next(self) -> Message | None:
        """The next object; None at EOF."""
        while True:
            while self._framed:
                line = self._framed.popleft()
                if isinstance(line, LineTooLong):
                    continue
                with suppress(orjson.JSONDecodeError):
                    message = orjson.loads(line)
                    if isinstance(message, dict):
                        return message
            data = await self._reader.read(READ_CHUNK)
            if not data:
                return None
            self._framed.extend(self._framer.feed(data))


class Session:
    """Keeps one robot connected until `stop` is set; Refused when its token is refused."""

    def __init__(self, server: ServerConfig, bridge: RobotBridge, stop: asyncio.Event,
                 tls: ssl.SSLContext | None) -> None:
        self._server = server
        self._bridge = bridge
        self._robot = bridge.config
        self._stop = stop
        self._tls = tls
        self._log = bridge.log
        self._backoff_s = BACKOFF_FIRST_S

    async def run(self) -> None:
        await self._first_heard()
        while not self._stop.is_set():
            if await self._connect_once() in (End.STOPPED, End.REPLACED):
                return
            delay = random.uniform(self._backoff_s / 2, self._backoff_s)
            self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()

    async def _first_heard(self) -> None:
        """Until ROS has heard the robot, or stale_s has passed without it: a robot that said
        idle before its first odometry was sent trips it could not drive yet, then failed them
        as silent once discovery took longer than stale_s; silent by then, it connects in
        error with ros_silent, which is what the floor should see."""
        waits = [asyncio.create_task(self._bridge.heard.wait()),
                 asyncio.create_task(self._stop.wait())]
        await asyncio.wait(waits, timeout=self._robot.stale_s,
                           return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)

    async def _connect_once(self) -> End:
        try:
            reader, writer = await asyncio.open_connection(
                self._server.host, self._server.port, ssl=self._tls)
        except ssl.SSLCertVerificationError as err:
            raise Refused(f"the server at {self._server.host}:{self._server.port} is not "
                          f"trusted by server.cafile: {err.verify_message}") from None
        except OSError as err:
            self._log.debug("connect failed: %s", err)
            return End.LOST
        try:
            return await self._session(Lines(reader), writer)
        except OSError as err:  # includes TimeoutError: no welcome in time
            self._log.debug("session ended: %s", err)
            return End.LOST
        finally:
            self._bridge.outbox.detach()
            writer.close()
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await writer.wait_closed()

    async def _session(self, lines: Lines, writer: asyncio.StreamWriter) -> End:
        hello = {"type": "hello", "token": self._robot.token, "robot_id": self._robot.id,
                 "name": self._robot.name or self._robot.id, "model": MODEL,
                 "task_id": self._bridge.carried_task()}
        writer.write(orjson.dumps(hello, option=orjson.OPT_APPEND_NEWLINE))
        await writer.drain()
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            heartbeat_s = await self._welcome(lines)
        if heartbeat_s is None:
            return End.LOST
        self._backoff_s = BACKOFF_FIRST_S
        self._log.info("connected to %s:%s", self._server.host, self._server.port)
        self._bridge.outbox.attach(writer)
        self._bridge.report(full=True)
        reading = asyncio.create_task(self._read(lines))
        ticking = asyncio.create_task(self._tick(writer, heartbeat_s))
        stopping = asyncio.create_task(self._stop.wait())
        tasks: list[asyncio.Task[Any]] = [reading, ticking, stopping]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if stopping in done:
            with suppress(OSError, TimeoutError):
                self._bridge.outbox.send({"type": "bye"})
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await writer.drain()
            self._log.info("said bye")
            return End.STOPPED
        for task in done:
            if (error := task.exception()) is not None:
                raise error
        if reading in done and reading.result() is End.REPLACED:
            self._log.error("another connection took over robot %s; this bridge gives it up",
                            self._robot.id)
            return End.REPLACED
        self._log.info("disconnected")
        return End.LOST

    async def _welcome(self, lines: Lines) -> float | None:
        while (message := await lines.next()) is not None:
            if message.get("type") == "welcome":
                heartbeat_s = message.get("heartbeat_s")
                if isinstance(heartbeat_s, int | float) and heartbeat_s > 0:
                    return float(heartbeat_s)
                return DEFAULT_HEARTBEAT_S
            if message.get("type") == "error" and message.get("code") == Code.UNAUTHORIZED:
                raise Refused(f"the server refused the token of robot {self._robot.id}")
        return None

    async def _read(self, lines: Lines) -> End:
        while (message := await lines.next()) is not None:
            kind = message.get("type")
            if kind == "command":
                self._bridge.command(message)
            elif kind == "shutdown":
                break
            elif kind == "error":
                if message.get("code") == Code.REPLACED:
                    return End.REPLACED
                self._log.debug("server error %s: %s", message.get("code"),
                                message.get("detail"))
        return End.LOST

    async def _tick(self, writer: asyncio.StreamWriter, heartbeat_s: float) -> None:
        """Silence checks and heartbeats; drains so a lost connection shows here."""
        loop = asyncio.get_running_loop()
        period = min(1.0 / self._robot.state_hz, 1.0, heartbeat_s / 2)
        while True:
            await asyncio.sleep(period)
            self._bridge.report()
            if loop.time() - self._bridge.outbox.sent_at >= heartbeat_s / 2:
                self._bridge.outbox.send({"type": "heartbeat"})
            await writer.drain()

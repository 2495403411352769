"""A simulated robot's TCP client: connects a SimRobot (demo/robot.py) to a server over the
robot TCP protocol (docs/protocol.md, "Robot TCP protocol"), and runs a fleet of them on one loop.

The server's lines are framed by wire/framing.py, the server's own NDJSON framer.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
import ssl
from collections import deque
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, Final, NoReturn, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError

from ..core.codes import Code
from ..core.logprefix import PrefixedLog
from ..wire.framing import LineFramer, LineTooLong
from .robot import MODEL_NAME, Message, SimRobot

log = logging.getLogger(__name__)

T = TypeVar("T")

HELLO_TIMEOUT_S: Final = 10.0
DEFAULT_HEARTBEAT_S: Final = 5.0
BACKOFF_FIRST_S: Final = 0.5
BACKOFF_MAX_S: Final = 20.0
# A server line longer than this is skipped, and the lines after it still read.
MAX_LINE_BYTES: Final = 1 << 20
READ_CHUNK: Final = 1 << 16
CLOSE_TIMEOUT_S: Final = 2.0
# Lines whose effect the server keeps (a delivery, a task's result): each goes with an id and
# is sent again, this long after the server answered `unavailable` (SPEC §4: send it again
# later), for as long as it refuses; a full disk would otherwise leave a task underway forever.
RECORDS: Final = frozenset({"event", "log", "command_result"})
RESEND_AFTER_S: Final = 1.0
# Refused lines kept for sending again, the oldest dropped beyond: a long outage costs chatter.
MAX_REFUSED: Final = 1000


class ServerLines:
    """The JSON objects the server sends on one connection, bad lines skipped."""

    def __init__(self, reader: asyncio.StreamReader, log: PrefixedLog) -> None:
        self._reader = reader
        self._log = log
        self._framer = LineFramer(MAX_LINE_BYTES)
        self._framed: deque[bytes | LineTooLong] = deque()

    async def next(self) -> Message | None:
        """The next JSON object from the server; None at EOF."""
        while True:
            while self._framed:
                message = self._decode(self._framed.popleft())
                if message is not None:
                    return message
            data = await self._reader.read(READ_CHUNK)
            if not data:
                return None
            self._framed.extend(self._framer.feed(data))

    def _decode(self, line: bytes | LineTooLong) -> Message | None:
        if isinstance(line, LineTooLong):
            self._log.debug("skipped a line over %d bytes", line.limit)
            return None
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._log.debug("skipped a line that is not JSON: %.80r", line)
            return None
        if isinstance(message, dict):
            return message
        self._log.debug("skipped a line that is not an object: %.80r", line)
        return None


class End(enum.Enum):
    """Why a connection ended; only LOST and SHUTDOWN are worth reconnecting after."""

    LOST = "connection lost"
    SHUTDOWN = "server shutting down"
    REPLACED = "another connection took over this robot_id; not reconnecting"
    UNAUTHORIZED = "token refused"
    UNTRUSTED = "server certificate not trusted"
    STOPPED = "stopped"


# The server's errors that end a connection, and how.
ERROR_ENDS: Final[dict[str, End]] = {Code.REPLACED: End.REPLACED,
                                     Code.UNAUTHORIZED: End.UNAUTHORIZED}


class Welcome(BaseModel):
    """The server's reply to hello; only heartbeat_s matters to a robot."""

    heartbeat_s: float = Field(default=DEFAULT_HEARTBEAT_S, gt=0)


class RobotClient:
    """Connects one SimRobot to the server and keeps it connected until `stop` is set."""

    def __init__(self, robot: SimRobot, name: str, *, host: str, port: int, token: str, hz: float,
                 stop: asyncio.Event, rng: random.Random, tls: ssl.SSLContext | None = None
                 ) -> None:
        self.robot = robot
        self.tls = tls
        self.name = name
        self.host = host
        self.port = port
        self.token = token
        self.hz = hz
        self.log = PrefixedLog(log, robot.robot_id)
        self._stop = stop
        self._rng = rng
        self._backoff_s = BACKOFF_FIRST_S
        self._last_sent = 0.0
        self._stopped: asyncio.Task[bool] | None = None
        self._ids = itertools.count(1)
        # Records sent on this connection and not acked yet, by id; those the server refused
        # (kept across connections: the server said it has not stored them) and when to retry.
        self._unacked: dict[int | str, Message] = {}
        self._refused: deque[Message] = deque(maxlen=MAX_REFUSED)
        self._resend_at = 0.0

    async def run(self) -> None:
        """Connect, serve, reconnect with full-jitter backoff; until stopped or refused for good."""
        self._stopped = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                if await self._connect_once() not in (End.LOST, End.SHUTDOWN):
                    return
                delay = self._rng.uniform(0, self._backoff_s)
                self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
                await asyncio.wait({self._stopped}, timeout=delay)
        finally:
            self._stopped.cancel()
            await asyncio.gather(self._stopped, return_exceptions=True)

    async def _or_stop(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Await `work`, or cancel it and return None as soon as stop is set."""
        assert self._stopped is not None
        task = asyncio.create_task(work)
        try:
            await asyncio.wait({task, self._stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return None if task.cancelled() else task.result()

    async def _connect_once(self) -> End:
        try:
            streams = await self._or_stop(
                asyncio.open_connection(self.host, self.port, ssl=self.tls))
        except ssl.SSLCertVerificationError as err:
            # Trying again cannot help: the robot does not trust the server until told to.
            self.log.error("%s:%s is not trusted: %s; not reconnecting (--cafile?)",
                           self.host, self.port, err.verify_message)
            return End.UNTRUSTED
        except OSError as err:
            # Refused is the normal answer while the server is down or restarting.
            self.log.debug("connect to %s:%s failed: %s", self.host, self.port, err)
            return End.LOST
        if streams is None:
            return End.STOPPED
        reader, writer = streams
        try:
            return await self._session(ServerLines(reader, self.log), writer)
        except OSError as err:  # includes TimeoutError: no welcome in time
            self.log.debug("no session: %s", err)
            return End.LOST
        finally:
            writer.close()
            with suppress(OSError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await writer.wait_closed()

    async def _session(self, lines: ServerLines, writer: asyncio.StreamWriter) -> End:
        # The task it is still on (or none): a reconnect goes on with it (SPEC §4).
        self._send(writer, {"type": "hello", "token": self.token, "robot_id": self.robot.robot_id,
                            "name": self.name, "model": MODEL_NAME,
                            "task_id": self.robot.task_id})
        await writer.drain()
        greeting = await self._or_stop(self._handshake(lines, HELLO_TIMEOUT_S))
        if greeting is None:
            return End.STOPPED
        if isinstance(greeting, End):
            if greeting is End.UNAUTHORIZED:
                self.log.error("token refused by %s:%s; not reconnecting", self.host, self.port)
            return greeting
        self._backoff_s = BACKOFF_FIRST_S
        # What went unacked on a dead connection may have been stored: it is not sent again.
        self._unacked.clear()
        self.log.info("connected to %s:%s", self.host, self.port)
        end = await self._serve(lines, writer, greeting.heartbeat_s)
        if end is End.STOPPED:
            # A courtesy: if the server is already gone it will notice the close anyway.
            with suppress(OSError):
                self._send(writer, {"type": "bye"})
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await writer.drain()
        self.log.log(logging.WARNING if end is End.REPLACED else logging.INFO,
                     "disconnected: %s", end.value)
        return end

    async def _handshake(self, lines: ServerLines, timeout_s: float) -> Welcome | End:
        async with asyncio.timeout(timeout_s):  # TimeoutError: no welcome in time
            return await self._welcome(lines)

    async def _welcome(self, lines: ServerLines) -> Welcome | End:
        while True:
            message = await lines.next()
            if message is None:
                return End.LOST
            if message.get("type") == "welcome":
                try:
                    return Welcome.model_validate(message)
                except ValidationError:
                    return Welcome()
            if message.get("type") == "error" and (end := self._error_end(message)):
                return end

    async def _serve(self, lines: ServerLines, writer: asyncio.StreamWriter,
                     heartbeat_s: float) -> End:
        """Read and tick side by side until the connection ends or stop is set."""
        assert self._stopped is not None
        reading = asyncio.create_task(self._read(lines, writer))
        ticking = asyncio.create_task(self._tick(writer, heartbeat_s))
        try:
            done, _ = await asyncio.wait({reading, ticking, self._stopped},
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            reading.cancel()
            ticking.cancel()
            await asyncio.gather(reading, ticking, return_exceptions=True)
        if self._stopped in done:
            return End.STOPPED
        finished = reading if reading in done else ticking
        error = finished.exception()
        if error is None:
            return reading.result()
        if isinstance(error, OSError):
            self.log.debug("connection error: %s", error)
            return End.LOST
        raise error

    def _error_end(self, message: Message) -> End | None:
        """The end a server's error line means for this connection, if it ends it."""
        code = message.get("code")
        self.log.debug("server error %s: %s", code, message.get("detail"))
        return ERROR_ENDS.get(str(code))

    async def _read(self, lines: ServerLines, writer: asyncio.StreamWriter) -> End:
        while True:
            message = await lines.next()
            if message is None:
                return End.LOST
            kind = message.get("type")
            if kind == "command":
                for reply in self.robot.command(message):
                    self._send(writer, reply)
            elif kind == "ack":
                self._unacked.pop(message.get("id"), None)  # type: ignore[arg-type]
            elif kind == "error" and (end := self._error_end(message)):
                return end
            elif kind == "error" and message.get("code") == Code.UNAVAILABLE:
                self._refused_line(message.get("id"))
            elif kind == "shutdown":
                return End.SHUTDOWN

    def _refused_line(self, line_id: Any) -> None:
        """The server could not store the line with this id: it goes again shortly."""
        line = self._unacked.pop(line_id, None)
        if line is not None:
            if not self._refused:
                self._resend_at = asyncio.get_running_loop().time() + RESEND_AFTER_S
            self._refused.append(line)

    async def _tick(self, writer: asyncio.StreamWriter, heartbeat_s: float) -> NoReturn:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.hz
        self._send(writer, self.robot.full_state())
        # Robots that connected together would otherwise tick, and send, in bursts.
        await asyncio.sleep(self._rng.uniform(0, period))
        last = loop.time()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            # The model only advances while connected, so nothing needs queueing while away.
            for message in self.robot.step(now - last):
                self._send(writer, message)
            last = now
            state = self.robot.state_update()
            if state is not None:
                self._send(writer, state)
            if self._refused and now >= self._resend_at:
                self._resend_at = now + RESEND_AFTER_S
                for _ in range(len(self._refused)):
                    self._send(writer, self._refused.popleft())
            if now - self._last_sent >= heartbeat_s:
                self._send(writer, {"type": "heartbeat"})
            # One drain per tick, not per line: back-pressure, and a lost connection raises here.
            await writer.drain()

    def _send(self, writer: asyncio.StreamWriter, message: Message) -> None:
        if message.get("type") in RECORDS:
            if "id" not in message:
                message = {**message, "id": f"r{next(self._ids)}"}
            self._unacked[message["id"]] = message
        writer.write(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))
        self._last_sent = asyncio.get_running_loop().time()


class SimFleet:
    """`robots` simulated robots, built at once, that connect to one server when run."""

    def __init__(self, token: str, robots: int, hz: float, *, host: str = "127.0.0.1",
                 seed: int | None = None, prefix: str = "sim", fail_rate: float = 0.0,
                 tls: ssl.SSLContext | None = None, robot_class: type[SimRobot] = SimRobot
                 ) -> None:
        if robots < 0 or hz <= 0 or not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"need robots >= 0, hz > 0 and fail_rate in 0..1, "
                             f"got {robots}, {hz} and {fail_rate}")
        self.token = token
        self.hz = hz
        self.host = host
        self.tls = tls
        seeds = random.Random(seed)
        # Each robot's model and its client's backoff draw from their own seeded generators.
        self.robots = [
            (robot_class(f"{prefix}-{n}", random.Random(seeds.getrandbits(64)),
                         fail_rate=fail_rate), random.Random(seeds.getrandbits(64)))
            for n in range(1, robots + 1)
        ]

    async def run(self, port: int, stop: asyncio.Event) -> None:
        """Keep every robot connected to port until `stop` is set; then bye and close."""
        async with asyncio.TaskGroup() as group:
            for n, (robot, rng) in enumerate(self.robots, start=1):
                group.create_task(RobotClient(
                    robot, f"Robo {n}", host=self.host, port=port, token=self.token, hz=self.hz,
                    stop=stop, rng=rng, tls=self.tls).run())


async def run_fleet(host: str, port: int, token: str, robots: int, hz: float, *,
                    stop: asyncio.Event, seed: int | None = None, prefix: str = "sim",
                    fail_rate: float = 0.0, tls: ssl.SSLContext | None = None,
                    robot_class: type[SimRobot] = SimRobot) -> None:
    """Run `robots` simulated robots against host:port until `stop` is set; then bye and close.

    `fail_rate` (0..1) is the chance that each trip breaks down on the way; with `tls` they
    connect over TLS.
    """
    fleet = SimFleet(token, robots, hz, host=host, seed=seed, prefix=prefix, fail_rate=fail_rate,
                     tls=tls, robot_class=robot_class)
    await fleet.run(port, stop)

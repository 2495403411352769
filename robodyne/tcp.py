"""The robot TCP server: one session per connection, NDJSON in, acks and commands out."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Final

from . import robot_protocol as wire
from .errors import StorageUnavailable
from .fleet import Fleet
from .logprefix import PrefixedLog
from .framing import LineFramer, LineTooLong
from .journal import Journal
from .metrics import Stats
from .models import Role
from .notify import Notifier
from .restaurant import Restaurant
from .settings import Settings

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S: Final = 10.0
MAX_BAD_LINES: Final = 100
SILENT_HEARTBEATS: Final = 3
# A robot that reads nothing while this much waits for it is dropped; robots get little.
MAX_WRITE_BUFFER: Final = 1 << 20
READ_CHUNK: Final = 64 * 1024

_ids = itertools.count(1)


class RobotSession:
    """One robot (or integration peer) connection, from hello to bye."""

    def __init__(self, server: RobotServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.framer = LineFramer(server.settings.tcp.max_line_bytes)
        self.robot_id: str | None = None
        self.greeted = False
        self.bad_in_row = 0
        self.ended: str | None = None
        self.opened_at = self.last_heard = asyncio.get_running_loop().time()
        peer = writer.get_extra_info("peername")
        self.log = PrefixedLog(log, f"tcp#{next(_ids)} {peer[0] if peer else '?'}")

    # ---- the Link the fleet drives ----

    def send(self, line: bytes) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(line)
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.end("not reading")

    def end(self, reason: str, final_line: bytes | None = None) -> None:
        """Close from our side; the read loop then sees EOF and cleans up."""
        if self.ended is not None:
            return
        self.ended = reason
        if reason == "replaced":
            final_line = wire.error("replaced", "another connection took over this robot_id")
        if final_line is not None:
            self.send(final_line)
        self.writer.close()

    # ---- the read loop ----

    async def run(self) -> None:
        self.log.info("open")
        try:
            while self.ended is None:
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    break
                self.last_heard = asyncio.get_running_loop().time()
                for item in self.framer.feed(data):
                    if self.ended is not None:
                        break
                    if isinstance(item, LineTooLong):
                        self.reject(wire.ProtocolError(
                            "line_too_long", f"line over {item.limit} bytes dropped"))
                    else:
                        await self.handle(item)
        except ConnectionError as err:
            self.log.debug("connection error: %s", err)
        finally:
            reason = self.ended or "lost"
            if self.robot_id is not None:
                await self.server.fleet.disconnect(self.robot_id, self, reason)
            self.writer.close()
            self.log.info("closed (%s)", reason)

    def reject(self, err: wire.ProtocolError) -> None:
        self.server.stats.tcp_errors[err.code] += 1
        self.send(wire.error(err.code, err.detail, err.message_id))
        self.bad_in_row += 1
        if self.bad_in_row >= MAX_BAD_LINES:
            self.end(f"{MAX_BAD_LINES} bad lines in a row")

    async def handle(self, line: bytes) -> None:
        try:
            message = wire.parse(line)
            self.server.stats.tcp_lines[message.type] += 1
            if not self.greeted:
                if not isinstance(message, wire.Hello):
                    raise wire.ProtocolError("not_hello", "say hello first", message.id)
                await self.hello(message)
            else:
                await self.dispatch(message)
        except wire.ProtocolError as err:
            self.reject(err)
            return
        except StorageUnavailable as err:
            # Not the robot's fault, so not a bad line: no ack, and it may send again.
            self.server.stats.tcp_errors["unavailable"] += 1
            self.send(wire.error("unavailable", str(err), message.id))
            return
        self.bad_in_row = 0
        if message.id is not None and self.ended is None:
            self.send(wire.ack(message.id))

    async def hello(self, hello: wire.Hello) -> None:
        role = self.server.settings.auth.tokens.get(hello.token)
        if role not in (Role.ROBOT, Role.ADMIN):
            self.end("unauthorized", wire.error("unauthorized", "unknown token or role", hello.id))
            return
        if role is Role.ROBOT and not hello.robot_id:
            raise wire.ProtocolError("validation_error", "robot_id: required for a robot", hello.id)
        self.greeted = True
        self.robot_id = hello.robot_id
        if hello.robot_id:
            self.log.prefix = f"{self.log.prefix} {hello.robot_id}"
            await self.server.fleet.connect(hello.robot_id, hello.name, hello.model, self)
        self.send(wire.welcome(hello.robot_id, self.server.settings.tcp.heartbeat_s))

    async def dispatch(self, message: wire.Message) -> None:
        """Carry out one message; when it returns, its effect is committed."""
        fleet, journal = self.server.fleet, self.server.journal
        source = f"robot:{self.robot_id}" if self.robot_id else "integration"
        if self.robot_id is not None:
            fleet.touch(self.robot_id)
        match message:
            case wire.Hello():
                raise wire.ProtocolError("validation_error", "hello: already said", message.id)
            case wire.State():
                if self.robot_id is None:
                    raise wire.ProtocolError("validation_error",
                                             "state: say hello with a robot_id first", message.id)
                await fleet.apply_state(self.robot_id, message)
                if message.id is not None:
                    await fleet.persist(self.robot_id)
            case wire.RobotEvent():
                data = dict(message.data)
                data.update({k: v for k, v in (("robot_id", self.robot_id),
                                               ("order_id", message.order_id),
                                               ("table_id", message.table_id)) if v is not None})
                await journal.event(message.event, severity=message.severity, source=source,
                                    message=message.message, data=data)
                if message.event == "delivered" and message.order_id is not None:
                    await self.server.restaurant.delivered(message.order_id, self.robot_id)
            case wire.Log():
                await journal.log(message.level, source, message.message)
            case wire.CommandResult():
                severity = "warning" if message.status in ("rejected", "failed") else "info"
                await journal.event(
                    "command_result", severity=severity, source=source,
                    message=f"command {message.command_id} {message.status}"
                            + (f": {message.detail}" if message.detail else ""),
                    data={"robot_id": self.robot_id, "command_id": message.command_id,
                          "status": message.status, "detail": message.detail})
            case wire.Notify():
                await self.server.notifier.notify(message.entity, message.entity_id)
            case wire.Bye():
                self.end("bye")
            case wire.Heartbeat():
                pass


class RobotServer:
    """The asyncio TCP server robots connect to, and the sessions it holds."""

    def __init__(self, settings: Settings, fleet: Fleet, journal: Journal, notifier: Notifier,
                 restaurant: Restaurant, stats: Stats) -> None:
        self.settings = settings
        self.fleet = fleet
        self.journal = journal
        self.notifier = notifier
        self.restaurant = restaurant
        self.stats = stats
        self.sessions: dict[RobotSession, asyncio.Task[Any]] = {}
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        tcp = self.settings.tcp
        self._server = await asyncio.start_server(self._accept, tcp.host, tcp.port,
                                                  limit=READ_CHUNK)
        log.info("robots connect on tcp://%s:%d", tcp.host, self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = RobotSession(self, reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self.sessions[session] = task
        try:
            await session.run()
        finally:
            del self.sessions[session]

    async def watch(self) -> None:
        """End sessions that never said hello, or went silent for 3 heartbeats."""
        silent_after = SILENT_HEARTBEATS * self.settings.tcp.heartbeat_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, silent_after / 6))
            now = loop.time()
            for session in list(self.sessions):
                if not session.greeted and now - session.opened_at > HELLO_TIMEOUT_S:
                    session.end("no hello", wire.error("not_hello", f"no hello within {HELLO_TIMEOUT_S:g} s"))
                elif session.greeted and now - session.last_heard > silent_after:
                    session.end("silent")

    async def stop(self) -> None:
        """Stop listening, tell every robot we are going, and wait for the sessions to end."""
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.end("shutdown", wire.SHUTDOWN)
        if self.sessions:
            await asyncio.wait(list(self.sessions.values()), timeout=3)
        for session in list(self.sessions):  # a robot that reads nothing: drop it under itself
            session.writer.transport.abort()
        if self.sessions:
            await asyncio.wait(list(self.sessions.values()), timeout=1)

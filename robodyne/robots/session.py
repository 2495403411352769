"""One robot connection: the asyncio adapter around the sans-I/O RobotProtocol."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Final

from ..core.codes import Code
from ..core.errors import Conflict, Forbidden, Invalid, NotFound, StorageUnavailable
from ..core.logprefix import PrefixedLog
from ..core.rates import SlidingRate
from ..core.models import Command
from ..core.roles import ROBOT_SESSION_ROLES, Role
from ..core.tokens import Refusals, TokenBook
from ..core.stats import Stats
from ..domain.cameras import Cameras
from ..domain.fleet import Fleet
from ..domain.notify import Notifier
from ..domain.robot_reports import RobotReports
from ..wire import robot as wire
from ..wire.framing import LineTooLong
from .protocol import RobotProtocol

log = logging.getLogger(__name__)

# A robot that reads nothing while this much waits for it is dropped; robots get little.
MAX_WRITE_BUFFER: Final = 1 << 20
READ_CHUNK: Final = 64 * 1024
# The lines that write a row of events or systemlogs: tcp.max_lines_per_min counts these.
RATED: Final = (wire.RobotEvent, wire.Log, wire.CommandResult)

_ids = itertools.count(1)


class RobotSession:
    """Reads bytes into the protocol, carries out its messages on the domain, writes its lines.

    It is also the fleet's Link to this robot: commands and the end of the session.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 protocol: RobotProtocol, tokens: TokenBook, refusals: Refusals,
                 max_robots: int, fleet: Fleet, reports: RobotReports, notifier: Notifier,
                 cameras: Cameras, stats: Stats, rates: SlidingRate) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self._tokens = tokens
        self._refusals = refusals
        self._max_robots = max_robots
        # The hello's token and role, once it was accepted: a revoked token ends the session.
        self.token: str | None = None
        self.role: Role | None = None
        self._fleet = fleet
        self._reports = reports
        self._notifier = notifier
        self._cameras = cameras
        self._stats = stats
        # Shared by every session: a robot that reconnects keeps its window.
        self._rates = rates
        peer = writer.get_extra_info("peername")
        self.peer = peer[0] if peer else "?"
        self.log = PrefixedLog(log, f"tcp#{next(_ids)} {self.peer}")

    # ---- the Link the fleet drives ----

    def command(self, command_id: str, name: Command, fields: dict[str, Any]) -> None:
        self.protocol.command(command_id, name, fields)
        self.flush()

    def end(self, reason: str) -> None:
        """Close from our side, after the protocol's last words; the read loop then sees EOF."""
        self.protocol.end(reason)
        self.flush()
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        """Drop a robot that reads nothing, under itself."""
        self.writer.transport.abort()

    def flush(self) -> None:
        data = self.protocol.data_to_send()
        if not data or self.writer.is_closing():
            return
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.end("not reading")

    # ---- the read loop ----

    async def run(self) -> None:
        self.log.info("open")
        protocol, loop = self.protocol, asyncio.get_running_loop()
        try:
            while protocol.ended is None:
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    break
                for item in protocol.receive(data, loop.time()):
                    if protocol.ended is not None:
                        break
                    await self._handle(item)
                    self.flush()
                self.flush()  # what ending there said (too much before hello)
        except ConnectionError as err:
            self.log.debug("connection error: %s", err)
        finally:
            reason = protocol.ended or "lost"
            if protocol.robot_id is not None:
                await self._fleet.disconnect(protocol.robot_id, self, reason)
            self.writer.close()
            self.log.info("closed (%s)", reason)

    async def _handle(self, item: bytes | LineTooLong) -> None:
        protocol = self.protocol
        try:
            message = protocol.parse(item)
        except wire.ProtocolError as err:
            self._stats.tcp_errors[err.code] += 1
            protocol.refuse(err)
            return
        self._stats.tcp_lines[message.type] += 1
        if self._over_rate(message):
            self._stats.tcp_errors[Code.RATE_LIMITED] += 1
            protocol.rate_limited(message, self._rates.limit)
            return
        try:
            if isinstance(message, wire.Hello):
                await self._hello(message)
            else:
                await self._carry_out(message)
        except wire.ProtocolError as err:
            self._stats.tcp_errors[err.code] += 1
            protocol.refuse(err)
        except Forbidden as err:  # the domain's refusal, said in the protocol's words
            self._stats.tcp_errors[Code.FORBIDDEN] += 1
            protocol.refuse(wire.ProtocolError(Code.FORBIDDEN, str(err), message.id))
        except (Conflict, Invalid, NotFound) as err:  # a line the rules refuse: it alone
            self._stats.tcp_errors[Code.VALIDATION_ERROR] += 1
            protocol.refuse(wire.ProtocolError(Code.VALIDATION_ERROR, str(err), message.id))
        except StorageUnavailable as err:
            self._stats.tcp_errors[Code.UNAVAILABLE] += 1
            protocol.unavailable(message, str(err))
        else:
            protocol.done(message)

    def _over_rate(self, message: wire.Message) -> bool:
        """Whether this event, log or result is one over the robot's lines a minute; an
        integration (admin) session speaks for no robot and is not limited."""
        robot_id = self.protocol.robot_id
        if robot_id is None or not isinstance(message, RATED):
            return False
        return not self._rates.allow(robot_id, asyncio.get_running_loop().time())

    async def _hello(self, hello: wire.Hello) -> None:
        grant = self._tokens.use(hello.token)
        robot_id = hello.robot_id
        if grant is None or grant.role not in ROBOT_SESSION_ROLES:
            self._refuse_hello(hello, "unknown token or role")
            return
        if grant.role is Role.ROBOT and not robot_id:
            raise wire.ProtocolError(Code.VALIDATION_ERROR, "robot_id: required for a robot",
                                     hello.id)
        if robot_id and not self._tokens.may_speak_as(grant, robot_id):
            self._refuse_hello(hello, "this token does not speak for that robot_id")
            return
        fleet = self._fleet
        if robot_id and not fleet.knows(robot_id) and fleet.count() >= self._max_robots:
            raise wire.ProtocolError(
                Code.FORBIDDEN, f"the server already knows {self._max_robots} robots"
                " (tcp.max_robots): a new robot_id is refused", hello.id)
        self.token, self.role = hello.token, grant.role
        self.protocol.greet(robot_id)
        if robot_id:
            self.log.prefix = f"{self.log.prefix} {robot_id}"
            await fleet.connect(robot_id, hello.name, hello.model, self, hello.claim())

    def _refuse_hello(self, hello: wire.Hello, detail: str) -> None:
        self._refusals.refused(self.peer, hello.token, "robot hello")
        self.protocol.unauthorized(hello, detail)
        self.end("unauthorized")

    async def _carry_out(self, message: wire.Message) -> None:
        """Carry out one message on the domain; when it returns, its effect is committed."""
        robot_id = self.protocol.robot_id
        if robot_id is not None:
            self._fleet.touch(robot_id)
        match message:
            case wire.State():
                assert robot_id is not None  # the protocol refuses state before a robot_id
                await self._fleet.apply_state(robot_id, message.changes())
                if message.id is not None:
                    await self._fleet.commit(robot_id)
            case wire.RobotEvent():
                await self._reports.event(
                    robot_id, message.event, severity=message.severity, message=message.message,
                    data=message.data, order_id=message.order_id, table_id=message.table_id,
                    task_id=message.task_id)
            case wire.Log():
                await self._reports.log(robot_id, message.level, message.message)
            case wire.CommandResult():
                await self._reports.command_result(robot_id, message.command_id, message.status,
                                                   message.detail)
            case wire.Notify():
                if self.role is not Role.ADMIN:
                    raise Forbidden("notify: for integration (admin token) sessions only")
                await self._notifier.notify(message.entity, message.entity_id)
            case wire.Video():
                assert robot_id is not None  # the protocol refuses video before a robot_id
                await self._cameras.announce(robot_id, message.name, message.url,
                                             message.status)
            case wire.Bye():
                self.end("bye")
            case wire.Heartbeat():
                pass

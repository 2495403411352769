"""The robot session's state machine (docs/protocol.md, "Robot TCP protocol"), sans I/O: bytes and
clock in, messages to carry out and lines to send out. Tested without sockets; robots/session.py
is the thin asyncio adapter around it."""

from __future__ import annotations

from typing import Final

from ..core.codes import Code
from ..wire import robot as wire
from ..wire.framing import LineFramer, LineTooLong

HELLO_TIMEOUT_S: Final = 10.0
# The most a connection may send before its hello is welcomed (SPEC §4): a stranger's bytes
# cost at most this much each, and at most tcp.max_pending strangers are held at once.
PRE_HELLO_BYTES: Final = 4096
MAX_BAD_LINES: Final = 100
SILENT_HEARTBEATS: Final = 3


class RobotProtocol:
    """One connection from its first byte to its end: hello first, then messages.

    The adapter feeds it bytes (`receive`), carries out each message it hands back, and tells
    it how that went (`done`, `refuse`, `unavailable`); it owns the rules: hello first, an ack
    only once the effect is committed, 100 bad lines in a row end the session, silence too.
    """

    def __init__(self, max_line_bytes: int, heartbeat_s: float, now: float) -> None:
        self.heartbeat_s = heartbeat_s
        self._framer = LineFramer(max_line_bytes)
        self.robot_id: str | None = None
        self.greeted = False
        self.received_before_hello = 0
        self.bad_in_row = 0
        # Why the session ended (bye, replaced, silent, …), once it has.
        self.ended: str | None = None
        self.opened_at = self.last_heard = now
        self._out: list[bytes] = []

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished line (bounded by max_line_bytes)."""
        return self._framer.buffered

    # ---- input ----

    def receive(self, data: bytes, now: float) -> list[bytes | LineTooLong]:
        """Bytes from the socket: any of them is a sign of life. Returns the framed lines;
        none once the connection sent more than PRE_HELLO_BYTES before its welcome (it ends)."""
        self.last_heard = now
        if not self.greeted:
            self.received_before_hello += len(data)
            if self.received_before_hello > PRE_HELLO_BYTES:
                self.end("too much before hello")
                return []
        return self._framer.feed(data)

    def parse(self, item: bytes | LineTooLong) -> wire.Message:
        """One framed line as the message to carry out, or ProtocolError for `refuse`."""
        if isinstance(item, LineTooLong):
            raise wire.ProtocolError(Code.LINE_TOO_LONG, f"line over {item.limit} bytes dropped")
        message = wire.parse(item)
        if not self.greeted and not isinstance(message, wire.Hello):
            raise wire.ProtocolError(Code.NOT_HELLO, "say hello first", message.id)
        if self.greeted and isinstance(message, wire.Hello):
            raise wire.ProtocolError(Code.VALIDATION_ERROR, "hello: already said", message.id)
        # An integration peer speaks for no robot: it has no state, and no camera of its own.
        if self.robot_id is None and isinstance(message, wire.State | wire.Video):
            raise wire.ProtocolError(Code.VALIDATION_ERROR,
                                     f"{message.type}: say hello with a robot_id first",
                                     message.id)
        return message

    # ---- outcomes ----

    def greet(self, robot_id: str | None) -> None:
        """The hello was accepted: from now on messages are carried out."""
        self.greeted = True
        self.robot_id = robot_id
        self._out.append(wire.welcome(robot_id, self.heartbeat_s))

    def unauthorized(self, hello: wire.Hello, detail: str) -> None:
        """The hello's token grants no robot session (or not as this robot): say so and end."""
        self._out.append(wire.error(Code.UNAUTHORIZED, detail, hello.id))
        self.end("unauthorized")

    def done(self, message: wire.Message) -> None:
        """The message's effect is committed and visible: ack it if it asked."""
        self.bad_in_row = 0
        if message.id is not None and self.ended is None:
            self._out.append(wire.ack(message.id))

    def refuse(self, err: wire.ProtocolError) -> None:
        """A bad line costs only itself, unless it is the 100th in a row."""
        self._out.append(wire.error(err.code, err.detail, err.message_id))
        self.bad_in_row += 1
        if self.bad_in_row >= MAX_BAD_LINES:
            self.end(f"{MAX_BAD_LINES} bad lines in a row")

    def rate_limited(self, message: wire.Message, limit: int) -> None:
        """Over the robot's lines a minute: refused, but not a bad line (the robot is not
        broken, only busy), so the connection stays."""
        self._out.append(wire.error(
            Code.RATE_LIMITED, f"{message.type}: more than {limit} events and logs in 60 s"
            " (tcp.max_lines_per_min)", message.id))

    def unavailable(self, message: wire.Message, detail: str) -> None:
        """The store could not take it: not the robot's fault, so not a bad line, and no ack."""
        self._out.append(wire.error(Code.UNAVAILABLE, detail, message.id))

    def command(self, command_id: str, name: str, fields: dict[str, object]) -> None:
        self._out.append(wire.command(command_id, name, fields))

    # ---- the end ----

    def end(self, reason: str) -> None:
        """End the session; the robot is told why where the protocol says it is."""
        if self.ended is not None:
            return
        self.ended = reason
        final = {
            "replaced": wire.error(Code.REPLACED, "another connection took over this robot_id"),
            "no hello": wire.error(Code.NOT_HELLO, f"no hello within {HELLO_TIMEOUT_S:g} s"),
            "shutdown": wire.SHUTDOWN,
            "revoked": wire.error(Code.UNAUTHORIZED, "this session's token was revoked"),
            "too much before hello": wire.error(
                Code.LINE_TOO_LONG, f"more than {PRE_HELLO_BYTES} bytes before the welcome"),
        }.get(reason)
        if final is not None:
            self._out.append(final)

    def overdue(self, now: float) -> str | None:
        """Why the session should end now for want of a hello or of any line, if it should."""
        if not self.greeted and now - self.opened_at > HELLO_TIMEOUT_S:
            return "no hello"
        if self.greeted and now - self.last_heard > SILENT_HEARTBEATS * self.heartbeat_s:
            return "silent"
        return None

    def data_to_send(self) -> bytes:
        """Everything queued for the robot since the last call."""
        if not self._out:  # the common case, once per line: nothing to say
            return b""
        out, self._out = b"".join(self._out), []
        return out

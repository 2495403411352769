"""The robot TCP protocol (docs/protocol.md, "Robot TCP protocol") on the wire: a pydantic model per
inbound line, and every outbound line."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

import orjson
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, Strict, TypeAdapter,
                      ValidationError, field_validator, model_validator)

from ..core.codes import Code
from ..core.events import EVENT_TYPE_PATTERN, fold
from ..core.models import LogLevel, RobotStatus, Severity, StreamStatus, utcnow
from ..core.numbers import Int, Number
from ..core.streams import StreamUrl
from ..core.tasks import TaskClaim
from ..core.text import NoteText, PlainText
from ..core.tokens import ROBOT_ID_PATTERN
from .validation import first_problem

# Strict: `true` is not the id 1, and 1.0 is not an integer id; a string id is robot-written
# text like any other (it comes back in command_result records and error lines).
MessageId = Annotated[PlainText, Strict()] | Annotated[int, Strict()]
# SQLite stores integers in 64 signed bits; a larger id names no row and must not reach SQL,
# where the driver raises OverflowError (which would end the session, and poison the robot's
# record so that every later write of it fails too).
SQLITE_MAX_INT: Final = 2**63 - 1
RowId = Annotated[Int, Field(ge=-SQLITE_MAX_INT - 1, le=SQLITE_MAX_INT)]
# An event's free-form data is stored and broadcast inside other JSON; orjson refuses to write
# more than 254 levels, so deeper data would fail after parsing (and end the session).
MAX_DATA_DEPTH: Final = 32
# What one line may write into events or systemlogs (SPEC §4): with tcp.max_lines_per_min and
# retention's byte budgets, what robots can store is bounded in bytes, not only in lines.
MAX_TEXT_CHARS: Final = 1000
MAX_DATA_BYTES: Final = 8192  # an event's data, as JSON
MAX_LOG_BYTES: Final = 8192  # a log's message, as UTF-8
# Robot-written text: the staff's one-line rule (core/text.py), at most MAX_TEXT_CHARS.
RobotText = Annotated[PlainText, Field(max_length=MAX_TEXT_CHARS)]
# Text first: a bad string's error names its character, not "should be a valid integer".
CommandId = Annotated[PlainText, Strict(), Field(max_length=MAX_TEXT_CHARS)] | Annotated[
    int, Strict()]


def _depth(value: Any) -> int:
    """How many arrays and objects deep `value` nests, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


# orjson before 3.9.15 has no depth limit and overflows the C stack on ~50,000 nested objects
# (CVE-2024-27454): a segfault of the whole server. A 64 KiB line cannot nest that deep, but
# max_line_bytes is a setting, so lines nesting past what any JSON parser allows are refused first.
MAX_JSON_DEPTH: Final = 1024
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def too_deep(text: bytes) -> bool:
    """True if the JSON in `text` nests arrays and objects more than MAX_JSON_DEPTH deep."""
    if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", text)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: MessageId | None = None


class Hello(Inbound):
    type: Literal["hello"]
    token: str
    robot_id: str | None = Field(None, pattern=ROBOT_ID_PATTERN)
    name: PlainText | None = Field(None, max_length=100)
    model: PlainText | None = Field(None, max_length=100)
    # The task the robot still carries out after a reconnect, or null for none; left out, it
    # says nothing either way (SPEC §4).
    task_id: Annotated[RowId, Strict()] | None = None

    def claim(self) -> TaskClaim | None:
        """What the hello says of the robot's task; None when it says nothing."""
        return TaskClaim(self.task_id) if "task_id" in self.model_fields_set else None


class PoseIn(BaseModel):
    """Where a robot says it is (core.models.Pose as the robot writes it)."""

    model_config = ConfigDict(extra="forbid")

    x: Number
    y: Number
    yaw: Number = 0.0
    map: PlainText = "floor"


class IssueIn(BaseModel):
    """A problem a robot reports (core.models.RobotIssue as the robot writes it)."""

    model_config = ConfigDict(extra="forbid")

    category: PlainText
    detail: PlainText = ""


class State(Inbound):
    type: Literal["state"]
    status: RobotStatus | None = None
    battery: Number | None = Field(None, ge=0, le=100)
    pose: PoseIn | None = None
    order_id: RowId | None = None
    table_id: RowId | None = None
    issues: list[IssueIn] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields this line set, as plain topic values (by hand: model_dump is the hot spot)."""
        changes: dict[str, Any] = {}
        for field in STATE_FIELDS & self.model_fields_set:
            value = getattr(self, field)
            if field == "pose":
                value = value and {"x": value.x, "y": value.y, "yaw": value.yaw, "map": value.map}
            elif field == "issues":
                value = [{"category": i.category, "detail": i.detail} for i in value or ()]
            elif field == "status":
                if value is None:
                    continue  # a robot always has a status; null changes nothing
                value = value.value
            changes[field] = value
        return changes


STATE_FIELDS: Final = frozenset({"status", "battery", "pose", "order_id", "table_id", "issues"})


class RobotEvent(Inbound):
    type: Literal["event"]
    # Folded before the check, so that no spelling of a server-owned type slips past it.
    event: Annotated[str, BeforeValidator(fold)] = Field(pattern=EVENT_TYPE_PATTERN)
    severity: Severity = Severity.INFO
    message: RobotText = ""
    data: dict[str, Any] = {}
    order_id: RowId | None = None
    table_id: RowId | None = None
    task_id: RowId | None = None

    @field_validator("data")
    @classmethod
    def _shallow(cls, data: dict[str, Any]) -> dict[str, Any]:
        if _depth(data) > MAX_DATA_DEPTH:
            raise ValueError(f"nested more than {MAX_DATA_DEPTH} levels deep")
        if len(orjson.dumps(data)) > MAX_DATA_BYTES:
            raise ValueError(f"more than {MAX_DATA_BYTES} bytes as JSON")
        return data


class Log(Inbound):
    type: Literal["log"]
    level: LogLevel
    message: NoteText

    @field_validator("message")
    @classmethod
    def _bounded(cls, message: str) -> str:
        # Cheap first: a character is at most 4 bytes of UTF-8.
        if len(message) * 4 > MAX_LOG_BYTES and len(message.encode()) > MAX_LOG_BYTES:
            raise ValueError(f"more than {MAX_LOG_BYTES} bytes as UTF-8")
        return message


class Heartbeat(Inbound):
    type: Literal["heartbeat"]


class CommandResult(Inbound):
    type: Literal["command_result"]
    command_id: CommandId
    status: Literal["accepted", "rejected", "done", "failed"]
    detail: RobotText = ""


class Notify(Inbound):
    type: Literal["notify"]
    entity: Literal["robot", "table", "order", "customer", "inventory", "video_stream"]
    entity_id: RowId | str | None = None

    @model_validator(mode="after")
    def _row_id(self) -> Notify:
        """A digit string names a row by number (robots aside): it must be one SQLite can hold."""
        key = self.entity_id
        if self.entity != "robot" and isinstance(key, str) and key.isdigit():
            if not key.isascii() or int(key) > SQLITE_MAX_INT:
                raise ValueError(f"entity_id {key!r} names no row")
        return self


class Video(Inbound):
    """The robot's camera of that name streams at `url` (SPEC §13 "Cameras")."""

    type: Literal["video"]
    url: StreamUrl
    name: PlainText = Field("camera", min_length=1, max_length=64)
    status: StreamStatus = StreamStatus.ACTIVE


class Bye(Inbound):
    type: Literal["bye"]


Message = Hello | State | RobotEvent | Log | Heartbeat | CommandResult | Notify | Video | Bye
_message: TypeAdapter[Message] = TypeAdapter(Annotated[Message, Field(discriminator="type")])
TYPES = frozenset({"hello", "state", "event", "log", "heartbeat", "command_result", "notify",
                   "video", "bye"})


class ProtocolError(Exception):
    """A line that cannot be used; becomes an error line with this code."""

    def __init__(self, code: Code, detail: str, message_id: MessageId | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.message_id = message_id


def parse(line: bytes) -> Message:
    """One framed line to a validated message, or ProtocolError with its error code."""
    if too_deep(line):
        raise ProtocolError(Code.INVALID_JSON, f"not JSON: nested more than {MAX_JSON_DEPTH} deep")
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise ProtocolError(Code.INVALID_JSON, f"not JSON: {err}") from err
    if not isinstance(raw, dict):
        raise ProtocolError(Code.VALIDATION_ERROR, "a message must be a JSON object")
    raw_id = raw.get("id")
    message_id = raw_id if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) else None
    kind = raw.get("type")
    if not isinstance(kind, str):  # a list or object: unhashable, and maybe too deep to repr
        raise ProtocolError(Code.UNKNOWN_TYPE, f"type must be a string, not {type(kind).__name__}",
                            message_id)
    if kind not in TYPES:
        raise ProtocolError(Code.UNKNOWN_TYPE, f"unknown type {kind[:64]!r}", message_id)
    try:
        return _message.validate_python(raw)
    except ValidationError as err:
        # The first location part is the union's tag (the type), which the robot knows.
        raise ProtocolError(Code.VALIDATION_ERROR, str(first_problem(err, skip=1)),
                            message_id) from err


def _line(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message) + b"\n"


def welcome(robot_id: str | None, heartbeat_s: float) -> bytes:
    return _line({"type": "welcome", "robot_id": robot_id, "heartbeat_s": heartbeat_s,
                  "server_time": utcnow()})


def ack(message_id: MessageId) -> bytes:
    return _line({"type": "ack", "id": message_id})


def error(code: Code, detail: str, message_id: MessageId | None = None) -> bytes:
    message: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if message_id is not None:
        message["id"] = message_id
    return _line(message)


# A command's places: present, null or not, for the kinds that have them.
PLACE_KEYS: Final = frozenset({"to", "from"})


def command(command_id: str, name: str, fields: dict[str, Any]) -> bytes:
    """A command line; fields that are None are left out, but a `to` or `from`, whose null
    says its place is not set (SPEC §4)."""
    message: dict[str, Any] = {"type": "command", "id": command_id, "command": name}
    message.update((key, value) for key, value in fields.items()
                   if value is not None or key in PLACE_KEYS)
    return _line(message)


SHUTDOWN = _line({"type": "shutdown"})

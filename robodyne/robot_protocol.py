"""SPEC §4 on the wire: a pydantic model per inbound line, and every outbound line."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .models import LogLevel, Pose, RobotIssue, RobotStatus, Severity, utcnow

MessageId = int | str


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: MessageId | None = None


class Hello(Inbound):
    type: Literal["hello"]
    token: str
    robot_id: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)


class State(Inbound):
    type: Literal["state"]
    status: RobotStatus | None = None
    battery: float | None = Field(None, ge=0, le=100)
    pose: Pose | None = None
    order_id: int | None = None
    table_id: int | None = None
    issues: list[RobotIssue] | None = None


class RobotEvent(Inbound):
    type: Literal["event"]
    event: str = Field(min_length=1, max_length=64)
    severity: Severity = Severity.INFO
    message: str = Field("", max_length=2000)
    data: dict[str, Any] = {}
    order_id: int | None = None
    table_id: int | None = None


class Log(Inbound):
    type: Literal["log"]
    level: LogLevel
    message: str = Field(max_length=8000)


class Heartbeat(Inbound):
    type: Literal["heartbeat"]


class CommandResult(Inbound):
    type: Literal["command_result"]
    command_id: MessageId
    status: Literal["accepted", "rejected", "done", "failed"]
    detail: str = Field("", max_length=2000)


class Notify(Inbound):
    type: Literal["notify"]
    entity: Literal["robot", "table", "order", "customer", "inventory", "video_stream"]
    entity_id: int | str | None = None


class Bye(Inbound):
    type: Literal["bye"]


Message = Hello | State | RobotEvent | Log | Heartbeat | CommandResult | Notify | Bye
_message = TypeAdapter(Annotated[Message, Field(discriminator="type")])
TYPES = frozenset({"hello", "state", "event", "log", "heartbeat", "command_result", "notify", "bye"})

COMMANDS = ("go_to", "deliver", "return", "charge", "pause", "resume", "cancel")


class ProtocolError(Exception):
    """A line that cannot be used; becomes an error line with this code."""

    def __init__(self, code: str, detail: str, message_id: MessageId | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.message_id = message_id


def parse(line: bytes) -> Message:
    """One framed line to a validated message, or ProtocolError with the SPEC's code."""
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise ProtocolError("invalid_json", f"not JSON: {err}") from err
    if not isinstance(raw, dict):
        raise ProtocolError("validation_error", "a message must be a JSON object")
    message_id = raw.get("id") if isinstance(raw.get("id"), int | str) else None
    kind = raw.get("type")
    if kind not in TYPES:
        raise ProtocolError("unknown_type", f"unknown type {kind!r}", message_id)
    try:
        return _message.validate_python(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "message"
        raise ProtocolError("validation_error", f"{where}: {first['msg']}", message_id) from err


def _line(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message) + b"\n"


def welcome(robot_id: str | None, heartbeat_s: float) -> bytes:
    return _line({"type": "welcome", "robot_id": robot_id, "heartbeat_s": heartbeat_s,
                  "server_time": utcnow()})


def ack(message_id: MessageId) -> bytes:
    return _line({"type": "ack", "id": message_id})


def error(code: str, detail: str, message_id: MessageId | None = None) -> bytes:
    message: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if message_id is not None:
        message["id"] = message_id
    return _line(message)


def command(command_id: str, name: str, table_id: int | None, order_id: int | None) -> bytes:
    message: dict[str, Any] = {"type": "command", "id": command_id, "command": name}
    if table_id is not None:
        message["table_id"] = table_id
    if order_id is not None:
        message["order_id"] = order_id
    return _line(message)


SHUTDOWN = _line({"type": "shutdown"})

"""WebSocket frames (docs/protocol.md, "Frames" to "Shutdown"): every one the server sends, built
and serialised here once; the one model of what a client may send; the close codes."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ValidationError

from ..core.codes import Code
from .validation import first_problem

Kind = Literal["snapshot", "upsert", "delete", "append"]


class Close(IntEnum):
    """The WebSocket close codes of docs/protocol.md, "Close codes at a glance"."""

    GOING_AWAY = 1001
    UNSUPPORTED = 1003
    POLICY = 1008
    TOO_BIG = 1009
    PONG_TIMEOUT = 4000
    SLOW = 4008
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403


# RFC 6455 §5.5: a control frame's payload is at most 125 bytes, and a close frame's begins with
# its 2-byte code. A longer reason makes the frame itself invalid (the peer sees 1002, not ours).
MAX_CLOSE_REASON_BYTES: Final = 123


def close_reason(reason: str) -> bytes:
    """The reason of a close frame: UTF-8, cut to 123 bytes on a character boundary."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return encoded
    return encoded[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore").encode()


class ClientMessage(BaseModel):
    """The only frames a client may send: ping and pong (docs/protocol.md, "Liveness")."""

    type: Literal["ping", "pong"]
    topic: str | None = None
    data: Any = None


class BadFrame(Exception):
    """A client frame that cannot be used; answered with an error frame of this code."""

    def __init__(self, code: Literal[Code.INVALID_JSON, Code.BAD_MESSAGE], detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_client(text: str) -> ClientMessage:
    """A client's text frame as a ClientMessage, or BadFrame naming what is wrong."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise BadFrame(Code.INVALID_JSON, str(err)) from err
    try:
        return ClientMessage.model_validate(parsed)
    except ValidationError as err:
        raise BadFrame(Code.BAD_MESSAGE, str(first_problem(err))) from err


def _dump(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message)


def update(topic: str, seq: int, kind: Kind, items: list[dict[str, Any]],
           ids: list[Any] | None = None, epoch: str | None = None) -> bytes:
    data: dict[str, Any] = {"kind": kind, "items": items}
    if ids is not None:
        data["ids"] = ids
    if epoch is not None:
        data["epoch"] = epoch
    return _dump({"type": "update", "topic": topic, "seq": seq, "data": data})


def error(topic: str, code: Code, detail: str) -> bytes:
    return _dump({"type": "error", "topic": topic, "data": {"code": code, "detail": detail}})


def ping(topic: str, timestamp: float) -> bytes:
    return _dump({"type": "ping", "topic": topic, "data": {"timestamp": timestamp}})


def pong(topic: str, data: Any) -> bytes:
    return _dump({"type": "pong", "topic": topic, "data": data})


def shutdown(topic: str, reconnect_after_ms: int) -> bytes:
    return _dump({
        "type": "shutdown",
        "topic": topic,
        "data": {"reason": "Server is shutting down", "reconnect_after_ms": reconnect_after_ms},
    })

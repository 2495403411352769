"""Every WebSocket frame the server sends is built and serialised here, once."""

from __future__ import annotations

from typing import Any, Literal

import orjson

Kind = Literal["snapshot", "upsert", "delete", "append"]


def _dump(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message)


def update(topic: str, seq: int, kind: Kind, items: list[dict[str, Any]], ids: list[Any] | None = None,
           epoch: str | None = None) -> bytes:
    data: dict[str, Any] = {"kind": kind, "items": items}
    if ids is not None:
        data["ids"] = ids
    if epoch is not None:
        data["epoch"] = epoch
    return _dump({"type": "update", "topic": topic, "seq": seq, "data": data})


def error(topic: str, code: str, detail: str) -> bytes:
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

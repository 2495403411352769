"""What a client holds of a topic: the snapshot plus every update applied in seq order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TopicMirror:
    """A topic's items as web/js/client.js keeps them, and the last seq it applied."""

    def __init__(self, topic: str) -> None:
        # The status topic's one item has no id (docs/api.md, "The order state machine").
        self.key: Callable[[dict[str, Any]], Any] = (
            (lambda item: "status") if topic == "status" else (lambda item: item["id"]))
        self.items: dict[Any, dict[str, Any]] = {}
        # The last seq applied; None before the first snapshot.
        self.seq: int | None = None
        self.epoch: str | None = None

    def apply(self, message: dict[str, Any]) -> str | None:
        """Apply one update; a description of the problem when it does not follow on."""
        data = message["data"]
        if data["kind"] == "snapshot":
            self.items = {self.key(item): item for item in data["items"]}
            self.epoch = data["epoch"]
        else:
            if self.seq is None or message["seq"] != self.seq + 1:
                return f"gap: seq {message['seq']} after {self.seq}"
            if data["kind"] in ("upsert", "append"):
                self.items.update({self.key(item): item for item in data["items"]})
            elif data["kind"] == "delete":
                for item_id in data["ids"]:
                    self.items.pop(item_id, None)
        self.seq = message["seq"]
        return None

"""The event types the server raises by itself (docs/protocol.md, "Events"): no robot may
raise one of them, or it could forge an order served or a storage failure in the journal."""

from __future__ import annotations

from typing import Final

SERVER_EVENTS: Final = frozenset({
    "order_placed", "order_ready", "order_served",
    "robot_connected", "robot_disconnected", "robot_offline", "robot_error", "low_battery",
    "inventory_low", "inventory_out", "task_failed", "menu_item_unavailable", "backup_failed",
    # A dish sold out (core/stock.py) that the stock covers again.
    "menu_item_available",
    # A robot's command_result message is recorded under this type; as an event it would be
    # a result for a command nobody sent.
    "command_result",
    # An admin gave a table a new link (domain/links.py): the old QR code opens nothing.
    "table_link_rotated",
})
SERVER_EVENT_PREFIXES: Final = ("storage_",)
# What an event type may be once folded (SPEC §4): a robot's `Storage_Failed` is storage_failed.
EVENT_TYPE_PATTERN: Final = r"^[a-z0-9_.-]{1,64}$"
# What the day's report counts as stock events: running low, running out, a dish 86'd.
STOCK_EVENTS: Final = frozenset({"inventory_low", "inventory_out", "menu_item_unavailable"})


def fold(event_type: object) -> object:
    """An event type as it is compared and stored: in lower case (anything else as it is)."""
    return event_type.lower() if isinstance(event_type, str) else event_type


def server_owned(event_type: str) -> bool:
    """Whether only the server may raise this type, in any case."""
    folded = event_type.lower()
    return folded in SERVER_EVENTS or folded.startswith(SERVER_EVENT_PREFIXES)

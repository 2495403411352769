"""Re-read entities another program wrote to the database, and broadcast them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .fleet import Fleet
from .hub import Hub
from .models import Item
from .storage import Store

ENTITY_TOPICS = {"table": "tables", "order": "orders", "customer": "customers",
                 "inventory": "inventory", "video_stream": "video_streams"}


class Notifier:
    """The notify line of SPEC §4, for programs that write the database directly."""

    def __init__(self, store: Store, hub: Hub, fleet: Fleet) -> None:
        self._store = store
        self._hub = hub
        self._fleet = fleet

    async def notify(self, entity: str, entity_id: int | str | None) -> None:
        if entity == "robot":
            await self._fleet.reload(None if entity_id is None else str(entity_id))
            return
        topic = ENTITY_TOPICS[entity]
        if entity_id is None:
            items = await self._store.state(topic)
            self._hub.publish(topic, "snapshot", [item.model_dump(mode="json") for item in items])
            return
        readers: dict[str, Callable[[int], Awaitable[Item | None]]] = {
            "tables": self._store.table, "orders": self._store.order,
            "customers": self._store.customer, "inventory": self._store.inventory_item,
            "video_streams": self._store.video_stream,
        }
        key: Any = int(entity_id) if str(entity_id).isdigit() else entity_id
        found = await readers[topic](key) if isinstance(key, int) else None
        if found is None:
            self._hub.publish(topic, "delete", [], ids=[key])
        else:
            self._hub.publish(topic, "upsert", [found.model_dump(mode="json")])

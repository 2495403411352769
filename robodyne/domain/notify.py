"""Re-read entities another program wrote to the database, and broadcast them."""

from __future__ import annotations

from typing import Final

from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store
from .fleet import Fleet

ENTITY_TOPICS: Final = {"table": Topic.TABLES, "order": Topic.ORDERS,
                        "customer": Topic.CUSTOMERS, "inventory": Topic.INVENTORY,
                        "video_stream": Topic.VIDEO_STREAMS}


class Notifier:
    """The notify line (docs/protocol.md, "Robot TCP protocol"), for programs that write the
    database directly."""

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
        key = int(entity_id) if str(entity_id).isdigit() else entity_id
        found = await self._store.one(topic, key) if isinstance(key, int) else None
        if found is None:
            self._hub.publish(topic, "delete", [], ids=[key])
        else:
            self._hub.publish(topic, "upsert", [found.model_dump(mode="json")])

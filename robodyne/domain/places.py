"""The floor's named places (SPEC §13): set by the owner, published on the places topic, and
read where commands are made (a return's dock, an escort's host stand)."""

from __future__ import annotations

from ..core.floor import Point
from ..core.models import Place, PlaceName
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store


class Places:
    """Where the dock, the pass and the host stand are: committed, then published."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self._store = store
        self._hub = hub

    async def put(self, name: PlaceName, x: float, y: float) -> Place:
        place = await self._store.places.put(name, x, y)
        self._hub.publish(Topic.PLACES, "upsert", [place.model_dump(mode="json")])
        return place

    def positions(self) -> dict[PlaceName, Point]:
        """Every place set, as the places topic has it (one another program wrote too, once
        fallback polling republished it)."""
        items, _ = self._hub.snapshot(Topic.PLACES)
        return {PlaceName(item["name"]): (float(item["x"]), float(item["y"])) for item in items}

"""The menu (docs/api.md, "Menu"): its dishes, which station cooks each, and "86" — a dish
the kitchen has run out of, which no new order may name."""

from __future__ import annotations

from ..core.errors import ConstraintFailed, Conflict, Invalid, NotFound
from ..core.models import MenuChanges, MenuItem, OrderItem, Severity
from ..core.topics import Topic
from ..live.hub import Hub
from ..settings import KitchenSettings
from ..store.store import Store
from .journal import Journal


class Menu:
    """Dishes committed, then published on menu; an order's items routed to their stations."""

    def __init__(self, store: Store, hub: Hub, journal: Journal,
                 kitchen: KitchenSettings) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._kitchen = kitchen

    def _station(self, station: str | None) -> None:
        if station is not None and station not in self._kitchen.stations:
            raise Invalid(f"station: {station!r} is not one of the kitchen's stations"
                          f" {self._kitchen.stations}")

    async def route(self, items: list[OrderItem]) -> list[OrderItem]:
        """Each item with the station that cooks it: its dish's (by name, any case), else the
        default station. A dish that is not available refuses the whole order."""
        routed = []
        for item in items:
            dish = await self._store.menu_item_named(item.name)
            if dish is not None and not dish.available:
                raise Conflict(f"{dish.name} is not available (86)")
            station = dish.station if dish is not None and dish.station else None
            routed.append(item.model_copy(
                update={"station": station or self._kitchen.default_station}))
        return routed

    async def add(self, name: str, category: str, station: str | None,
                  prep_target_s: float | None, available: bool) -> MenuItem:
        self._station(station)
        try:
            dish = await self._store.add_menu_item(name, category, station, prep_target_s,
                                                   available)
        except ConstraintFailed as err:
            raise Conflict(f"the menu already has {name!r}") from err
        self._hub.publish(Topic.MENU, "upsert", [dish.model_dump(mode="json")])
        return dish

    async def change(self, item_id: int, changes: MenuChanges) -> MenuItem:
        """Change a dish; taking it off ("86") raises menu_item_unavailable."""
        self._station(changes.get("station"))
        before = await self._store.menu_item(item_id)
        if before is None:
            raise NotFound(f"menu item {item_id} not found")
        try:
            dish = await self._store.update_menu_item(item_id, changes)
        except ConstraintFailed as err:
            raise Conflict(f"the menu already has {changes.get('name')!r}") from err
        if dish is None:
            raise NotFound(f"menu item {item_id} not found")
        self._hub.publish(Topic.MENU, "upsert", [dish.model_dump(mode="json")])
        if before.available and not dish.available:
            await self._journal.event(
                "menu_item_unavailable", severity=Severity.WARNING,
                message=f"{dish.name} is 86: no more orders for it",
                data={"menu_item_id": dish.id, "name": dish.name, "station": dish.station})
        return dish

    async def remove(self, item_id: int) -> None:
        if not await self._store.delete_menu_item(item_id):
            raise NotFound(f"menu item {item_id} not found")
        self._hub.publish(Topic.MENU, "delete", [], ids=[item_id])

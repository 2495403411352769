"""Stock (SPEC §13, docs/api.md "Stock"): inventory lines and their moves, dishes' recipes,
and what a change of either shows. After each change the lines and dishes it touched — only
those — are republished where they changed, and low, out, sold out and back raised once per
crossing. An order's own take and give-back are written with the order (domain/restaurant.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from ..core.errors import ConstraintFailed, Conflict, Invalid, NotFound
from ..core.models import (
    InventoryChanges,
    InventoryItem,
    MenuItem,
    Severity,
    StockStatus,
    stock_status,
)
from ..core.stock import (
    MOVES_LISTED,
    Ingredient,
    Move,
    MoveReason,
    Portions,
    Stocked,
    skus,
    taken,
)
from ..core.topics import Topic
from ..live.hub import Hub
from ..store.store import Store
from .journal import Journal
from .menu import Menu


class Stock:
    """Inventory lines, their moves and the dishes' recipes, committed, then shown."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, menu: Menu) -> None:
        self._store = store
        self._hub = hub
        self._journal = journal
        self._menu = menu
        # Each settle reads rows, compares them with what the topics hold, then publishes and
        # raises events with awaits between: two at once could raise one crossing twice.
        self._settling = asyncio.Lock()

    async def add(self, sku: str, name: str, quantity: float, unit: str,
                  low_threshold: float) -> InventoryItem:
        try:
            item = await self._store.stock.add(sku, name, quantity, unit, low_threshold)
        except ConstraintFailed as err:
            raise Conflict(f"sku {sku!r} already exists") from err
        await self.settle([sku])
        return item

    async def change(self, item_id: int, changes: InventoryChanges,
                     delta: float | None = None) -> InventoryItem:
        """A line's name, unit or low threshold changed; a `quantity` or `delta` (PATCH
        /api/inventory/{id}) is moved as a correction."""
        changes = changes.copy()
        quantity = changes.pop("quantity", None)
        if quantity is not None and delta is not None:
            raise Invalid("delta: give quantity or delta, not both")
        if quantity is not None or delta is not None:
            await self._adjusted(item_id, MoveReason.CORRECTION, delta=delta or 0,
                                 counted=quantity)
        item = await self._store.stock.update(item_id, changes)
        if item is None:
            raise NotFound(f"inventory item {item_id} not found")
        await self.settle([item.sku])
        return item

    async def adjust(self, item_id: int, reason: MoveReason, *, delta: float = 0,
                     counted: float | None = None, note: str = "") -> InventoryItem:
        """A staff move (POST /api/inventory/{id}/adjust): the line as it now is."""
        await self._adjusted(item_id, reason, delta=delta, counted=counted, note=note)
        item = await self._store.inventory_item(item_id)
        if item is None:
            raise NotFound(f"inventory item {item_id} not found")
        await self.settle([item.sku])
        return item

    async def _adjusted(self, item_id: int, reason: MoveReason, *, delta: float,
                        counted: float | None, note: str = "") -> None:
        move = await self._store.stock.adjust(item_id, reason, delta=delta, counted=counted,
                                              note=note)
        if move is None:
            raise NotFound(f"inventory item {item_id} not found")

    async def moves(self, item_id: int) -> list[Move]:
        """The line's last MOVES_LISTED moves, newest first."""
        if await self._store.inventory_item(item_id) is None:
            raise NotFound(f"inventory item {item_id} not found")
        return await self._store.stock.moves(item_id, MOVES_LISTED)

    async def set_recipe(self, dish_id: int, recipe: Sequence[Ingredient]) -> MenuItem:
        """What one portion of the dish uses (an empty recipe: nothing, never sold out)."""
        if await self._store.menu_item(dish_id) is None:
            raise NotFound(f"menu item {dish_id} not found")
        skus = [line.sku for line in recipe]
        known = {item.sku for item in await self._store.stock.items(skus)}
        for n, sku in enumerate(skus):
            if sku not in known:
                raise Invalid(f"ingredients.{n}.sku: there is no inventory line {sku!r}")
        dish = await self._store.update_menu_item(dish_id, {"recipe": recipe})
        if dish is None:
            raise NotFound(f"menu item {dish_id} not found")
        async with self._settling:
            await self._dishes([dish])
        return dish

    async def check(self, portions: Sequence[Portions]) -> None:
        """Refuse (SoldOut) an order the stock cannot make as it stands, before anything of it
        (its visit) is written; the order's own transaction decides again, under its lock."""
        used = skus(portions)
        if used:
            taken(portions, {item.sku: Stocked(item.quantity, item.name)
                             for item in await self._store.stock.items(used)})

    async def settle(self, changed: Collection[str]) -> None:
        """After the stock of the `changed` skus moved (committed): those lines, and the dishes
        that use them, republished where they changed; their crossings raised."""
        if not changed:
            return
        ordered = sorted(set(changed))
        async with self._settling:
            for item in await self._store.stock.items(ordered):
                held = self._hub.item(Topic.INVENTORY, item.id)
                record = item.model_dump(mode="json")
                if held != record:
                    self._hub.publish(Topic.INVENTORY, "upsert", [record])
                before = StockStatus(held["status"]) if held else StockStatus.IN_STOCK
                await self._stock_events(before, item)
            await self._dishes(await self._store.stock.dishes_using(ordered))

    async def _dishes(self, dishes: list[MenuItem]) -> None:
        """Each dish republished if it changed; sold out, or back, announced."""
        for dish in dishes:
            held = self._hub.item(Topic.MENU, dish.id)
            if held == dish.model_dump(mode="json"):
                continue
            self._menu.republish(dish)
            was_sold_out = bool(held and held["sold_out"])
            if dish.sold_out and not was_sold_out:
                await self._menu.announce(dish, f"is sold out ({dish.sold_out_reason})")
            elif was_sold_out and not dish.sold_out:
                await self._menu.announce(dish, "is back in stock", back=True)

    async def _stock_events(self, before: StockStatus, item: InventoryItem) -> None:
        """Raise inventory_low / inventory_out when the line is crossed, once per crossing."""
        after = stock_status(item.quantity, item.low_threshold)
        if after == before or after is StockStatus.IN_STOCK:
            return
        if after is StockStatus.OUT_OF_STOCK:
            await self._journal.event(
                "inventory_out", severity=Severity.ERROR, message=f"{item.name} is out of stock",
                data={"inventory_id": item.id, "sku": item.sku})
        elif before is StockStatus.IN_STOCK:
            await self._journal.event(
                "inventory_low", severity=Severity.WARNING,
                message=f"{item.name} is low: {item.quantity:g} {item.unit} left",
                data={"inventory_id": item.id, "sku": item.sku, "quantity": item.quantity})

"""The menu (docs/api.md, "Menu"): its dishes, which station cooks each, what each costs, and
"86" — a dish the kitchen has run out of, which no new order may name."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.dishes import menu_order, name_key
from ..core.errors import ConstraintFailed, Conflict, Invalid, NotFound
from ..core.models import MenuChanges, MenuItem, MenuOption, OrderItem, OrderLine, Severity
from ..core.money import unit_price
from ..core.photos import media_name
from ..core.stock import Portions
from ..core.topics import Topic
from ..live.hub import Hub
from ..settings import KitchenSettings
from ..store.media import MediaFiles
from ..store.store import Store
from .journal import Journal


class Menu:
    """Dishes committed, then published on menu; an order's lines named, routed to their
    stations and priced."""

    def __init__(self, store: Store, hub: Hub, journal: Journal, media: MediaFiles,
                 kitchen: KitchenSettings, categories: Sequence[str] = ()) -> None:
        self._store = store
        self._media = media
        self._hub = hub
        self._journal = journal
        self._kitchen = kitchen
        self._categories = categories

    def _station(self, station: str | None) -> None:
        if station is not None and station not in self._kitchen.stations:
            raise Invalid(f"station: {station!r} is not one of the kitchen's stations"
                          f" {self._kitchen.stations}")

    async def route(self, lines: list[OrderLine]) -> list[OrderItem]:
        """Each line as the kitchen and the bill take it: the dish it names, its station (else
        the default station) and its unit price with its options, fixed now. A dish that is
        not available refuses the whole order (409); a menu_id or an option the menu does not
        have, or a price for a dish (whose price is the menu's), is 400."""
        named = await self._by_name() if any(line.menu_id is None for line in lines) else {}
        return [await self._item(f"items.{n}", line, named) for n, line in enumerate(lines)]

    async def _by_name(self) -> dict[str, MenuItem]:
        """The dishes by their name_key: SQLite's NOCASE folds ASCII letters only, so "CRÈME
        BRÛLÉE" would not find "Crème brûlée" there (and would go in at 0, even while 86)."""
        return {name_key(dish.name): dish for dish in await self._store.menu()}

    async def _item(self, where: str, line: OrderLine,
                    named: dict[str, MenuItem]) -> OrderItem:
        dish = await self._dish(where, line, named)
        if dish is None:
            if line.options:
                raise Invalid(f"{where}.options: {line.name!r} is not on the menu, so it has"
                              " no options")
            return OrderItem(name=line.name, qty=line.qty, note=line.note,
                             modifiers=line.modifiers, station=self._kitchen.default_station,
                             price=line.price or 0)
        if not dish.available:
            raise Conflict(f"{dish.name} is not available (86)")
        if line.price is not None:
            raise Invalid(f"{where}.price: {dish.name} is on the menu, at the menu's price")
        return ordered(dish, _options(where, dish, line.options), name=line.name or dish.name,
                       qty=line.qty, note=line.note, modifiers=line.modifiers,
                       default_station=self._kitchen.default_station)

    async def _dish(self, where: str, line: OrderLine,
                    named: dict[str, MenuItem]) -> MenuItem | None:
        """The dish a line names by menu_id (which its name, if given, must match) or by name,
        whatever its case; None for a line not on the menu."""
        if line.menu_id is None:
            return named.get(name_key(line.name))
        dish = await self._store.menu_item(line.menu_id)
        if dish is None:
            raise Invalid(f"{where}.menu_id: there is no dish {line.menu_id}")
        if line.name and name_key(line.name) != name_key(dish.name):
            raise Invalid(f"{where}.name: dish {dish.id} is {dish.name!r}, not {line.name!r}")
        return dish

    async def add(self, name: str, dish: MenuChanges) -> MenuItem:
        self._station(dish.get("station"))
        await self._unique(name)
        try:
            added = await self._store.add_menu_item(name, dish)
        except ConstraintFailed as err:
            raise Conflict(f"the menu already has {name!r}") from err
        self.republish(added)
        return added

    async def change(self, item_id: int, changes: MenuChanges) -> MenuItem:
        """Change a dish; taking it off ("86") raises menu_item_unavailable."""
        self._station(changes.get("station"))
        before = await self._store.menu_item(item_id)
        if before is None:
            raise NotFound(f"menu item {item_id} not found")
        if "name" in changes:
            await self._unique(changes["name"], item_id)
        try:
            dish = await self._store.update_menu_item(item_id, changes)
        except ConstraintFailed as err:
            raise Conflict(f"the menu already has {changes.get('name')!r}") from err
        if dish is None:
            raise NotFound(f"menu item {item_id} not found")
        self.republish(dish)
        if before.available and not dish.available:
            await self.announce(dish, "is 86")
        return dish

    async def announce(self, dish: MenuItem, why: str, *, back: bool = False) -> None:
        """menu_item_unavailable for a dish no order may name now (86, sold out), saying why;
        `back`: menu_item_available, for one that may be ordered again."""
        data = {"menu_item_id": dish.id, "name": dish.name, "station": dish.station}
        if back:
            await self._journal.event("menu_item_available", message=f"{dish.name} {why}",
                                      data=data)
        else:
            await self._journal.event("menu_item_unavailable", severity=Severity.WARNING,
                                      message=f"{dish.name} {why}: no more orders for it",
                                      data=data)

    async def portions(self, items: Sequence[OrderItem]) -> list[Portions]:
        """How many portions of each dish with a recipe the items ask for, and its recipe."""
        counts: dict[int, int] = {}
        for item in items:
            if item.menu_id is not None:
                counts[item.menu_id] = counts.get(item.menu_id, 0) + item.qty
        dishes = [await self._store.menu_item(dish_id) for dish_id in counts]
        return [Portions(dish.name, dish.recipe, counts[dish.id])
                for dish in dishes if dish is not None and dish.recipe]

    async def _unique(self, name: str, dish_id: int | None = None) -> None:
        """No two dishes of one name_key (the database's unique NOCASE covers ASCII only)."""
        same = (await self._by_name()).get(name_key(name))
        if same is not None and same.id != dish_id:
            raise Conflict(f"the menu already has {name!r}")

    async def remove(self, item_id: int) -> None:
        """Delete a dish, and its photo's file after it (domain/photos.py)."""
        dish = await self._store.menu_item(item_id)
        if dish is None or not await self._store.delete_menu_item(item_id):
            raise NotFound(f"menu item {item_id} not found")
        self.republish(gone=item_id)
        photo = None if dish.image is None else media_name(dish.image)
        if photo is not None:
            self._media.remove(photo)

    def republish(self, changed: MenuItem | None = None, gone: int | None = None) -> None:
        """A dish new or changed as an upsert, one gone as a delete — unless the change moved
        a dish in the guests' order (core/dishes.menu_order) past another: then the whole menu
        as a snapshot, in that order, so a page that lists the topic's items as they come
        shows it without knowing the rule. A snapshot only then: a menu entered dish by dish in
        its order costs one upsert each, not the whole menu each."""
        if gone is not None:  # the others keep their order
            self._hub.publish(Topic.MENU, "delete", [], ids=[gone])
            return
        assert changed is not None
        held = {dish["id"]: dish for dish in self._hub.snapshot(Topic.MENU)[0]}
        before = list(held)  # the view's order
        held[changed.id] = changed.model_dump(mode="json")
        after = [dish["id"] for dish in menu_order(list(held.values()), self._categories)]
        # An upsert keeps a known dish where it was and puts a new one last.
        in_place = before if changed.id in before else before + [changed.id]
        if after == in_place:
            self._hub.publish(Topic.MENU, "upsert", [held[changed.id]])
        else:
            self._hub.publish(Topic.MENU, "snapshot", [held[dish_id] for dish_id in after])


def ordered(dish: MenuItem, chosen: Sequence[MenuOption], *, name: str, qty: int = 1,
            note: str = "", modifiers: Sequence[str] = (), default_station: str = ""
            ) -> OrderItem:
    """An order line of a dish with the options chosen, fixed as placed: its station, its
    unit price with those options, and the options among the kitchen's modifiers."""
    names = [option.name for option in chosen]
    return OrderItem(
        name=name, qty=qty, note=note, modifiers=names + [m for m in modifiers if m not in names],
        station=dish.station or default_station, menu_id=dish.id,
        price=unit_price(dish.price, (option.price for option in chosen)), options=names)


def _options(where: str, dish: MenuItem, names: list[str]) -> list[MenuOption]:
    """The dish's options a line chose by name (any case), each once."""
    offered = {name_key(option.name): option for option in dish.options}
    chosen: list[MenuOption] = []
    for name in names:
        option = offered.get(name_key(name))
        if option is None:
            raise Invalid(f"{where}.options: {dish.name} has no option {name!r}")
        if option in chosen:
            raise Invalid(f"{where}.options: {option.name!r} is chosen twice")
        chosen.append(option)
    return chosen

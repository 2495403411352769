"""A dish's photo (SPEC §13, docs/api.md "Menu photos"): an upload made the menu's WebP, its
file written before the dish names it, and the file it replaces removed after."""

from __future__ import annotations

import asyncio

from ..core.errors import NotFound
from ..core.models import MenuItem
from ..core.photos import media_name, media_url, menu_photo, photo_name
from ..store.media import MediaFiles
from ..store.store import Store
from .menu import Menu


class MenuPhotos:
    """Dishes' photos: set, replaced and removed through the menu, which publishes each
    change as any change of a dish."""

    def __init__(self, store: Store, menu: Menu, media: MediaFiles) -> None:
        self._store = store
        self._menu = menu
        self._media = media
        # One change of a photo at a time: a dish's old photo is read and replaced with no
        # other change in between, so two uploads at once never leave a file nobody names.
        self._changing = asyncio.Lock()

    async def put(self, dish_id: int, content_type: str, data: bytes) -> MenuItem:
        """The upload as the dish's photo (Invalid if it cannot be one); the old one removed."""
        await self._dish(dish_id)  # an unknown dish is 404 before any decoding
        webp = menu_photo(data, content_type)
        name = photo_name(dish_id, webp)
        self._media.write(name, webp)
        async with self._changing:
            return await self._replace(dish_id, name)

    async def remove(self, dish_id: int) -> MenuItem:
        """The dish without its photo, and the photo's file gone."""
        async with self._changing:
            dish = await self._dish(dish_id)
            if dish.image is None:
                return dish
            return await self._replace(dish_id, None)

    async def _replace(self, dish_id: int, name: str | None) -> MenuItem:
        """The dish naming the new file (or none), then the file it named before removed. A
        new file no dish came to name (the dish deleted meanwhile, a failed write) is removed
        too, unless the dish named it already: the same photo sent again."""
        image = None if name is None else media_url(name)
        before: MenuItem | None = None
        try:
            before = await self._dish(dish_id)
            dish = await self._menu.change(dish_id, {"image": image})
        except BaseException:
            if name is not None and (before is None or before.image != image):
                self._media.remove(name)
            raise
        old = None if before.image is None else media_name(before.image)
        if old is not None and old != name:
            self._media.remove(old)
        return dish

    async def _dish(self, dish_id: int) -> MenuItem:
        dish = await self._store.menu_item(dish_id)
        if dish is None:
            raise NotFound(f"menu item {dish_id} not found")
        return dish

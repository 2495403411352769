"""Dishes' photos in the domain (domain/photos.py) on a real SQLite file and hub, no sockets:
which file is left when photos change at once, and what the menu topic carries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from robodyne.core.errors import Invalid, NotFound
from robodyne.domain.photos import MenuPhotos
from robodyne.store.media import MediaFiles
from tests.support.domain import open_domain
from tests.support.images import jpeg


def _names(media: Path) -> list[str]:
    return sorted(path.name for path in (media / "menu").iterdir())


async def test_photos_changed_at_once_leave_only_the_file_the_dish_names(tmp_path: Path
                                                                         ) -> None:
    async with open_domain(tmp_path) as domain:
        media = tmp_path / "media"  # beside domain.db, as the menu's own
        photos = MenuPhotos(domain.store, domain.menu, MediaFiles(media))
        dish = await domain.menu.add("Bibimbap", {})
        results = await asyncio.gather(*(photos.put(dish.id, "image/jpeg", jpeg((100 + n, 100)))
                                         for n in range(5)))
        final = await domain.store.menu_item(dish.id)
        assert final is not None and final.image in {result.image for result in results}
        assert _names(media) == [final.image.rsplit("/", 1)[1]]
        assert domain.item("menu", dish.id)["image"] == final.image

        await domain.menu.remove(dish.id)
        assert _names(media) == []


async def test_a_refused_upload_or_an_unknown_dish_changes_nothing(tmp_path: Path) -> None:
    async with open_domain(tmp_path) as domain:
        media = tmp_path / "media"
        photos = MenuPhotos(domain.store, domain.menu, MediaFiles(media))
        dish = await domain.menu.add("Bibimbap", {})
        with pytest.raises(Invalid):
            await photos.put(dish.id, "image/png", jpeg())
        with pytest.raises(NotFound):
            await photos.put(dish.id + 1, "image/jpeg", jpeg())
        with pytest.raises(NotFound):
            await photos.remove(dish.id + 1)
        assert not media.exists() and domain.item("menu", dish.id)["image"] is None


async def test_a_dish_naming_a_path_of_another_program_keeps_that_file(tmp_path: Path) -> None:
    """A row another program wrote may name anything: nothing outside our names is removed."""
    async with open_domain(tmp_path) as domain:
        photos = MenuPhotos(domain.store, domain.menu, MediaFiles(tmp_path / "media"))
        dish = await domain.menu.add("Bibimbap", {})
        outside = tmp_path / "keep.webp"
        outside.write_bytes(b"not ours")
        for image in ("/media/../keep.webp", str(outside), "../keep.webp"):
            await domain.store.update_menu_item(dish.id, {"image": image})
            assert (await photos.remove(dish.id)).image is None
        await domain.store.update_menu_item(dish.id, {"image": "/media/../keep.webp"})
        await domain.menu.remove(dish.id)
        assert outside.read_bytes() == b"not ours"

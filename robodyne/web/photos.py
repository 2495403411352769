"""POST and DELETE /api/menu/{id}/image (docs/api.md, "Menu photos"): the raw image as the
body, of a type the menu takes, read up to its limit; the domain makes it the dish's photo."""

from __future__ import annotations

from aiohttp import web

from ..core.photos import FORMATS, MAX_UPLOAD_BYTES
from ..domain.photos import MenuPhotos
from .api import path_id
from .needs import Caller
from .payload import read_payload
from .responses import json_response


class PhotoApi:
    """A dish's photo set or removed."""

    def __init__(self, photos: MenuPhotos) -> None:
        self._photos = photos

    async def put(self, request: web.Request, caller: Caller) -> web.Response:
        """The body's type is checked before a byte of it is read (415)."""
        dish_id = path_id(request)
        if request.content_type not in FORMATS:
            raise web.HTTPUnsupportedMediaType(
                reason=f"send the image as one of {', '.join(FORMATS)}")
        data = await read_payload(request, MAX_UPLOAD_BYTES)
        return json_response(await self._photos.put(dish_id, request.content_type, data))

    async def remove(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._photos.remove(path_id(request)))

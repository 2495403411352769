"""GET /media/{name}: the media dir's files (the menu's photos) to anyone, with no token: a
guest's phone loads them as it loads the page. Only a name of ours is served (store/media.py);
anything else, and any way out of the dir, is 404. A file's name holds the hash of its bytes,
so a browser may keep it for good."""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web

from ..store.media import MediaFiles

HEADERS: Final = {hdrs.CACHE_CONTROL: "public, max-age=31536000, immutable",
                  hdrs.CONTENT_TYPE: "image/webp"}


class Media:
    """The media dir's files, served."""

    def __init__(self, files: MediaFiles) -> None:
        self._files = files

    async def handler(self, request: web.Request) -> web.StreamResponse:
        path = self._files.find(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=HEADERS)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/media/{name:.+}", self.handler)]

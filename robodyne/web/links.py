"""GET and POST /api/tables/{id}/link (SPEC §11.2): a table's link code and the url its QR
code carries; and that url, said once for the API and the printed sheet."""

from __future__ import annotations

from aiohttp import web

from ..core.links import link_url
from ..domain.links import TableLinks
from .api import path_id
from .needs import Caller
from .responses import json_response


class LinkUrls:
    """The base of table links: server.public_url, else the request's own scheme and host
    (https under TLS; behind a reverse proxy the operator sets public_url)."""

    def __init__(self, public_url: str) -> None:
        self._public_url = public_url

    def base(self, request: web.Request) -> str:
        """Scheme, host and any path that every link's url starts with."""
        return self._public_url or f"{request.scheme}://{request.host}"

    def url(self, request: web.Request, code: str) -> str:
        return link_url(self.base(request), code)


class LinkApi:
    """The two link routes, declared in web/routes.py with their needs."""

    def __init__(self, links: TableLinks, urls: LinkUrls) -> None:
        self._links = links
        self._urls = urls

    def _answer(self, request: web.Request, code: str) -> web.Response:
        # A secret: no cache along the way keeps it (a rotation must make it useless at once).
        response = json_response({"code": code, "url": self._urls.url(request, code)})
        response.headers["Cache-Control"] = "no-store"
        return response

    async def read(self, request: web.Request, caller: Caller) -> web.Response:
        return self._answer(request, await self._links.code(path_id(request)))

    async def rotate(self, request: web.Request, caller: Caller) -> web.Response:
        return self._answer(request, await self._links.rotate(path_id(request)))

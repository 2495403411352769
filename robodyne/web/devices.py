"""GET /api/tokens and DELETE /api/tokens/{id} (SPEC §13 "Devices"): the devices' tokens listed
by id, and a tokens.toml token revoked exactly as `robodyne tokens revoke` revokes it."""

from __future__ import annotations

import logging

from aiohttp import web

from ..core.errors import StorageUnavailable
from ..settings import SettingsError
from ..tokenfile import TokenFile
from .needs import Caller
from .responses import json_response

log = logging.getLogger(__name__)


class Devices:
    """The tokens' routes, over the server's TokenFile."""

    def __init__(self, tokens: TokenFile) -> None:
        self._tokens = tokens

    async def tokens(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response({"items": [row.model_dump(mode="json")
                                        for row in self._tokens.rows()]})

    async def revoke(self, request: web.Request, caller: Caller) -> web.Response:
        wanted = request.match_info["id"]
        try:
            token, grant = await self._tokens.revoke(wanted)
        except SettingsError as err:  # tokens.toml unreadable or unwritable: nothing changed
            raise StorageUnavailable(str(err)) from err
        log.info("token %s (%s %r) revoked through the API", wanted, grant, grant.label)
        return web.Response(status=204)

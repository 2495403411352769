"""POST /login (a token or a pairing code becomes the page cookie) and POST /api/pairing (an
admin makes a code): how a tablet is set up without a token in any URL (docs/operations.md)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Annotated, Final
from urllib.parse import urlencode

from aiohttp import web
from pydantic import StringConstraints

from ..core.pairing import PAIRABLE, PairingCodes, TooManyGuesses, looks_like_code
from ..core.roles import Role
from ..core.text import PlainText
from ..core.tokens import Grant
from ..settings import SettingsError
from ..tokenfile import TokenFile, new_token
from .auth import Auth, set_token_cookie
from .bodies import Body, read_body
from .needs import Caller

log = logging.getLogger(__name__)

MAX_SECRET_CHARS: Final = 200


def local_path(value: object) -> str:
    """Where to go after logging in: a path on this server, never another site. No control
    characters: URL parsers drop tabs and newlines, so `/<tab>/evil.example` is `//evil.example`."""
    if (isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\"))
            and value.isprintable()):
        return value
    return "/"


class PairingIn(Body):
    role: Role
    label: Annotated[PlainText, StringConstraints(max_length=60)] = ""


class Login:
    """The two ways a browser gets its cookie without a token in a URL."""

    def __init__(self, auth: Auth, tokens: TokenFile) -> None:
        self._auth = auth
        self._tokens = tokens
        self.codes = PairingCodes(time.monotonic)

    async def make_code(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, PairingIn)
        if body.role not in PAIRABLE:
            # A robot token in a browser would only make the pages useless.
            raise web.HTTPBadRequest(reason=f"role {body.role}: robots are not paired")
        pairing = self.codes.make(body.role, body.label)
        expires_at = datetime.now(timezone.utc) + timedelta(
            seconds=pairing.expires_at - time.monotonic())
        log.info("pairing code made for a %s tablet %r", body.role, body.label)
        return web.json_response({"code": pairing.code, "role": pairing.role.value,
                                  "label": pairing.label,
                                  "expires_at": expires_at.isoformat(timespec="seconds")},
                                 status=201)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        secret = str(form.get("secret", "")).strip()[:MAX_SECRET_CHARS]
        after = local_path(form.get("next"))
        token = None
        if looks_like_code(secret):
            try:
                token = await self._pair(secret, request.remote or "?")
            except TooManyGuesses as err:
                self._auth.refused(request)
                return web.Response(status=429, text=str(err))
            except SettingsError as err:
                log.error("pairing failed, the code still works: %s", err)
                return web.Response(status=503, text="the token file cannot be written")
        elif self._auth.page_grant(secret) is not None:
            token = secret
        if token is None:
            self._auth.refused(request)
            raise web.HTTPSeeOther("/login?" + urlencode({"failed": "1", "next": after}))
        response = web.HTTPSeeOther(after)
        set_token_cookie(response, token, request)
        raise response

    async def _pair(self, code: str, remote: str) -> str | None:
        """The new token a right code gives (stored in tokens.toml), or None for a wrong one;
        a code is spent only once its token is in the file."""
        pairing = self.codes.claim(code, remote)
        if pairing is None:
            return None
        token = new_token()
        stored = False
        try:
            await self._tokens.add(token, Grant(pairing.role, None, pairing.label or "tablet"))
            stored = True
        finally:
            self.codes.settle(pairing, spent=stored)
        log.info("paired a %s tablet %r from %s", pairing.role, pairing.label, remote)
        return token

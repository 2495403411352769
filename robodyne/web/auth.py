"""Who is asking (a token from query, header or cookie; a guest session's cookie) and the
browser Origin check; what a route needs of its caller is checked in web/needs.py."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from ..core.errors import Unauthorized
from ..core.roles import Role
from ..core.tokens import Grant, Refusals, TokenBook
from ..domain.guests import GuestSession, GuestSessions
from ..domain.party import PartySession, PartySessions

TOKEN_COOKIE: Final = "robodyne_token"
# A guest session's cookie, set by a table link's page (web/guests.py).
GUEST_COOKIE: Final = "robodyne_guest"
# A waiting party's page cookie, set by its waitlist link's page (web/waitlist.py).
PARTY_COOKIE: Final = "robodyne_party"
COOKIE_MAX_AGE_S: Final = 365 * 24 * 3600
# Sec-Fetch-Site values of a request the user made here: typed, bookmarked, or from our pages.
OWN_FETCH_SITES: Final = frozenset({"same-origin", "none"})


def request_token(request: web.Request) -> str | None:
    """The token from ?token=, an Authorization: Bearer header, or the page cookie."""
    token = request.query.get("token")
    if token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def set_secret_cookie(response: web.StreamResponse, name: str, value: str,
                      request: web.Request, max_age: int = COOKIE_MAX_AGE_S) -> None:
    """A cookie that opens something (a token, a guest's or a party's session): scripts cannot
    read it, other sites cannot send it, and under TLS it never crosses the network in clear."""
    response.set_cookie(name, value, httponly=True, samesite="Strict", max_age=max_age,
                        path="/", secure=request.secure)


def set_token_cookie(response: web.StreamResponse, token: str, request: web.Request) -> None:
    """The pages' token cookie."""
    set_secret_cookie(response, TOKEN_COOKIE, token, request)


class Auth:
    """The tokens the server knows, and who a request's token says is asking."""

    def __init__(self, tokens: TokenBook, allowed_origins: list[str],
                 refusals: Refusals, guests: GuestSessions, parties: PartySessions) -> None:
        self.tokens = tokens
        self.refusals = refusals
        self.guests = guests
        self.parties = parties
        self._allowed_origins = [origin.rstrip("/") for origin in allowed_origins]

    def grant(self, request: web.Request) -> Grant | None:
        """What the request's token grants (the token's last use noted: GET /api/tokens)."""
        return self.tokens.use(request_token(request))

    def refused(self, request: web.Request) -> None:
        """Leave a trace of a request refused for its token (rate-limited per address)."""
        self.refusals.refused(request.remote, request_token(request),
                              f"{request.method} {request.path}")

    def require_grant(self, request: web.Request) -> Grant:
        """What the request's token grants; Unauthorized (and a trace) for none."""
        grant = self.grant(request)
        if grant is None:
            self.refused(request)
            raise Unauthorized("missing or unknown token")
        return grant

    async def guest(self, request: web.Request) -> GuestSession | None:
        """The guest session the request's cookie holds, ended or not; None for none."""
        return await self.guests.session(request.cookies.get(GUEST_COOKIE))

    async def party(self, request: web.Request) -> PartySession | None:
        """The waiting party the request's cookie opens, ended or not; None for none."""
        return await self.parties.session(request.cookies.get(PARTY_COOKIE))

    def page_grant(self, token: str) -> Grant | None:
        """What a token typed into a page or /login grants there: never a robot's token, whose
        cookie would only make the pages useless."""
        grant = self.tokens.grant(token)
        return grant if grant is not None and grant.role is not Role.ROBOT else None

    def _own_origin(self, request: web.Request, origin: str) -> bool:
        if origin.rstrip("/") in self._allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == request.host.lower()

    def origin_allowed(self, request: web.Request) -> bool:
        """A browser may open a WebSocket from the server's own host or a listed origin."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: robots, integrations, tests
        return self._own_origin(request, origin)

    def from_here(self, request: web.Request) -> bool:
        """Whether a browser's request comes from our own pages or the user's own hand (typed,
        bookmarked): its Origin, or without one its Sec-Fetch-Site. Programs send neither.

        SameSite cookies treat another port of this host as the same site, so the cookie alone
        does not prove a write came from our pages.
        """
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null":
            return self._own_origin(request, origin)
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in OWN_FETCH_SITES
        return origin is None

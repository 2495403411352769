"""The waitlist's side of the web (SPEC §12.4, docs/api.md, "Waitlist"): staff's routes
(join, call, seat, PATCH), the page a party's link opens, which sets its cookie, and the one
REST read that cookie opens (declared in web/routes.py with the PARTY need)."""

from __future__ import annotations

import html
from typing import Final

import orjson
from aiohttp import web

from ..core.errors import NotFound
from ..core.models import CustomerStatus
from ..domain.party import SEATED_KEPT, PartySessions
from ..domain.party_views import PartyViews
from ..domain.waitlist import Waitlist
from ..settings import RestaurantSettings
from .api import path_id
from .auth import PARTY_COOKIE, set_secret_cookie
from .bodies import CustomerIn, CustomerPatch, SeatIn, read_body
from .links import LinkUrls
from .needs import Caller, party_of
from .pages import STATIC_ROOT, filled, language, page_response
from .print_sheet import qr_svg
from .responses import json_response, stream_response

PATH: Final = "/w/{code}"
# A wait plus a meal's first minutes; a phone coming back later asks the host stand.
COOKIE_MAX_AGE_S: Final = 6 * 3600 + int(SEATED_KEPT.total_seconds())
NO_STORE: Final = "no-store"


class WaitlistApi:
    """Staff's waitlist routes (admin and floor: scope customers)."""

    def __init__(self, waitlist: Waitlist, urls: LinkUrls) -> None:
        self._waitlist = waitlist
        self._urls = urls

    async def create(self, request: web.Request, caller: Caller) -> web.Response:
        """201 a party waiting, with its quote and link; a customer added already seated
        (status and table_id, as before the waitlist) is only recorded."""
        body = await read_body(request, CustomerIn)
        if body.status is CustomerStatus.WAITING and body.table_id is None:
            customer = await self._waitlist.join(body.name, body.party_size, body.phone,
                                                 body.note)
        else:
            customer = await self._waitlist.record(body.name, body.party_size, body.phone,
                                                   body.status, body.table_id, body.note)
        return json_response(customer, 201)

    async def update(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, CustomerPatch)
        return json_response(await self._waitlist.change(path_id(request), body.changes()))

    async def call(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._waitlist.call(path_id(request)))

    async def seat(self, request: web.Request, caller: Caller) -> web.Response:
        body = await read_body(request, SeatIn)
        return json_response(await self._waitlist.seat(path_id(request), body.table_id))

    async def qr(self, request: web.Request, caller: Caller) -> web.Response:
        """The QR code of the party's link, its full url, for the party to scan at the host
        stand (404 for a party with no link)."""
        party = await self._waitlist.party(path_id(request))
        if party.link is None:
            raise NotFound(f"customer {party.id} has no link")
        # A secret, like a table's link: no cache along the way keeps it.
        return web.Response(body=qr_svg(self._urls.base(request) + party.link),
                            content_type="image/svg+xml", headers={"Cache-Control": NO_STORE})


class PartyPage:
    """GET /w/{code}: the party's page in its language, with its cookie; a 404 page for an
    unknown code or a party whose session has ended."""

    def __init__(self, parties: PartySessions, restaurant: RestaurantSettings) -> None:
        self._parties = parties
        self._languages = [str(lang) for lang in restaurant.languages]
        self._page = (STATIC_ROOT / "party.html").read_text(encoding="utf-8")
        # Filled in with the request's own values in one pass, as the guest page is.
        self._values = {
            "languages": html.escape(orjson.dumps(self._languages).decode()),
            "restaurant_name": html.escape(restaurant.name)}
        self._gone = (STATIC_ROOT / "party_gone.html").read_text(encoding="utf-8")

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(PATH, self.page)]

    async def page(self, request: web.Request) -> web.Response:
        code = request.match_info["code"]
        lang = language(request, self._languages)
        session = await self._parties.session(code)
        if session is None or session.ended() is not None:
            return page_response(request, self._gone.replace("{lang}", lang), lang,
                                 status=404, cache=NO_STORE)
        # The view has no joining time (docs/protocol.md): the page counts the wait from this.
        text = filled(self._page, {**self._values, "lang": lang,
                                   "joined_at": html.escape(session.joined_at)})
        response = page_response(request, text, lang, cache=NO_STORE)
        set_secret_cookie(response, PARTY_COOKIE, code, request, max_age=COOKIE_MAX_AGE_S)
        return response


class PartyApi:
    """GET /api/party: the party's view as its stream holds it, like any topic's read."""

    def __init__(self, views: PartyViews) -> None:
        self._views = views

    async def read(self, request: web.Request, caller: Caller) -> web.Response:
        return stream_response(self._views.stream_of(party_of(caller).customer_id))

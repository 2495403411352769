"""A guest's side of the web (SPEC §11.3–§11.5, docs/guests.md): the page a table link opens,
which sets the guest session's cookie, and the REST routes only that session may use (declared
in web/routes.py with the GUEST need)."""

from __future__ import annotations

import html
from typing import Final

import orjson
from aiohttp import web

from ..core.models import OrderLine
from ..domain.guest_views import GuestViews
from ..domain.guests import SESSION_KEPT, GuestDesk, GuestSession, GuestSessions
from ..settings import GuestSettings, RestaurantSettings
from .api import path_id
from .auth import GUEST_COOKIE, Auth, set_secret_cookie
from .bodies import CallIn, GuestOrderIn, read_body
from .needs import Caller, guest_of
from .pages import STATIC_ROOT, filled, language, page_response
from .responses import json_response, stream_response

PATH: Final = "/t/{code}"
# The page's cookie lasts a long meal; a phone coming back later scans the code again.
COOKIE_MAX_AGE_S: Final = 12 * 3600
# The page sets a cookie: no cache along the way keeps it, or hands it to someone else.
NO_STORE: Final = "no-store"


class GuestPage:
    """GET /t/{code}: the guest page in the guest's language, with a session of that table."""

    def __init__(self, sessions: GuestSessions, auth: Auth, restaurant: RestaurantSettings,
                 guest: GuestSettings) -> None:
        self._sessions = sessions
        self._auth = auth
        self._languages = [str(lang) for lang in restaurant.languages]
        self._template = (STATIC_ROOT / "guest.html").read_text(encoding="utf-8")
        # Filled in with the request's own values in one pass (a restaurant named "{lang}"
        # stays so).
        self._values = {
            "languages": html.escape(orjson.dumps(self._languages).decode()),
            "currency": html.escape(restaurant.currency),
            "restaurant_name": html.escape(restaurant.name),
            "self_seat": "true" if guest.self_seat else "false"}
        self._gone = (STATIC_ROOT / "link_gone.html").read_text(encoding="utf-8")

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(PATH, self.page)]

    async def page(self, request: web.Request) -> web.Response:
        """A phone that still holds a session of this very link keeps it: a reload of a live
        one, and of one whose visit ended too (its page says so, and offers ?new=1: the
        next party starts on purpose, a reload never joins whoever sits down next). Any
        other phone gets a new session, of the table's visit now or the next one there."""
        code = request.match_info["code"]
        lang = language(request, self._languages)
        held = await self._auth.guest(request)
        token = None
        session: GuestSession | None = held
        if not _keeps(held, code, fresh=request.query.get("new") == "1"):
            started = await self._sessions.start(code)
            if started is None:
                return page_response(request, self._gone.replace("{lang}", lang), lang,
                                     status=404, cache=NO_STORE)
            token, session = started
        assert session is not None
        label = await self._sessions.table_label(session.table_id)
        text = filled(self._template, {**self._values, "lang": lang,
                                       "table_label": html.escape(label)})
        response = page_response(request, text, lang, cache=NO_STORE)
        if token is not None:
            set_secret_cookie(response, GUEST_COOKIE, token, request,
                              max_age=min(COOKIE_MAX_AGE_S, int(SESSION_KEPT.total_seconds())))
        return response


def _keeps(held: GuestSession | None, code: str, *, fresh: bool) -> bool:
    """Whether the phone's session of this link stays: a live one always, one whose visit
    ended unless the guest asked for a new start."""
    if held is None or held.code != code:
        return False
    return held.ended is None or (held.ended == "visit_closed" and not fresh)


class GuestApi:
    """The routes of a guest session: its table's view, its orders, cancels and calls."""

    def __init__(self, desk: GuestDesk, views: GuestViews) -> None:
        self._desk = desk
        self._views = views

    async def read(self, request: web.Request, caller: Caller) -> web.Response:
        """GET /api/guest: the table's view as its stream holds it, like any topic's read."""
        return stream_response(self._views.stream(guest_of(caller).table_id))

    async def order(self, request: web.Request, caller: Caller) -> web.Response:
        session = guest_of(caller)
        body = await read_body(request, GuestOrderIn)
        lines = [OrderLine(menu_id=item.menu_id, qty=item.qty, options=item.options,
                           note=item.note) for item in body.items]
        return json_response(await self._desk.order(session, lines, body.note), 201)

    async def cancel(self, request: web.Request, caller: Caller) -> web.Response:
        return json_response(await self._desk.cancel(guest_of(caller), path_id(request)))

    async def call(self, request: web.Request, caller: Caller) -> web.Response:
        """201 a new call; 200 the open call of that kind the table already has."""
        body = await read_body(request, CallIn)
        call, made = await self._desk.call(guest_of(caller), body.kind)
        return json_response(call, 201 if made else 200)

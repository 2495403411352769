"""The staff pages, the index and /login: plain HTML, CSS and JS modules from web/static; the
language, token and response rules every page follows (web/print_sheet.py's too)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import orjson
from aiohttp import web

from ..core import floor
from ..core.dishes import Allergen, Language
from ..core.orders import KITCHEN_BACK, KITCHEN_NEXT
from ..core.pairing import PAIRABLE
from ..core.models import PlaceName, StreamStatus
from ..core.roles import Role
from ..core.stock import DELTA_SIGNS
from ..core.streams import IMAGE_SCHEMES, STREAM_SCHEMES
from ..core.tasks import ACTIVE, FINISHED, REPINNABLE, REPRIORITISABLE
from ..settings import KitchenSettings, RestaurantSettings
from .auth import COOKIE_MAX_AGE_S, Auth, set_token_cookie
from .guard import page_policy
from .login import local_path

STATIC_ROOT: Final = Path(__file__).parent / "static"
PAGES: Final = ("kitchen", "dashboard", "console", "order", "host", "admin", "login")
# The languages every page speaks (one catalogue each in static/i18n/), the first the default.
LANGUAGES: Final = ("en", "ko")
LANG_COOKIE: Final = "robodyne_lang"
PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
# The pages that show camera streams: their images may come from the cameras' origins too.
CAMERA_PAGES: Final = frozenset({"dashboard", "console", "admin"})


def choose_language(query: str | None, cookie: str | None, accept: str,
                    offered: Sequence[str] = LANGUAGES) -> str:
    """Among `offered`: ?lang= first, then the cookie, then the browser's Accept-Language,
    then the first offered (English for the staff's pages)."""
    for chosen in (query, cookie):
        if chosen is not None and chosen in offered:
            return chosen
    ranked = []
    for n, part in enumerate(accept.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, n, tag.strip().lower().split("-")[0]))
    for weight, _, primary in sorted(ranked):
        if weight < 0 and primary in offered:
            return primary
    return offered[0]


def _attribute_json(value: object) -> str:
    return html.escape(orjson.dumps(value).decode())


def _values(kitchen: KitchenSettings, restaurant: RestaurantSettings,
            lang: str) -> dict[str, str]:
    """What a page needs to draw itself, said once on the server; never a secret."""
    return {
        "lang": lang,
        # ISO 4217: the pages format every price (an integer in its minor unit) with it.
        "currency": html.escape(restaurant.currency),
        "stations": _attribute_json(kitchen.stations),
        "default_station": html.escape(kitchen.default_station),
        "amber_after_s": f"{kitchen.amber_after_s:g}",
        "red_after_s": f"{kitchen.red_after_s:g}",
        # The kitchen's bump and recall moves, as JSON for a data attribute.
        "order_next": _attribute_json({str(k): str(v) for k, v in KITCHEN_NEXT.items()}),
        "order_back": _attribute_json({str(k): str(v) for k, v in KITCHEN_BACK.items()}),
        "map_width": f"{floor.WIDTH_M:g}",
        "map_height": f"{floor.HEIGHT_M:g}",
        # The dashboard's task queue: which statuses hold a robot and which are final, and
        # which tasks staff may still re-prioritise or pin (core/tasks.py, as the dispatcher).
        "task_active": _attribute_json(sorted(ACTIVE)),
        "task_finished": _attribute_json(sorted(FINISHED)),
        "task_changes": _attribute_json({"priority": sorted(REPRIORITISABLE),
                                         "pin": sorted(REPINNABLE)}),
        # The roles a pairing code may give a tablet, the kitchen's first (the usual case).
        "pair_roles": _attribute_json(sorted((r.value for r in Role if r in PAIRABLE),
                                             key=lambda r: (r != Role.KITCHEN, r))),
        # Which streams a page shows in an image, and which as a link (js/stream.js).
        "stream_schemes": _attribute_json({"image": sorted(IMAGE_SCHEMES),
                                           "link": sorted(STREAM_SCHEMES)}),
        # The admin page's forms: a dish's languages and allergens (the fixed list), the sign
        # each stock move's delta takes (a count gives the quantity instead), a stream's
        # states, the floor's places.
        "dish_languages": _attribute_json([language.value for language in Language]),
        "allergens": _attribute_json([allergen.value for allergen in Allergen]),
        "stock_signs": _attribute_json({str(reason): sign for reason, sign in DELTA_SIGNS.items()}),
        "stream_statuses": _attribute_json([status.value for status in StreamStatus]),
        "place_names": _attribute_json([place.value for place in PlaceName]),
    }


def _login_page(template: str, request: web.Request) -> str:
    """/login in its language, with where to go afterwards (a path here, else /) and the
    refusal of the last secret typed, when there was one."""
    failed = request.query.get("failed") == "1"
    text = template.replace("{failed_hidden}", "" if failed else " hidden")
    # Last, so that nothing in the address is read as a placeholder.
    return text.replace("{next}", html.escape(local_path(request.query.get("next"))))


class Pages:
    """The page templates, filled in once so that no request handler touches the disk."""

    def __init__(self, kitchen: KitchenSettings, restaurant: RestaurantSettings,
                 auth: Auth, image_origins: Callable[[], list[str]]) -> None:
        self._auth = auth
        # The cameras' origins as the page is served (domain/cameras.py): one added later
        # shows after a reload.
        self._image_origins = image_origins
        self._templates: dict[tuple[str, str], str] = {}
        for lang in LANGUAGES:
            values = _values(kitchen, restaurant, lang)
            for name in ("index", *PAGES):
                text = (STATIC_ROOT / f"{name}.html").read_text(encoding="utf-8")
                for key, value in values.items():
                    text = text.replace("{" + key + "}", value)
                self._templates[(name, lang)] = text

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page),
            *(web.get(f"/{{page:{name}}}", self.page) for name in PAGES),
            web.static("/static", STATIC_ROOT, append_version=False),
        ]

    async def page(self, request: web.Request) -> web.StreamResponse:
        """Serve a page in its language."""
        name = request.match_info.get("page", "index")
        self.take_token(request)
        lang = language(request)
        text = self._templates[(name, lang)]
        if name == "login":
            text = _login_page(text, request)
        served = page_response(request, text, lang)
        if name in CAMERA_PAGES:
            served.headers["Content-Security-Policy"] = page_policy(self._image_origins())
        return served

    def take_token(self, request: web.Request) -> None:
        """?token=… becomes an HttpOnly cookie and leaves the address bar (a redirect)."""
        token = request.query.get("token")
        if token is not None:
            kept = {key: value for key, value in request.query.items() if key != "token"}
            response = web.HTTPSeeOther(request.rel_url.with_query(kept))
            # Only a token the user typed or bookmarked (a link from another site could swap
            # a tablet's cookie for its own), and never a robot's.
            if self._auth.page_grant(token) is not None and self._auth.from_here(request):
                set_token_cookie(response, token, request)
            raise response


def language(request: web.Request, offered: Sequence[str] = LANGUAGES) -> str:
    """The language a page is served in (choose_language over the request)."""
    return choose_language(request.query.get("lang"), request.cookies.get(LANG_COOKIE),
                           request.headers.get("Accept-Language", ""), offered)


def filled(template: str, values: dict[str, str]) -> str:
    """Every {name} of `values` replaced at once (a value is never read as a placeholder)."""
    return PLACEHOLDER.sub(lambda found: values.get(found[1], found[0]), template)


def page_response(request: web.Request, text: str, lang: str, *, status: int = 200,
                  cache: str = "no-cache") -> web.Response:
    """A page's HTML in `lang`; ?lang=… is kept in a cookie."""
    # The Content-Security-Policy of every page is set with the other security headers
    # (guard.py): scripts, styles, images and sockets from this server only, no frames; a
    # page that shows cameras sets its own first (Pages.page), with their origins for images.
    served = web.Response(text=text, content_type="text/html", status=status,
                          headers={"Cache-Control": cache,
                                   "Referrer-Policy": "no-referrer",
                                   "Content-Language": lang,
                                   "Vary": "Cookie, Accept-Language"})
    if request.query.get("lang") == lang:
        served.set_cookie(LANG_COOKIE, lang, max_age=COOKIE_MAX_AGE_S, path="/",
                          samesite="Strict", secure=request.secure)
    return served

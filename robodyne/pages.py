"""The three pages and the index: plain HTML, CSS and JS modules from robodyne/web."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from . import floor, keys
from .const import TOKEN_COOKIE

WEB_ROOT: Final = Path(__file__).parent / "web"
PAGES: Final = ("kitchen", "dashboard", "console")
COOKIE_MAX_AGE_S: Final = 365 * 24 * 3600


def _values(app: web.Application) -> dict[str, str]:
    """Settings a page needs to draw itself; never a secret."""
    kitchen = app[keys.SETTINGS].kitchen
    return {
        "amber_after_s": f"{kitchen.amber_after_s:g}",
        "red_after_s": f"{kitchen.red_after_s:g}",
        "map_width": f"{floor.WIDTH_M:g}",
        "map_height": f"{floor.HEIGHT_M:g}",
        "map_dock_x": f"{floor.DOCK[0]:g}",
        "map_dock_y": f"{floor.DOCK[1]:g}",
    }


async def page(request: web.Request) -> web.StreamResponse:
    """Serve a page; ?token=… becomes an HttpOnly cookie and leaves the address bar."""
    name = request.match_info.get("page", "index")
    token = request.query.get("token")
    if token is not None:
        kept = {key: value for key, value in request.query.items() if key != "token"}
        response = web.HTTPSeeOther(request.rel_url.with_query(kept))
        if token in request.app[keys.SETTINGS].auth.tokens:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict",
                                max_age=COOKIE_MAX_AGE_S, path="/",
                                secure=request.secure)
        raise response
    return web.Response(text=request.app[keys.PAGES][name], content_type="text/html",
                        headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"})


def setup_pages(app: web.Application) -> None:
    # Read and filled in once here, so no request handler ever touches the disk.
    templates = {}
    for name in ("index", *PAGES):
        html = (WEB_ROOT / f"{name}.html").read_text(encoding="utf-8")
        for key, value in _values(app).items():
            html = html.replace("{" + key + "}", value)
        templates[name] = html
    app[keys.PAGES] = templates
    app.router.add_get("/", page)
    for name in PAGES:
        app.router.add_get(f"/{{page:{name}}}", page)
    app.router.add_static("/static", WEB_ROOT, append_version=False)

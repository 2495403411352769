"""What every HTTP exchange gets before any handler: browser writes from elsewhere refused,
and the security headers on every response (docs/operations.md, "What the server refuses")."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from aiohttp import hdrs, web, web_response
from aiohttp.typedefs import Handler, Middleware

from ..core.codes import Code
from .auth import Auth
from .responses import error_response

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAGE_POLICY: Final = "default-src 'self'; frame-ancestors 'none'"


def page_policy(image_origins: Collection[str] = ()) -> str:
    """A page's Content-Security-Policy: everything from this server only, but images also from
    `image_origins` (the cameras a staff page shows: core/streams.py checked each origin)."""
    if not image_origins:
        return PAGE_POLICY
    return (f"default-src 'self'; img-src 'self' {' '.join(image_origins)};"
            " frame-ancestors 'none'")


def browser_writes(auth: Auth) -> Middleware:
    """Refuse a write that a page of another origin made a browser send (403), before its
    body is read: a tablet's cookie must not work for a page on another port of this host."""
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in WRITE_METHODS and not auth.from_here(request):
            return error_response(403, Code.FORBIDDEN, "cross-origin write refused")
        return await handler(request)
    return middleware


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response: no sniffing of types, no name or version of the software we run."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    # aiohttp fills in `Server: Python/x aiohttp/y` unless the header is already set.
    response.headers[hdrs.SERVER] = ""
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")


def hide_server_name() -> None:
    """Also for the responses aiohttp makes before any application sees the request (a
    malformed request's 400), which no response hook reaches: it reads this module attribute
    for each of them. Process-wide, and the same value every time."""
    setattr(web_response, "SERVER_SOFTWARE", "")

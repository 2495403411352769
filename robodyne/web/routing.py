"""A REST route as one declaration (method, path, handler, the need it checks, the item a POST
writes), and the table of them: added to the router behind the one wrapper that checks each
route's need, and asked by web/idempotency.py what the request in hand writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from aiohttp import web
from aiohttp.typedefs import Handler

from .auth import Auth
from .needs import Caller, Need
from .payload import MAX_BODY_BYTES

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
CallerHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


class Writes(NamedTuple):
    """The item a POST creates or changes: its kind (a topic, or core/topics.py's PAYMENTS),
    and the status its answer has."""

    item: str
    creates: bool

    @property
    def status(self) -> int:
        return 201 if self.creates else 200


def creates(item: str) -> Writes:
    return Writes(item, creates=True)


def changes(item: str) -> Writes:
    return Writes(item, creates=False)


@dataclass(frozen=True)
class Route:
    """One REST route. `writes`: the item a POST creates or changes, which a retry after a
    crash gets as its answer (web/idempotency.py); None where there is none to give.
    `max_body`: the most of a body it reads (web/payload.py), 413 beyond. `keyed`: whether an
    Idempotency-Key keeps its answer (not where the answer is a secret, SPEC §5)."""

    method: Method
    path: str
    handler: CallerHandler
    need: Need
    writes: Writes | None = None
    max_body: int = MAX_BODY_BYTES
    keyed: bool = True


def checked(route: Route, auth: Auth) -> Handler:
    """The route's handler behind its need: the check runs first, and hands it the caller."""
    need, handler = route.need, route.handler

    async def run(request: web.Request) -> web.StreamResponse:
        return await handler(request, await need.check(request, auth))
    return run


class RouteTable:
    """The REST routes, each method and path declared once."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        self._routes: dict[tuple[str, str], Route] = {
            (route.method, route.path): route for route in self.routes}
        if len(self._routes) != len(self.routes):
            raise ValueError("a method and path are declared twice")

    def add_to(self, router: web.UrlDispatcher, auth: Auth) -> None:
        for route in self.routes:
            if route.method == "GET":
                router.add_get(route.path, checked(route, auth))  # and HEAD, as aiohttp does
            else:
                router.add_route(route.method, route.path, checked(route, auth))

    def writes(self, request: web.Request) -> Writes | None:
        """What the route the request matched writes (None: no route of ours matched)."""
        route = self._matched(request)
        return route.writes if route is not None else None

    def keyed(self, request: web.Request) -> bool:
        """Whether the request's Idempotency-Key is kept: only on a route of ours that keeps
        keys (a 404 or 405 has no route, so no key is ever stored for it)."""
        route = self._matched(request)
        return route is not None and route.keyed

    def max_body(self, request: web.Request) -> int:
        """The most of a body the route the request matched reads."""
        route = self._matched(request)
        return route.max_body if route is not None else MAX_BODY_BYTES

    def _matched(self, request: web.Request) -> Route | None:
        resource = request.match_info.route.resource
        if resource is None:
            return None
        return self._routes.get((request.method, resource.canonical))

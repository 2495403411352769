"""The REST route table (web/routes.py) and the needs it declares, read without sockets."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from robodyne.app import create_app
from robodyne.core.errors import Forbidden, NotFound, Unauthorized
from robodyne.core.roles import Role, Scope
from robodyne.core.tokens import Grant, Refusals, TokenBook
from robodyne.core.topics import PAYMENTS, STATE_TOPICS, Topic
from robodyne.web.auth import Auth
from robodyne.app import PARTS
from robodyne.web.needs import (
    ANY_TOKEN,
    GUEST,
    METRICS,
    PARTY,
    READ_NAMED_TOPIC,
    Need,
    Read,
    Write,
    WriteFields,
)
from robodyne.web.bodies import Body, MenuItemPatch, OrderIn
from robodyne.web.routes import MENU_CHANGE, ORDER_PLACING, REST_ROUTES
from robodyne.web.routing import Route, RouteTable
from tests.support.server import TOKENS, make_settings

TOKEN = {role: token for token, role in TOKENS.items()}


@pytest.fixture
def routes(tmp_path: Path) -> tuple[Route, ...]:
    return create_app(make_settings(tmp_path / "robodyne.db"))[REST_ROUTES].routes


@pytest.fixture
def auth(tmp_path: Path) -> Auth:
    book = TokenBook({token: Grant(Role(role)) for token, role in TOKENS.items()})
    parts = create_app(make_settings(tmp_path / "robodyne.db"))[PARTS]
    return Auth(book, [], Refusals(logging.getLogger("test"), time.monotonic),
                parts.guest_sessions, parts.auth.parties)


async def check(need: Need, auth: Auth, role: str | None, topic: str = "orders") -> Grant:
    headers = {"Authorization": f"Bearer {TOKEN[role]}"} if role else {}
    request = make_mocked_request("GET", f"/api/{topic}", headers=headers,
                                  match_info={"topic": topic})
    caller = await need.check(request, auth)
    assert isinstance(caller, Grant)
    return caller


def test_every_method_and_path_is_declared_once(routes: tuple[Route, ...]) -> None:
    declared = [(route.method, route.path) for route in routes]
    assert len(declared) == len(set(declared))
    with pytest.raises(ValueError, match="declared twice"):
        RouteTable([routes[0], routes[0]])


def test_every_post_that_creates_is_the_post_of_the_topic_it_creates(
    routes: tuple[Route, ...]
) -> None:
    posts = {route.path for route in routes if route.method == "POST"}
    created = set()
    for route in routes:
        if route.writes is not None:
            assert route.method == "POST", route  # only a POST takes an Idempotency-Key
            if route.writes.creates and route.writes.item == PAYMENTS:
                # A payment is the visit's: the POST of its visit's payments.
                assert route.path == f"/api/visits/{{id}}/{PAYMENTS}", route
            elif route.writes.creates:
                # A guest's own POSTs create on the topic their path names too.
                assert route.path in (f"/api/{route.writes.item}",
                                      f"/api/guest/{route.writes.item}"), route
                created.add(route.writes.item)
    assert created == {topic for topic in STATE_TOPICS
                       if f"/api/{topic}" in posts or f"/api/guest/{topic}" in posts}


def test_every_write_needs_a_scope_and_every_read_none(routes: tuple[Route, ...]) -> None:
    """A guest session's writes are its own (GUEST), the rest need a role's scope."""
    for route in routes:
        is_write = isinstance(route.need, Write | WriteFields)
        assert is_write == (route.method != "GET" and route.need is not GUEST), route
        assert route.need is not PARTY or route.method == "GET", route  # a party writes nothing


async def test_every_route_needs_a_token(routes: tuple[Route, ...], auth: Auth) -> None:
    for route in routes:
        with pytest.raises(Unauthorized):
            await check(route.need, auth, None)


async def test_a_need_grants_as_the_roles_table_says(auth: Auth) -> None:
    assert (await check(ANY_TOKEN, auth, "robot")).role is Role.ROBOT
    assert (await check(Read(Topic.ORDERS), auth, "kitchen")).role is Role.KITCHEN
    with pytest.raises(Forbidden, match="kitchen may not read customers"):
        await check(Read(Topic.CUSTOMERS), auth, "kitchen")
    assert (await check(READ_NAMED_TOPIC, auth, "floor", "customers")).role is Role.FLOOR
    with pytest.raises(Forbidden, match="maintenance may not read orders"):
        await check(READ_NAMED_TOPIC, auth, "maintenance", "orders")
    assert (await check(Write(Scope.MENU_AVAILABLE), auth, "kitchen")).role is Role.KITCHEN
    with pytest.raises(Forbidden, match="kitchen may not write menu"):
        await check(Write(Scope.MENU), auth, "kitchen")
    assert (await check(METRICS, auth, "maintenance")).role is Role.MAINTENANCE
    with pytest.raises(Forbidden, match="floor may not read metrics"):
        await check(METRICS, auth, "floor")


async def test_an_unknown_topic_is_not_found_before_the_token_is_looked_at(auth: Auth) -> None:
    with pytest.raises(NotFound, match="nothing"):
        await check(READ_NAMED_TOPIC, auth, None, "nothing")


def test_a_body_names_the_fields_it_sent_and_those_of_each_of_its_lines() -> None:
    order = OrderIn.model_validate({"table_id": 1, "items": [
        {"name": "Soup"}, {"menu_id": 2, "options": ["Large"]}, {"name": "Corkage", "price": 0}]})
    assert order.sent() == {"table_id", "items", "items.name", "items.menu_id", "items.options",
                            "items.price"}
    plain = OrderIn.model_validate({"table_id": 1, "items": [{"name": "Soup", "qty": 2}]})
    assert plain.sent() == {"table_id", "items", "items.name", "items.qty"}
    assert MenuItemPatch.model_validate({"available": False}).sent() == {"available"}


class _Line(Body):
    price: int | None = None
    parts: list["_Line"] = []


class _Wrapped(Body):
    line: _Line


def test_a_field_nested_however_deep_is_named_so_no_need_misses_it() -> None:
    wrapped = _Wrapped.model_validate({"line": {"parts": [{"parts": [{"price": 0}]}]}})
    assert wrapped.sent() == {"line", "line.parts", "line.parts.parts",
                              "line.parts.parts.price"}


def test_a_price_on_any_line_widens_the_order_need_and_the_kitchen_86_need_only_available(
) -> None:
    assert ORDER_PLACING.widens(frozenset({"table_id", "items", "items.price"}))
    assert not ORDER_PLACING.widens(frozenset({"table_id", "items", "items.name", "note"}))
    assert not MENU_CHANGE.widens(frozenset({"available"}))
    assert MENU_CHANGE.widens(frozenset({"available", "price"}))

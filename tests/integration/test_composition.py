"""The composition root: create_app builds every part from settings it leaves untouched, and
every registration a running app made is gone once it is closed."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp.test_utils import TestServer

from robodyne.app import PARTS, Parts, create_app
from robodyne.core.roles import Role
from robodyne.web.noise import LOGGER as AIOHTTP_SERVER

from ..support.server import ADMIN, make_settings
from ..support.wait import until


def _leftovers(parts: Parts) -> dict[str, list[object]]:
    """What a closed app's parts still tell one another: nothing, once every owner closed."""
    return {"store.on_commit": list(parts.store.on_commit),
            "store.on_health": list(parts.store.on_health),
            "tokens.on_revoke": list(parts.tokens.book.on_revoke),
            "restaurant.order_watchers": list(parts.restaurant.order_watchers)}


async def test_starting_in_demo_mode_leaves_the_callers_settings_as_they_were(
    tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "demo.db", auth={"tokens": {ADMIN: "admin"}},
                             simulation={"robots": 2})
    settings = settings.model_copy(update={"demo": True})
    before = settings.model_dump()
    app = create_app(settings)
    assert settings.model_dump() == before
    server = TestServer(app, port=0)
    await server.start_server()
    try:
        parts = app[PARTS]
        # the demo's robots get in with a token of the demo's own
        await until(lambda: parts.fleet.online_count() == 2, timeout=10,
                    what="both demo robots online")
        assert Role.ROBOT.value in parts.settings.auth.tokens.values()
        assert parts.settings.kitchen.stations != settings.kitchen.stations
        # A priced menu in won, named in Korean and English, in the demo's category order;
        # its orders name menu dishes and are priced by them.
        menu, _ = parts.hub.snapshot("menu")
        assert all(8000 <= dish["price"] <= 25000 and {"ko", "en"} <= set(dish["names"])
                   for dish in menu)
        assert any(dish["allergens"] for dish in menu)
        assert any(option["price"] == 1000 for dish in menu for option in dish["options"])
        categories = list(dict.fromkeys(dish["category"] for dish in menu))
        assert categories == parts.settings.restaurant.categories
        orders, _ = parts.hub.snapshot("orders")
        assert orders and all(item["menu_id"] is not None and item["price"] > 0
                              and order["total"] > 0 and order["source"] == "staff"
                              for order in orders for item in order["items"])
    finally:
        await server.close()
    assert settings.model_dump() == before
    assert settings.auth.tokens == {ADMIN: "admin"}


async def test_two_apps_started_and_closed_leave_no_handler_filter_or_listener_behind(
    tmp_path: Path
) -> None:
    root, aiohttp_server = logging.getLogger(), logging.getLogger(AIOHTTP_SERVER)
    handlers, filters = list(root.handlers), list(aiohttp_server.filters)
    for n in range(2):
        app = create_app(make_settings(tmp_path / f"app{n}.db"))
        server = TestServer(app, port=0)
        await server.start_server()
        parts = app[PARTS]
        assert parts.log_bridge in root.handlers
        assert all(_leftovers(parts).values())  # the running app's registrations are in place
        await server.close()
        assert root.handlers == handlers
        assert aiohttp_server.filters == filters
        assert _leftovers(parts) == dict.fromkeys(_leftovers(parts), [])

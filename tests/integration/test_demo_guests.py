"""The demo's guests order as real phones do: their table's link, its cookie, and the guest API
over HTTP to the running server (demo/guest.py); a refusal or a slow server costs a party,
never the demo."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import create_app
from robodyne.core.calls import CallKind
from robodyne.demo import guest as guest_module
from robodyne.demo.guest import GuestLine, GuestPhones, own_url

from ..support.api_client import Api
from ..support.process import free_port
from ..support.server import MakeServer, db_rows, make_settings, parts_of
from ..support.wait import until


async def test_in_demo_mode_guests_order_through_the_guest_api_with_their_tables_link(
    aiohttp_server: Any, tmp_path: Path, session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # The demo's guests come to the port the server is told to listen on (robodyne/app.py).
    port = free_port()
    settings = make_settings(tmp_path / "demo.db", server={"port": port},
                             simulation={"order_every_s": 0.1, "cook_s": 600, "robots": 0})
    server = await aiohttp_server(create_app(settings.model_copy(update={"demo": True})),
                                  port=port)
    api = Api(session, server)

    async def guest_orders() -> list[dict[str, Any]]:
        orders = (await api.ok("GET", "/api/orders"))["items"]
        return [order for order in orders if order["source"] == "guest"]
    [first, *_] = await until(guest_orders, timeout=15, what="a guest order", every=0.2)
    # A guest's session made it, of the table it was placed for, priced by the menu.
    assert db_rows(server, "SELECT COUNT(*) FROM guest_sessions")[0][0] > 0
    assert db_rows(server, "SELECT COUNT(*) FROM guest_sessions WHERE table_id = ?",
                   first["table_id"])[0][0] >= 1
    assert first["visit_id"] is not None and first["total"] > 0
    assert all(item["menu_id"] is not None for item in first["items"])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


# ---- one party's phones against a server, refused and slow ---------------------------------

@pytest.fixture
async def floor(make_server: MakeServer, session: aiohttp.ClientSession) -> AsyncIterator[Any]:
    """A server that takes one guest order per visit, a table, a dish, and phones for it."""
    server: TestServer = await make_server(guest={"max_orders_per_10min": 1})
    api = Api(session, server)
    table = await api.table("T1", 4)
    dish = await api.ok("POST", "/api/menu", {"name": "Soju", "price": 9000}, 201)
    phones = GuestPhones(str(server.make_url("/")), parts_of(server).links)
    yield server, api, table, dish, phones


def _lines(dish: dict[str, Any]) -> list[GuestLine]:
    return [GuestLine(menu_id=dish["id"], qty=2, options=[], note="no ice")]


async def test_a_party_orders_once_then_is_refused_by_the_visits_rate_and_its_call_is_made(
    floor: Any
) -> None:
    server, api, table, dish, phones = floor
    assert await phones.order(table["id"], _lines(dish), CallKind.WATER) is True
    [order] = (await api.ok("GET", "/api/orders"))["items"]
    assert (order["source"], order["table_id"], order["items"][0]["note"]) == (
        "guest", table["id"], "no ice")
    [call] = (await api.ok("GET", "/api/calls"))["items"]
    assert (call["kind"], call["table_id"], call["visit_id"]) == (
        "water", table["id"], order["visit_id"])
    # A second party's phones at the same visit: 429, one DEBUG line, no order, no call.
    assert await phones.order(table["id"], _lines(dish), CallKind.BILL) is False
    assert len((await api.ok("GET", "/api/orders"))["items"]) == 1
    assert len((await api.ok("GET", "/api/calls"))["items"]) == 1


async def test_a_table_out_of_service_or_a_dish_not_available_refuses_the_party(
    floor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=guest_module.__name__)
    server, api, table, dish, phones = floor
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "out_of_service"})
    assert await phones.order(table["id"], _lines(dish), None) is False
    await api.ok("PATCH", f"/api/tables/{table['id']}", {"status": "available"})
    await api.ok("PATCH", f"/api/menu/{dish['id']}", {"available": False})
    assert await phones.order(table["id"], _lines(dish), None) is False
    assert (await api.ok("GET", "/api/orders"))["items"] == []
    said = [r for r in caplog.records if r.name == guest_module.__name__]
    assert [r.levelno for r in said] == [logging.DEBUG] * 2
    assert "409" in said[0].getMessage() and "table_closed" in said[0].getMessage()


async def test_a_server_that_never_answers_costs_the_party_its_order_and_nothing_else(
    floor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, api, table, dish, _ = floor
    monkeypatch.setattr(guest_module, "REQUEST_TIMEOUT_S", 0.3)
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # reads nothing, answers nothing
    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = mute.sockets[0].getsockname()[1]
        phones = GuestPhones(own_url("0.0.0.0", port, tls=False), parts_of(server).links)
        assert await asyncio.wait_for(phones.order(table["id"], _lines(dish), None), 5) is False
        nobody = GuestPhones(own_url("127.0.0.1", free_port(), tls=False),
                             parts_of(server).links)
        assert await phones.order(table["id"], _lines(dish), None) is False
        assert await nobody.order(table["id"], _lines(dish), None) is False
    finally:
        for writer in held:
            writer.close()
        mute.close()
        await mute.wait_closed()


def test_the_servers_own_url_reaches_a_wildcard_host_through_loopback() -> None:
    assert own_url("0.0.0.0", 8000, tls=False) == "http://127.0.0.1:8000"
    assert own_url("", 8000, tls=True) == "https://127.0.0.1:8000"
    assert own_url("::", 8443, tls=True) == "https://[::1]:8443"
    assert own_url("192.168.1.20", 80, tls=False) == "http://192.168.1.20:80"
    assert own_url("robodyne.local", 8000, tls=False) == "http://robodyne.local:8000"

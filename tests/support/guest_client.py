"""A guest's phone for the tests: its own cookie jar, a table link opened through GET /t/{code},
then the guest routes and the /ws/guest stream with that cookie, as a browser would send them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer
from yarl import URL

from robodyne.web.auth import GUEST_COOKIE

from .api_client import Reply
from .server import ADMIN, receive_json


async def table_code(session: aiohttp.ClientSession, server: TestServer, table_id: int) -> str:
    """The table's link code, as the admin reads it."""
    async with session.get(server.make_url(f"/api/tables/{table_id}/link"),
                           headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert response.status == 200, await response.text()
        code: str = (await response.json())["code"]
        return code


class Phone:
    """One guest's browser: a cookie jar of its own (unsafe=True keeps cookies for 127.0.0.1),
    on a test's server or a `python run.py` at its base url."""

    def __init__(self, server: TestServer | str) -> None:
        # Our own pages' origin, as a browser sends it on a write.
        self.origin = (server if isinstance(server, str)
                       else str(server.make_url(""))).rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> URL:
        return URL(f"{self.origin}{path}")

    async def close(self) -> None:
        await self.session.close()

    @property
    def cookie(self) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == GUEST_COOKIE:
                return cookie.value
        return None

    async def open(self, code: str) -> int:
        """GET /t/{code}, as scanning the QR code does; the page's status."""
        async with self.session.get(self.url(f"/t/{code}")) as response:
            await response.read()
            return response.status

    async def call(self, method: str, path: str, json: Any = None, *,
                   key: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        sent = {"Origin": self.origin, **(headers or {})}
        if key is not None:
            sent["Idempotency-Key"] = key
        data = None
        if json is not None:
            data = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        async with self.session.request(method, self.url(path), data=data,
                                        headers=sent) as response:
            raw = await response.read()
            body = orjson.loads(raw) if response.content_type == "application/json" else raw
            return Reply(response.status, body, response.content_type, dict(response.headers))

    async def view(self) -> dict[str, Any]:
        reply = await self.call("GET", "/api/guest")
        assert reply.status == 200, reply
        assert len(reply.body["items"]) == 1, reply.body
        view: dict[str, Any] = reply.body["items"][0]
        return view

    async def order(self, *items: dict[str, Any], note: str = "",
                    key: str | None = None) -> Reply:
        return await self.call("POST", "/api/guest/orders",
                               {"items": list(items), "note": note},
                               key=key or str(uuid.uuid4()))

    @asynccontextmanager
    async def stream(self, **query: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """/ws/guest with the cookie; the caller reads its snapshot."""
        url = self.url("/ws/guest").with_query(
            {key: str(value) for key, value in query.items()})
        async with self.session.ws_connect(url) as ws:
            yield ws


async def next_view(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0
                    ) -> tuple[int, dict[str, Any]]:
    """The next update of a guest stream: its seq, and the view it carries."""
    message = await receive_json(ws, timeout)
    assert message["type"] == "update" and message["topic"] == "guest", message
    items = message["data"]["items"]
    assert len(items) == 1, message
    return message["seq"], items[0]


async def view_until(ws: aiohttp.ClientWebSocketResponse, wanted: Callable[[dict[str, Any]], bool],
                     timeout: float = 5.0) -> dict[str, Any]:
    """The first view of the stream's next updates that is as `wanted`."""
    while True:
        _, view = await next_view(ws, timeout)
        if wanted(view):
            return view

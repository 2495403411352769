"""A waiting party's phone for the tests: its own cookie jar, the party's link opened through
GET /w/{code}, then GET /api/party and the /ws/party stream with that cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from robodyne.web.auth import PARTY_COOKIE

from .guest_client import Phone
from .server import receive_json


class PartyPhone(Phone):
    """A party's browser: Phone's cookie jar and calls, on the party's routes."""

    @property
    def cookie(self) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == PARTY_COOKIE:
                return cookie.value
        return None

    async def open(self, link: str) -> int:
        """GET the party's link (/w/{code}), as scanning its QR code does; the page's status."""
        async with self.session.get(self.url(link)) as response:
            await response.read()
            return response.status

    async def view(self) -> dict[str, Any]:
        reply = await self.call("GET", "/api/party")
        assert reply.status == 200, reply
        assert len(reply.body["items"]) == 1, reply.body
        view: dict[str, Any] = reply.body["items"][0]
        return view

    @asynccontextmanager
    async def stream(self, **query: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """/ws/party with the cookie; the caller reads its snapshot."""
        url = self.url("/ws/party").with_query({key: str(value) for key, value in query.items()})
        async with self.session.ws_connect(url) as ws:
            yield ws


async def next_party_view(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0
                          ) -> tuple[int, dict[str, Any]]:
    """The next update of a party stream: its seq and the view it carries."""
    message = await receive_json(ws, timeout)
    assert message["type"] == "update" and message["topic"] == "party", message
    items = message["data"]["items"]
    assert len(items) == 1, message
    return message["seq"], items[0]

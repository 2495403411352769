"""An HTTP client for the REST tests, and the WebSocket reads they share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from .server import ADMIN, db_rows, events_of, receive_json, ws_url
from .browser import place_order
from .robot_client import RobotClient
from .wait import until


@dataclass
class Reply:
    status: int
    body: Any
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class Api:
    """A REST client for one server; every call returns the status and the decoded body."""

    def __init__(self, session: aiohttp.ClientSession, server: TestServer) -> None:
        self.session = session
        self.server = server

    async def call(self, method: str, path: str, json: Any = None, *, token: str | None = ADMIN,
                   headers: dict[str, str] | None = None, data: Any = None,
                   **kwargs: Any) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if json is not None:
            data = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.server.make_url(path), data=data,
                                        headers=sent, **kwargs) as response:
            raw = await response.read()
            body = orjson.loads(raw) if response.content_type == "application/json" else raw
            return Reply(response.status, body, response.content_type,
                         dict(response.headers))

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200,
                 **kwargs: Any) -> Any:
        reply = await self.call(method, path, json, **kwargs)
        assert reply.status == status, (method, path, reply)
        return reply.body

    async def table(self, label: str = "T1", seats: int = 4,
                    at: tuple[float, float] | None = None) -> dict[str, Any]:
        """A new table, standing `at` (x, y) on the floor map, else nowhere yet."""
        where = {} if at is None else {"x": at[0], "y": at[1]}
        body: dict[str, Any] = await self.ok("POST", "/api/tables",
                                             {"label": label, "seats": seats, **where}, 201)
        return body

    async def order(self, table_id: int, *names: str) -> dict[str, Any]:
        """One of each dish named (a soup when none is) for the table."""
        return await place_order(self.session, self.server, table_id,
                                 [(name, 1) for name in names or ("Soup",)])

    async def move(self, order_id: int, *statuses: str) -> dict[str, Any]:
        order: dict[str, Any] = {}
        for status in statuses:
            order = await self.ok("PATCH", f"/api/orders/{order_id}", {"status": status})
            assert order["status"] == status
        return order


def assert_error(reply: Reply, status: int, code: str, names: str | None = None) -> str:
    """The docs/api.md error shape, exactly; returns the message. `names`: what it must mention."""
    assert reply.status == status, reply
    assert reply.content_type == "application/json", reply
    assert isinstance(reply.body, dict) and set(reply.body) == {"error"}, reply.body
    error = reply.body["error"]
    assert set(error) == {"code", "message"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if names is not None:
        assert names in error["message"], error
    message: str = error["message"]
    return message


@asynccontextmanager
async def subscribed(session: aiohttp.ClientSession, server: TestServer, *topics: str,
                     token: str = ADMIN) -> AsyncIterator[list[aiohttp.ClientWebSocketResponse]]:
    """Open one WebSocket per topic and read past each snapshot."""
    async with AsyncExitStack() as stack:
        sockets = []
        for topic in topics:
            ws = await stack.enter_async_context(session.ws_connect(ws_url(server, topic, token)))
            snapshot = await receive_json(ws)
            assert snapshot["data"]["kind"] == "snapshot", snapshot
            sockets.append(ws)
        yield sockets


async def already_sent(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next update, which must already be on its way: no waiting for a later publish."""
    message = await receive_json(ws, timeout=0.5)
    assert message["type"] == "update", message
    return message


async def robot_offline(server: TestServer, robot_id: str) -> None:
    """Connect a robot, then drop it and wait until the server has marked it offline."""
    robot = await RobotClient.hello(server, robot_id)
    await robot.close()
    await until(lambda: db_rows(server, "SELECT 1 FROM robots WHERE id = ? AND connected = 0",
                                robot_id) and events_of(server, "robot_offline"))

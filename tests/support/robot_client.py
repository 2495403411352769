"""A bare robot for the tests: a real TCP connection speaking NDJSON."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp.test_utils import TestServer

from .server import parts_of


class RobotClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, server: TestServer) -> RobotClient:
        return await cls.connect_to("127.0.0.1", parts_of(server).robot_server.port)

    @classmethod
    async def connect_to(cls, host: str, port: int) -> RobotClient:
        """A connection to any robot port (a `python run.py` process's, say)."""
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    @classmethod
    async def hello(cls, server: TestServer, robot_id: str | None = "r1",
                    **extra: Any) -> RobotClient:
        robot = await cls.connect(server)
        await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": robot_id,
                          **extra})
        welcome = await robot.receive()
        assert welcome["type"] == "welcome", welcome
        return robot

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_raw(orjson.dumps(message) + b"\n")

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        assert line, "the server closed the connection"
        decoded: dict[str, Any] = orjson.loads(line)
        return decoded

    async def closed_by_server(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Read until EOF; return what came before it."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                return lines
            lines.append(orjson.loads(line))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass

"""A scripted robot for the dispatch tests: a real TCP session that reports where it is, waits
for the server's commands and answers them the way the test says."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp.test_utils import TestServer

from .robot_client import RobotClient


class FloorRobot:
    """One robot: lines that are not what a wait is for are kept for later waits."""

    def __init__(self, client: RobotClient, robot_id: str) -> None:
        self.client = client
        self.robot_id = robot_id
        self._held: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    @classmethod
    async def join(cls, server: TestServer, robot_id: str, *, x: float = 1.5, y: float = 6.0,
                   battery: float = 90, status: str = "idle") -> FloorRobot:
        robot = cls(await RobotClient.hello(server, robot_id), robot_id)
        await robot.report(status=status, battery=battery,
                           pose={"x": x, "y": y, "yaw": 0, "map": "floor"})
        return robot

    async def _line(self, wanted: Any, timeout: float) -> dict[str, Any]:
        for n, line in enumerate(self._held):
            if wanted(line):
                return self._held.pop(n)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            line = await self.client.receive(timeout=max(left, 0.01))
            if wanted(line):
                return line
            self._held.append(line)

    async def _acked(self, message: dict[str, Any]) -> None:
        message_id = f"{self.robot_id}-{next(self._ids)}"
        await self.client.send({**message, "id": message_id})
        reply = await self._line(lambda line: line.get("id") == message_id
                                 and line["type"] in ("ack", "error"), 5.0)
        assert reply["type"] == "ack", reply

    async def report(self, **state: Any) -> None:
        """A state line, acked: committed, and seen by the dispatcher, when this returns."""
        await self._acked({"type": "state", **state})

    async def command(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next command the server sends this robot."""
        return await self._line(lambda line: line["type"] == "command", timeout)

    async def no_command(self, within: float = 0.5) -> None:
        try:
            line = await self.command(timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"{self.robot_id} got an unexpected command: {line}")

    async def answer(self, command: dict[str, Any], status: str, detail: str = "") -> None:
        await self._acked({"type": "command_result", "command_id": command["id"],
                           "status": status, "detail": detail})

    async def event(self, event: str, **fields: Any) -> None:
        await self._acked({"type": "event", "event": event, **fields})

    async def deliver(self, command: dict[str, Any]) -> None:
        """Carry out a deliver command: accepted, then each stop arrived and delivered."""
        await self.answer(command, "accepted")
        for stop in command["stops"]:
            await self.event("arrived", task_id=command["task_id"], table_id=stop["table_id"])
            for order_id in stop["order_ids"]:
                await self.event("delivered", task_id=command["task_id"],
                                 table_id=stop["table_id"], order_id=order_id)

    async def close(self) -> None:
        await self.client.close()

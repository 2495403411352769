"""The simulated robot's client sends again what the server could not store (SPEC §4's
`unavailable`: "send it again later"), over a real TCP connection to a robot port that refuses
each record once: before, a delivery and the task's `done` refused during a full disk were
never sent again, and the task stayed underway until the robot next dropped (the service
bench's stuck tasks)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson

from robodyne.core.floor import DOCK
from robodyne.demo.client import RobotClient
from robodyne.demo.robot import SimRobot

from ..support.wait import until

DELIVER = {"type": "command", "id": "c1", "command": "deliver", "task_id": 7,
           "stops": [{"table_id": 1, "order_ids": [11], "x": DOCK[0] + 0.5, "y": DOCK[1]}]}


class RefusingPort:
    """A robot port that welcomes, sends one deliver command, and answers each record's
    first sending `unavailable`, its next an ack."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.refused: set[Any] = set()
        self.hellos = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        self.hellos += 1
        writer.write(orjson.dumps({"type": "welcome", "robot_id": "r1", "heartbeat_s": 5})
                     + b"\n" + orjson.dumps(DELIVER) + b"\n")
        while line := await reader.readline():
            message = orjson.loads(line)
            self.lines.append(message)
            if "id" not in message:
                continue
            if message["id"] in self.refused:
                reply = {"type": "ack", "id": message["id"]}
            else:
                self.refused.add(message["id"])
                reply = {"type": "error", "code": "unavailable", "id": message["id"],
                         "detail": "storage unavailable"}
            writer.write(orjson.dumps(reply) + b"\n")
            await writer.drain()
        writer.close()

    def sent(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.lines
                if all(line.get(key) == value for key, value in fields.items())]


async def test_a_delivery_and_a_result_refused_as_unavailable_are_sent_again_until_acked(
) -> None:
    port = RefusingPort()
    listener = await asyncio.start_server(port.serve, "127.0.0.1", 0)
    stop = asyncio.Event()
    client = RobotClient(SimRobot("r1", random.Random(1)), "Robo 1", host="127.0.0.1",
                         port=listener.sockets[0].getsockname()[1], token="t", hz=20,
                         stop=stop, rng=random.Random(1))
    running = asyncio.create_task(client.run())
    try:
        await until(lambda: len(port.sent(type="command_result", status="done")) == 2, 20,
                    "the task's done, refused once, sent again")
        delivered = port.sent(type="event", event="delivered", order_id=11)
        assert len(delivered) == 2 and delivered[0] == delivered[1]
        done = port.sent(type="command_result", status="done")
        assert done[0] == done[1] and done[0]["command_id"] == "c1"
        # Every record went twice, under its one id, and nothing was sent a third time.
        records = [line for line in port.lines if line["type"] != "state"]
        assert all(records.count(line) == 2 for line in records)
        assert port.hellos == 1
    finally:
        stop.set()
        await running
        listener.close()
        await listener.wait_closed()

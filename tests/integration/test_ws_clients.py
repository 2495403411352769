"""Bad input, oversize frames, rate limits, liveness and slow clients (docs/protocol.md,
"Liveness" to "Slow clients")."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from typing import Any

import aiohttp
import orjson
import psutil

from ..support.server import MakeServer, hub_of, parts_of, receive_close, receive_json, ws_url

# A frozen tablet that wakes up reads what was buffered, then its 4008 if the close frame
# could be written at once; if not, the server aborted the socket (the client sees 1006).
SLOW_OR_ABORTED = (4008, 1006)


async def _subscribed(
    session: aiohttp.ClientSession, url: str, **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, **kwargs)
    assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    return ws


async def test_bad_frames_get_an_error_and_the_connection_stays(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    ws = await _subscribed(session, ws_url(server, "orders"))
    await ws.send_str("{not json")
    assert (await receive_json(ws))["data"]["code"] == "invalid_json"
    await ws.send_bytes(b"\x00\x01binary")
    assert (await receive_json(ws))["data"]["code"] == "bad_message"
    await ws.send_str('{"type": "subscribe", "topic": "orders"}')
    error = await receive_json(ws)
    assert error == {"type": "error", "topic": "orders",
                     "data": {"code": "bad_message", "detail": error["data"]["detail"]}}
    assert "type" in error["data"]["detail"]
    await ws.send_str("[1, 2, 3]")
    assert (await receive_json(ws))["data"]["code"] == "bad_message"
    await ws.send_str('{"type": "ping", "data": {"timestamp": 42}}')
    assert await receive_json(ws) == {"type": "pong", "topic": "orders", "data": {"timestamp": 42}}
    hub_of(server).publish("orders", "delete", [], ids=[7])
    update = await receive_json(ws)
    assert update["type"] == "update" and update["data"]["ids"] == [7]
    await ws.close()


async def test_oversize_frame_closes_1009(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"max_message_bytes": 1024})
    ws = await _subscribed(session, ws_url(server, "orders"))
    await ws.send_str('{"type": "ping", "data": "' + "x" * 900 + '"}')  # just under: fine
    assert (await receive_json(ws))["type"] == "pong"
    await ws.send_str('{"type": "ping", "data": "' + "x" * 2000 + '"}')
    assert await receive_close(ws) == 1009


async def test_sustained_flood_closes_1008(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    ws = await _subscribed(session, ws_url(server, "orders"))
    for _ in range(60):  # a burst is fine
        await ws.send_str('{"type": "ping"}')
    for _ in range(60):
        assert (await receive_json(ws))["type"] == "pong"
    for _ in range(300):
        await ws.send_str('{"type": "ping"}')
    assert await receive_close(ws) == 1008


async def test_silent_peer_is_closed_4000_and_an_answering_one_stays(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"ping_interval_s": 0.2, "pong_timeout_s": 0.4})
    # autoping=False: this client ignores protocol pings as well as the JSON ones
    silent = await _subscribed(session, ws_url(server, "orders"), autoping=False)
    answering = await _subscribed(session, ws_url(server, "tables"), autoping=False)

    async def answer_pings() -> int:
        answered = 0
        while True:
            msg = await answering.receive()
            if msg.type == aiohttp.WSMsgType.PING:
                continue  # not answered: only the JSON pong keeps this peer alive
            if msg.type != aiohttp.WSMsgType.TEXT:
                return answered
            message = orjson.loads(msg.data)
            if message["type"] == "ping":
                await answering.send_str(orjson.dumps(
                    {"type": "pong", "topic": "tables", "data": message["data"]}).decode())
                answered += 1

    answerer = asyncio.create_task(answer_pings())
    pings = 0
    while True:
        msg = await silent.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.TEXT:
            assert orjson.loads(msg.data)["type"] == "ping"
            pings += 1
        elif msg.type == aiohttp.WSMsgType.PING:
            continue
        else:
            break
    assert silent.close_code == 4000
    assert pings >= 1
    await asyncio.sleep(1.0)  # several more ping rounds for the answering peer
    assert not answering.closed
    assert len(hub_of(server).topics["orders"].subscribers) == 0
    assert len(hub_of(server).topics["tables"].subscribers) == 1
    await answering.close()
    assert await answerer >= 2


async def test_protocol_pongs_alone_keep_a_peer_alive(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server(websocket={"ping_interval_s": 0.2, "pong_timeout_s": 0.4})
    # aiohttp's client answers protocol pings by itself (autoping) but never the JSON ping
    ws = await _subscribed(session, ws_url(server, "orders"))
    deadline = time.monotonic() + 1.5
    json_pings = 0
    while time.monotonic() < deadline:
        message = await receive_json(ws, timeout=2)
        json_pings += message["type"] == "ping"
    assert not ws.closed and json_pings >= 3
    await ws.close()


async def test_frozen_client_is_closed_4008_while_a_healthy_one_keeps_up(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    queue_max = 200
    server = await make_server(websocket={"send_queue_max": queue_max, "send_timeout_s": 1})
    hub = hub_of(server)
    frozen = await session.ws_connect(ws_url(server, "robots"))  # never reads until the end
    healthy = await _subscribed(session, ws_url(server, "robots"))
    padding = "x" * 4000
    latencies: list[float] = []
    last_seq = hub.topics["robots"].seq

    async def read_healthy() -> None:
        nonlocal last_seq
        while True:
            message = await receive_json(healthy)
            assert message["seq"] == last_seq + 1
            last_seq = message["seq"]
            latencies.append(time.perf_counter() - message["data"]["items"][0]["sent"])
            if message["data"]["items"][0]["id"] == "last":
                return

    reader = asyncio.create_task(read_healthy())
    frozen_closed = False
    for n in range(3000):
        hub.publish("robots", "upsert",
                    [{"id": f"r{n % 5}", "sent": time.perf_counter(), "pad": padding}])
        await asyncio.sleep(0.002)
        if len(hub.topics["robots"].subscribers) == 1:
            frozen_closed = True
            break
    for n in range(100):  # the healthy client goes on after the frozen one is gone
        hub.publish("robots", "upsert",
                    [{"id": f"r{n % 5}", "sent": time.perf_counter(), "pad": padding}])
        await asyncio.sleep(0.002)
    hub.publish("robots", "upsert", [{"id": "last", "sent": time.perf_counter()}])
    await asyncio.wait_for(reader, 10)

    assert frozen_closed, "the frozen client was never closed"
    assert hub.queue_high_water <= queue_max
    assert max(latencies) < 0.1
    # the frozen tablet wakes up: it reads what was buffered, then the end of the connection
    assert await receive_close(frozen, timeout=5) in SLOW_OR_ABORTED
    await healthy.close()


async def test_a_frozen_client_is_caught_before_the_kernel_buffers_fill(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    """A trickle of small frames would take minutes to fill loopback buffers: acks tell first."""
    server = await make_server(websocket={"send_timeout_s": 1})
    hub = hub_of(server)
    frozen = await session.ws_connect(ws_url(server, "robots"))  # never reads
    started = time.perf_counter()
    closed_after = None
    for n in range(2000):  # ~200 KB/s: the 4 MB the kernel would buffer lasts ~20 s
        hub.publish("robots", "upsert", [{"id": "r1", "n": n, "pad": "x" * 2000}])
        await asyncio.sleep(0.01)
        if not hub.topics["robots"].subscribers:
            closed_after = time.perf_counter() - started
            break
    assert closed_after is not None and closed_after < 10
    assert await receive_close(frozen, timeout=5) in SLOW_OR_ABORTED


async def _frozen_socket(port: int, topic: str) -> tuple[socket.socket, int]:
    """A WebSocket client that completes its handshake and then never reads another byte.

    Returns the socket (kept open, unread) and its local port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (
        f"GET /ws/{topic}?token=admin-token-test HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # byte by byte: nothing past the headers
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock, sock.getsockname()[1]


def _server_holds(server_port: int, client_port: int) -> bool:
    """Whether this process (the server) still has a socket open to that client."""
    return any(c.laddr and c.raddr and c.laddr.port == server_port
               and c.raddr.port == client_port
               for c in psutil.Process().net_connections(kind="tcp"))


async def test_nothing_of_a_frozen_client_is_held_past_send_timeout_plus_5_s(
    make_server: MakeServer
) -> None:
    """Crack 3: a frozen tablet's socket, queue and buffers go within send_timeout_s + 5 s.

    Its close frame cannot be written at once (everything before it is still waiting), so
    the socket is aborted instead of given a long goodbye.
    """
    send_timeout_s = 2
    server = await make_server(websocket={"send_timeout_s": send_timeout_s})
    hub, websockets = hub_of(server), parts_of(server).websockets
    sock, client_port = await _frozen_socket(server.port, "robots")
    stopped_reading = time.monotonic()
    assert _server_holds(server.port, client_port)
    released_after = None
    n = 0
    while time.monotonic() - stopped_reading < send_timeout_s + 10:
        for _ in range(5):  # messages keep waiting for it: ~200 KB/s
            hub.publish("robots", "upsert", [{"id": "r1", "n": n, "pad": "x" * 2000}])
            n += 1
        await asyncio.sleep(0.05)
        if not websockets.connections and not _server_holds(server.port, client_port):
            released_after = time.monotonic() - stopped_reading
            break
    sock.close()
    assert released_after is not None, "the server still holds the frozen client"
    assert released_after < send_timeout_s + 5
    assert not hub.topics["robots"].subscribers

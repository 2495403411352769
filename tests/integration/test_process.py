"""Running and stopping (docs/operations.md, docs/protocol.md "Shutdown") at the process level:
the real `python run.py`, real sockets, real signals."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
import tomllib
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType

from ..support.process import ServerProcess, clean_env, free_port, raise_fd_limit, run_to_exit

TOPICS = ("robots", "tables", "events", "orders", "status", "systemlogs", "customers",
          "inventory", "video_streams")
ADMIN = "test-admin-token-0123456789"
CONFIG_WITH_ADMIN = f"""
[websocket]
max_connections_per_topic = 1000
ping_interval_s = 300
[auth.tokens]
"{ADMIN}" = "admin"
"""
# The whole shutdown must fit in the budget of docs/protocol.md, "Shutdown", measured from the
# signal to the exit.
SHUTDOWN_BUDGET_S = 10.0


async def open_subscribed(session: aiohttp.ClientSession, url: str,
                          topic: str) -> aiohttp.ClientWebSocketResponse:
    """A WebSocket client that has received its topic's snapshot."""
    ws = await session.ws_connect(url, autoping=True, heartbeat=None,
                                  timeout=aiohttp.ClientWSTimeout(ws_close=10))
    msg = await ws.receive(timeout=30)
    assert msg.type is WSMsgType.TEXT, (topic, msg)
    frame = json.loads(msg.data)
    assert (frame["type"], frame["topic"], frame["data"]["kind"]) == ("update", topic, "snapshot")
    return ws


async def open_many(session: aiohttp.ClientSession, server: ServerProcess, count: int,
                    batch: int = 50) -> list[tuple[str, aiohttp.ClientWebSocketResponse]]:
    """`count` subscribed clients spread over every topic, opened concurrently in batches."""
    clients: list[tuple[str, aiohttp.ClientWebSocketResponse]] = []
    for start in range(0, count, batch):
        topics = [TOPICS[i % len(TOPICS)] for i in range(start, min(start + batch, count))]
        opened = await asyncio.gather(
            *(open_subscribed(session, server.ws_url(t, ADMIN), t) for t in topics))
        clients += zip(topics, opened)
    return clients


async def shutdown_then_1001(topic: str, ws: aiohttp.ClientWebSocketResponse) -> dict:
    """Read until the shutdown frame; the very next thing must be a close with 1001."""
    while True:
        msg = await ws.receive()
        assert msg.type is WSMsgType.TEXT, f"{topic}: {msg} before any shutdown frame"
        frame = json.loads(msg.data)
        if frame["type"] == "shutdown":
            break
        # Before the signal, a client may still see live traffic (e.g. status counts).
        assert frame["type"] in ("update", "ping"), frame
    closing = await ws.receive()
    assert closing.type is WSMsgType.CLOSE, f"{topic}: {closing} after the shutdown frame"
    assert closing.data == 1001, f"{topic}: closed with {closing.data}"
    return frame


def assert_shutdown_frame(frame: dict, topic: str) -> None:
    """The shutdown frame: {"type": "shutdown", "topic": T,
    "data": {"reason": …, "reconnect_after_ms": n}}."""
    assert frame["type"] == "shutdown"
    assert frame["topic"] == topic
    data = frame["data"]
    assert isinstance(data["reason"], str) and data["reason"]
    assert type(data["reconnect_after_ms"]) is int and data["reconnect_after_ms"] >= 0


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr, got:\n{text}"
    return lines[0]


# --- a refused configuration: exit 2, one line naming the key ---------------------------------

@pytest.mark.parametrize(("toml", "key"), [
    ("[websocket]\nsend_queue_max = -1\n", "websocket.send_queue_max"),
    ('[server]\nport = "abc"\n', "server.port"),
    ("[websocket]\nsend_queue_maxx = 5\n", "websocket.send_queue_maxx"),
])
def test_bad_config_file_exits_2_with_one_line(tmp_path: Path, toml: str, key: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    result = run_to_exit(["--config", str(bad), "--db", str(tmp_path / "r.db")], tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert key in line and "Traceback" not in line
    assert not (tmp_path / "tokens.toml").exists(), "tokens made for a server that never ran"


@pytest.mark.parametrize(("name", "value", "key"), [
    ("ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX", "-1", "websocket.send_queue_max"),
    ("ROBODYNE_SERVER__PORT", "abc", "server.port"),
])
def test_bad_environment_value_exits_2_with_one_line(tmp_path: Path, name: str, value: str,
                                                     key: str) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[websocket]\nsend_queue_max = 10\n")
    result = run_to_exit(["--config", str(good), "--db", str(tmp_path / "r.db")], tmp_path,
                         env=clean_env(**{name: value}))
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert key in line and "Traceback" not in line


def test_missing_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_to_exit(["--config", str(tmp_path / "absent.toml")], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "absent.toml" in one_line(result.stderr)


def test_unusable_tokens_file_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "tokens.toml").write_text('[tokens]\n"abc" = "superuser"\n')
    config = tmp_path / "c.toml"
    config.write_text("")
    result = run_to_exit(["--config", str(config), "--db", str(tmp_path / "r.db"),
                          "--port", str(free_port())], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "tokens.toml" in one_line(result.stderr)


# --- first start makes the tokens, later starts reuse them quietly ----------------------------

async def test_first_start_creates_tokens_once_and_reuses_them(servers, session) -> None:
    first = servers("[websocket]\nping_interval_s = 300\n")
    tokens_file = first.db.parent / "tokens.toml"
    assert not tokens_file.exists()
    await first.start()
    try:
        assert stat.S_IMODE(os.stat(tokens_file).st_mode) == 0o600
        with tokens_file.open("rb") as file:
            tokens = tomllib.load(file)["tokens"]
        # Each with the moment it was made (GET /api/tokens shows it as created_at).
        assert sorted(value["role"] for value in tokens.values()) == ["admin", "kitchen"]
        assert all(isinstance(value["created_at"], datetime) for value in tokens.values())
        by_role = {value["role"]: token for token, value in tokens.items()}
        # The tokens go to the operator's log only, never to the systemlogs topic (which the
        # maintenance role reads) although they are logged as a WARNING.
        ws = await session.ws_connect(first.ws_url("systemlogs", by_role["admin"]))
        snapshot = await ws.receive(timeout=10)
        assert snapshot.type is WSMsgType.TEXT, snapshot
        assert json.loads(snapshot.data)["data"]["kind"] == "snapshot"
        for token in tokens:
            assert token not in snapshot.data
        await ws.close()
    finally:
        assert await first.stop() == 0

    # No token is ever logged: the one line says where they are and how to sign in.
    log = first.stderr()
    for token in tokens:
        assert len(token) >= 20
        assert token not in log, f"a token reached the log:\n{log}"
    [line] = [line for line in log.splitlines() if "first start" in line]
    assert f":{first.port}/login" in line and str(tokens_file) in line, line

    second = servers("[websocket]\nping_interval_s = 300\n", db=first.db)
    await second.start()
    try:
        # The reused tokens work on the new process: admin reads robots, kitchen reads orders.
        for topic, role in (("robots", "admin"), ("orders", "kitchen")):
            ws = await open_subscribed(session, second.ws_url(topic, by_role[role]), topic)
            await ws.close()
        # …and a kitchen token is still only a kitchen token (docs/protocol.md, "Roles").
        ws = await session.ws_connect(second.ws_url("systemlogs", by_role["kitchen"]))
        closing = await ws.receive(timeout=10)
        assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4403)
    finally:
        assert await second.stop() == 0
    with tokens_file.open("rb") as file:
        assert tomllib.load(file)["tokens"] == tokens
    log2 = second.stderr()
    for token in tokens:
        assert token not in log2, f"a later start printed a token again:\n{log2}"


async def test_tokens_from_config_make_no_tokens_file(servers, session) -> None:
    server = servers(CONFIG_WITH_ADMIN)
    await server.start()
    try:
        ws = await open_subscribed(session, server.ws_url("robots", ADMIN), "robots")
        await ws.close()
    finally:
        assert await server.stop() == 0
    assert not (server.db.parent / "tokens.toml").exists()


# --- SIGTERM: every client told and closed with 1001, exit 0 within 10 s ----------------------

async def test_sigterm_with_500_clients(servers, session) -> None:
    count = 500
    raise_fd_limit(2 * count + 256)  # our 500 sockets, and the server's (it inherits the limit)
    server = servers(CONFIG_WITH_ADMIN)
    await server.start()
    clients = await open_many(session, server, count)
    assert len(clients) == count
    readers = [asyncio.create_task(shutdown_then_1001(t, ws)) for t, ws in clients]

    signalled = time.monotonic()
    server.signal()
    exit_status = await server.wait(timeout=SHUTDOWN_BUDGET_S + 10)
    elapsed = time.monotonic() - signalled
    frames = await asyncio.wait_for(asyncio.gather(*readers), timeout=10)

    for (topic, _), frame in zip(clients, frames):
        assert_shutdown_frame(frame, topic)
    assert exit_status == 0, server.stderr()[-3000:]
    assert elapsed < SHUTDOWN_BUDGET_S, f"shutdown took {elapsed:.2f} s"
    assert "Traceback" not in server.stderr()


async def test_new_handshake_during_shutdown_is_refused(servers, session) -> None:
    """Once shutdown has begun, a new client gets no snapshot: it is refused.

    A client seeing its shutdown frame proves the shutdown has begun (aiohttp closes the
    listener before on_shutdown runs). We then try a fresh handshake and check the process was
    still running afterwards, so the refusal came from a live, shutting-down server and not
    from a dead port. (Measured: the attempt takes <1 ms, the process lives ~60 ms more.)
    docs/protocol.md ("Shutdown") says new handshakes get 1001; with the listener already
    closed they are refused
    at connect, which we accept as the stronger form of "stops accepting".
    """
    server = servers(CONFIG_WITH_ADMIN)
    await server.start()
    clients = await open_many(session, server, 100)
    frozen_topic, frozen = clients.pop()  # a frozen tablet: reads nothing from now on
    watcher_topic, watcher = clients.pop()
    readers = [asyncio.create_task(shutdown_then_1001(t, ws)) for t, ws in clients]

    signalled = time.monotonic()
    server.signal()
    assert_shutdown_frame(await shutdown_then_1001(watcher_topic, watcher), watcher_topic)

    try:
        late = await session.ws_connect(server.ws_url("robots", ADMIN))
    except aiohttp.ClientConnectionError:
        pass  # the listener is closed: the handshake never starts
    else:
        msg = await late.receive(timeout=10)
        assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1001), f"a late handshake got {msg}"
    assert server.proc is not None
    assert server.proc.poll() is None, "server exited before the late handshake was refused"

    # A frozen client does not hold the shutdown beyond its budget, and every other client got
    # the frame and the 1001 close.
    assert await server.wait(timeout=SHUTDOWN_BUDGET_S + 10) == 0
    assert time.monotonic() - signalled < SHUTDOWN_BUDGET_S
    for (topic, _), frame in zip(clients, await asyncio.wait_for(asyncio.gather(*readers), 10)):
        assert_shutdown_frame(frame, topic)
    # What reached the frozen client's socket: the shutdown frame, then the 1001 close.
    assert_shutdown_frame(await shutdown_then_1001(frozen_topic, frozen), frozen_topic)

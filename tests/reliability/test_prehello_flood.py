"""A flood of strangers on the robot port (issue 22, item 2), against `python run.py`: the
server's RSS before, during and after 3,000 connections that never say hello, each sending a
60 KB line and staying until the server closes it; at most tcp.max_pending are held, and memory
comes back near where it was."""

from __future__ import annotations

from collections.abc import Callable

import psutil

from bench.prehello import flood, settled_rss

from ..support.process import ServerProcess, raise_fd_limit
from ..support.robot_client import RobotClient

ROBOT = "flood-robot-token-0123456789"
CONFIG = f"""
[server]
host = "127.0.0.1"
[tcp]
host = "127.0.0.1"
[auth.tokens]
"{ROBOT}" = "robot"
"""
# Issue 22 measured +545 MB for 6,000 strangers; these bounds leave room for the allocator's
# own habits on a shared box while being far below that.
PEAK_MARGIN_MB = 100
AFTER_MARGIN_MB = 50


async def test_a_flood_of_strangers_before_hello_leaves_memory_near_its_baseline(
    servers: Callable[..., ServerProcess],
) -> None:
    raise_fd_limit(4096)
    server = servers(CONFIG)
    await server.start()
    assert server.proc is not None
    rss = psutil.Process(server.proc.pid).memory_info
    before = settled_rss(lambda: rss().rss, seconds=1.0)
    result = await flood("127.0.0.1", server.tcp_port, server.proc.pid, connections=3000)
    after = settled_rss(lambda: rss().rss, seconds=1.0)
    # Every one closed by the server (past tcp.max_pending, or past 4,096 bytes before a
    # hello), none held. How soon is the bench's to say (bench/prehello.py, "closed at once"):
    # on a loaded CI box a sixth of them took longer than its 1 s.
    assert result.failed == 0 and result.held == 0, result
    assert result.connected == result.closed_at_once + result.closed_later == 3000, result
    peak_mb, after_mb = (max(result.rss) - before) / 2**20, (after - before) / 2**20
    assert peak_mb < PEAK_MARGIN_MB, f"RSS rose {peak_mb:.1f} MB during the flood"
    assert after_mb < AFTER_MARGIN_MB, f"RSS stayed {after_mb:.1f} MB up after the flood"
    # A robot is welcomed once the strangers are gone.
    robot = await RobotClient.connect_to("127.0.0.1", server.tcp_port)
    await robot.send({"type": "hello", "token": ROBOT, "robot_id": "after-flood"})
    assert (await robot.receive())["type"] == "welcome"
    await robot.close()

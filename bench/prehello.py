"""python -m bench prehello: the server's memory before, during and after a flood of
connections to the robot port that never say hello (docs/benchmarks.md, "Strangers on the
robot port"; SPEC §4: at most tcp.max_pending of them are held, each for at most 4,096 bytes).

Each stranger connects, sends a 60 KB line without its newline (what a line could hold before
the bound) and stays until the server closes it (or 12 s); they connect in waves of 500 and all
of them stay at once. The server's RSS is sampled
all along from this process (psutil), so the peak is the server's, not the flood's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import psutil

from .servers import Server, raise_fd_limit

JUNK: Final = b"x" * 60_000
# A stranger closed within this long was closed at once; the hello timeout is 10 s, and a
# stranger still open after HOLD_S gives up by itself.
AT_ONCE_S: Final = 1.0
HOLD_S: Final = 12.0

COLUMNS: Final = [("connections", "strangers"), ("closed_at_once", "closed at once"),
                  ("rss_before_mb", "RSS before MB"), ("rss_peak_mb", "RSS peak MB"),
                  ("rss_after_mb", "RSS after MB"), ("flood_s", "flood s")]


@dataclass
class Flood:
    """What the strangers saw, and the server's RSS sampled while they came."""

    connected: int = 0
    closed_at_once: int = 0
    closed_later: int = 0
    held: int = 0
    failed: int = 0
    rss: list[int] = field(default_factory=list)


async def _stranger(host: str, port: int, flood: Flood) -> None:
    """Connect, send 60 KB without a newline, and stay until the server closes the socket."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        flood.failed += 1
        return
    flood.connected += 1
    started = time.monotonic()
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(JUNK)
            await writer.drain()
        try:
            await asyncio.wait_for(reader.read(), HOLD_S)
        except ConnectionError:
            pass  # reset: closed with our bytes unread
        except asyncio.TimeoutError:
            flood.held += 1
            return
        if time.monotonic() - started < AT_ONCE_S:
            flood.closed_at_once += 1
        else:
            flood.closed_later += 1
    finally:
        writer.close()


async def flood(host: str, port: int, pid: int, *, connections: int, wave: int = 500,
                every_s: float = 0.05) -> Flood:
    """`connections` strangers, `wave` at a time connecting, every one of them kept open until
    the server closes it; the RSS of `pid` sampled meanwhile."""
    result = Flood()
    server = psutil.Process(pid)

    async def sample() -> None:
        while True:
            result.rss.append(server.memory_info().rss)
            await asyncio.sleep(every_s)

    sampler = asyncio.create_task(sample())
    strangers: list[asyncio.Task[None]] = []
    try:
        for start in range(0, connections, wave):
            strangers += [asyncio.create_task(_stranger(host, port, result))
                          for _ in range(min(wave, connections - start))]
            # The next wave once this one is in (the listen backlog is 100).
            while result.connected + result.failed < len(strangers):
                await asyncio.sleep(0.01)
        await asyncio.gather(*strangers)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    return result


def settled_rss(rss: Callable[[], int], seconds: float = 2.0) -> int:
    """The RSS once it has stopped moving for a while (the lowest of the last samples)."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(rss())
        time.sleep(0.1)
    return min(samples[len(samples) // 2:])


def prehello(kind: str, *, connections: int, wave: int = 500) -> dict[str, Any]:
    """One server, one flood: RSS before, at its peak and after, in MB."""
    if kind != "robodyne":
        raise ValueError(f"the prehello scenario runs robodyne only, got {kind!r}")
    raise_fd_limit()
    server = Server(kind)
    server.start()
    try:
        assert server.process is not None
        before = settled_rss(server.rss_bytes)
        started = time.monotonic()
        result = asyncio.run(flood("127.0.0.1", server.tcp_port, server.process.pid,
                                   connections=connections, wave=wave))
        flood_s = time.monotonic() - started
        after = settled_rss(server.rss_bytes)
        refused = server.metric("robodyne_tcp_pending_refused_total")
    finally:
        server.stop()
    return {"scenario": "prehello", "server": kind, "connections": connections, "wave": wave,
            "closed_at_once": result.closed_at_once, "closed_later": result.closed_later,
            "held": result.held, "failed": result.failed, "pending_refused_metric": refused,
            "flood_s": flood_s,
            "rss_before_mb": before / 2**20, "rss_peak_mb": max(result.rss) / 2**20,
            "rss_after_mb": after / 2**20}

"""Load generators, each run as its own process: WebSocket subscribers and TCP robots.

`python -m bench.load '<json spec>'` prints `ready` once connected, then writes its result as
JSON to the spec's `out` file (a file, not stdout: a full pipe would stall the process).
Latency is measured end to end: a robot writes `pose.x = time.time()` into its state line and a
subscriber takes `time.time() - x` when it parses the frame carrying that pose.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import aiohttp
import orjson

from .stats import Histogram

PROBE_EVERY = 4
# A robot's last line is acked once the server has worked through all before it; a server
# still this far behind after the robots stop counts those robots' lines as not accepted.
ACK_WAIT_S = 10
FLOOD_BATCH = 50
HELLO_WAVE = 32


async def _acked(reader: asyncio.StreamReader, message_id: int) -> None:
    """Read replies until the ack of `message_id`."""
    needle = f'"id":{message_id}}}'.encode()
    while line := await reader.readline():
        if b'"ack"' in line and needle in line.replace(b" ", b""):
            return
    raise ConnectionError("closed before the ack")


class Subscriber:
    """One WebSocket client: counts frames and robot states, checks seq, measures latency."""

    def __init__(self, topic: str, histogram: Histogram, probe: bool) -> None:
        self.topic = topic
        self.histogram = histogram
        # Probes look inside every frame for latency; the rest only check seq, which keeps the
        # load generator from becoming what is measured.
        self.probe = probe
        self.frames = 0
        self.states = 0
        self.gaps = 0
        self.duplicates = 0
        self.last_seq: int | None = None
        self.seen_x: dict[Any, float] = {}
        self.close_code: int | None = None

    def frame(self, raw: str | bytes, now: float) -> dict[str, Any] | None:
        message = orjson.loads(raw)
        if message.get("type") != "update":
            return message
        self.frames += 1
        seq = message.get("seq")
        if seq is not None:
            if self.last_seq is not None and message["data"].get("kind") != "snapshot":
                if seq <= self.last_seq:
                    self.duplicates += 1
                elif seq > self.last_seq + 1:
                    self.gaps += seq - self.last_seq - 1
            self.last_seq = seq
        if not self.probe:
            return None
        data = message["data"]
        items = data if isinstance(data, list) else data.get("items") or data.get("robots") or []
        if self.topic == "status" and items and isinstance(items[0], dict) and "robots" in items[0]:
            items = items[0]["robots"].get("items", [])
        for item in items:
            pose = item.get("pose") if isinstance(item, dict) else None
            if not pose:
                continue
            sent = pose.get("x", 0)
            if sent > 1e9 and self.seen_x.get(item.get("id")) != sent:
                self.seen_x[item.get("id")] = sent
                self.states += 1
                self.histogram.add(now - sent)
        return None


async def run_subscribers(spec: dict[str, Any]) -> dict[str, Any]:
    histograms = {topic: Histogram() for topic in spec["topics"]}
    clients: list[tuple[Subscriber, aiohttp.ClientWebSocketResponse]] = []
    frozen: list[aiohttp.ClientWebSocketResponse] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def connect(topic: str) -> aiohttp.ClientWebSocketResponse:
            url = f"{spec['url']}/ws/{topic}?token={spec['token']}"
            return await session.ws_connect(url, max_msg_size=0,
                                            timeout=aiohttp.ClientWSTimeout(ws_close=5))

        plan = [topic for topic, count in spec["topics"].items() for _ in range(count)]
        connect_started = time.perf_counter()
        # in batches: a burst of 10,000 handshakes is its own test
        for start in range(0, len(plan), 200):
            sockets = await asyncio.gather(*(connect(t) for t in plan[start:start + 200]))
            clients += [(Subscriber(t, histograms[t], probe=(start + n) % PROBE_EVERY == 0), ws)
                        for n, (t, ws) in enumerate(zip(plan[start:start + 200], sockets))]
        frozen = [await connect("robots") for _ in range(spec.get("frozen", 0))]
        connect_s = time.perf_counter() - connect_started
        print("ready", flush=True)
        stop_at = time.monotonic() + spec["duration"]

        async def read(subscriber: Subscriber, ws: aiohttp.ClientWebSocketResponse) -> None:
            # No per-receive timeout: a timer per frame would cost more than the frame.
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    reply = subscriber.frame(msg.data, time.time())
                    if reply and reply.get("type") == "ping":
                        await ws.send_str(orjson.dumps({"type": "pong", "topic": subscriber.topic,
                                                        "data": reply.get("data")}).decode())
            subscriber.close_code = ws.close_code

        readers = [asyncio.create_task(read(s, ws)) for s, ws in clients]
        # Until the duration is up, or sooner if the server has closed every client.
        await asyncio.wait(readers, timeout=max(0.0, stop_at - time.monotonic()))
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        frozen_codes = await asyncio.gather(*(_drain(ws) for ws in frozen))
        await asyncio.gather(*(ws.close() for _, ws in clients), return_exceptions=True)
    subscribers = [s for s, _ in clients]
    return {
        "clients": len(subscribers),
        "connect_s": connect_s,
        "frames": sum(s.frames for s in subscribers),
        # robots-topic states, counted by the probe clients (status carries robots too, but
        # each server fills it differently, so it is left out of the comparison)
        "states": sum(s.states for s in subscribers if s.probe and s.topic == "robots"),
        "probes": sum(1 for s in subscribers if s.probe and s.topic == "robots"),
        "robots_clients": sum(1 for s in subscribers if s.topic == "robots"),
        "gaps": sum(s.gaps for s in subscribers),
        "duplicates": sum(s.duplicates for s in subscribers),
        "silent_clients": sum(1 for s in subscribers if s.frames == 0),
        "closed_early": sum(1 for s in subscribers if s.close_code is not None),
        "latency": {topic: h.to_json() for topic, h in histograms.items()},
        "frozen_close_codes": frozen_codes,
        "cpu_s": time.process_time(),
    }


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read what a frozen client was sent, up to its close; return the close code."""
    try:
        async with asyncio.timeout(10):
            while True:
                msg = await ws.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.ERROR):
                    return ws.close_code
    except TimeoutError:
        await ws.close()
        return None


async def run_robots(spec: dict[str, Any]) -> dict[str, Any]:
    """R robots over TCP: paced at `hz`, or `flood` as fast as the server takes lines."""
    sent = [0] * spec["robots"]
    acked_at: list[float | None] = [None] * spec["robots"]
    connected = asyncio.Event()
    ready = [0]

    # Robodyne closes connections past tcp.max_pending [64] still waiting for their welcome:
    # robots say hello in waves smaller than that, as a real fleet coming up would.
    waves = asyncio.Semaphore(HELLO_WAVE)

    async def robot(n: int) -> None:
        async with waves:
            reader, writer = await asyncio.open_connection(spec["host"], spec["port"],
                                                           limit=1 << 20)
            writer.write(orjson.dumps({"type": "hello", "token": spec["token"],
                                       "robot_id": f"bench-{n}", "name": f"Bench {n}"}) + b"\n")
            if b"welcome" not in await reader.readline():
                raise ConnectionError(f"robot {n} was not welcomed")
        ready[0] += 1
        if ready[0] == spec["robots"]:
            connected.set()
        await connected.wait()
        stop_at = time.monotonic() + spec["duration"]
        if spec.get("flood"):
            # Closed loop: a batch, then the ack of a heartbeat behind it. The server's pace sets
            # the robots' pace, so no backlog piles up in socket buffers to skew the count.
            batch_no = 0
            while time.monotonic() < stop_at:
                batch_no += 1
                writer.write(b"".join(
                    orjson.dumps({"type": "state", "battery": 80,
                                  "pose": {"x": time.time(), "y": float(n), "yaw": 0.0}}) + b"\n"
                    for _ in range(FLOOD_BATCH))
                    + orjson.dumps({"type": "heartbeat", "id": batch_no}) + b"\n")
                try:
                    await asyncio.wait_for(_acked(reader, batch_no), ACK_WAIT_S)
                except (TimeoutError, ConnectionError):
                    break
                sent[n] += FLOOD_BATCH
        else:
            interval = 1 / spec["hz"]
            next_at = time.monotonic() + interval * (n / spec["robots"])  # spread the robots out
            while next_at < stop_at:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                writer.write(orjson.dumps({"type": "state", "battery": 80, "pose": {
                    "x": time.time(), "y": float(n), "yaw": 0.0}}) + b"\n")
                sent[n] += 1
                next_at += interval
        writer.write(b'{"type": "heartbeat", "id": "end"}\n')
        try:
            while line := await asyncio.wait_for(reader.readline(), ACK_WAIT_S):
                if b'"end"' in line:
                    acked_at[n] = time.perf_counter()
                    break
        except (TimeoutError, ConnectionError):
            pass  # not acked: counted as such
        writer.write(b'{"type": "bye"}\n')
        writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(robot(n)) for n in range(spec["robots"])]
    await connected.wait()
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    done = [t for t in acked_at if t is not None]
    finished = max(done) if done else time.perf_counter()
    accepted = sum(n for n, at in zip(sent, acked_at) if at is not None)
    return {"robots": spec["robots"], "lines": sum(sent), "accepted": accepted,
            "seconds": finished - started, "acked": len(done)}


def main() -> None:
    spec = orjson.loads(sys.argv[1])
    runner = run_subscribers if spec["role"] == "subscribers" else run_robots
    if spec["role"] != "subscribers":
        print("ready", flush=True)
    result = asyncio.run(runner(spec))
    with open(spec["out"], "wb") as out:
        out.write(orjson.dumps(result))


if __name__ == "__main__":
    main()

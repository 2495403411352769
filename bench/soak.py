"""python -m bench.soak --seconds N: mixed load on a Robodyne process, sampled every second.

Robots stream state (the simulator), tablets come and go (and resume), staff place and bump
orders over REST. Each second: the server's RSS, open fds, queued frames and event-loop lag.
The verdict: after warm-up, RSS and fds stay flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from robodyne.demo.client import run_fleet

from .servers import ADMIN_TOKEN, ROBOT_TOKEN, Server

WARM_UP_SHARE = 0.2
TABLETS = 20
TOPICS = ("robots", "orders", "tables", "events", "status", "systemlogs")


async def tablet(url: str, stop: asyncio.Event, rng: random.Random, counts: dict[str, int]) -> None:
    """Connect, stay a while, drop, come back with resume: what a tablet on Wi-Fi does."""
    topic = rng.choice(TOPICS)
    since: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            query = {"token": ADMIN_TOKEN, **since}
            try:
                async with session.ws_connect(f"{url}/ws/{topic}", params=query) as ws:
                    counts["connects"] += 1
                    stay_until = time.monotonic() + rng.uniform(1, 15)
                    while time.monotonic() < stay_until and not stop.is_set():
                        try:
                            msg = await ws.receive(timeout=1)
                        except asyncio.TimeoutError:
                            continue
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            break
                        message = json.loads(msg.data)
                        if message["type"] == "ping":
                            await ws.send_json({"type": "pong", "topic": topic,
                                                "data": message["data"]})
                        elif message["type"] == "update":
                            counts["updates"] += 1
                            epoch = message["data"].get("epoch", since.get("epoch"))
                            since = {"since": message["seq"], "epoch": epoch} if epoch else {}
            except aiohttp.ClientError:
                counts["errors"] += 1
            await asyncio.sleep(rng.uniform(0.1, 2))


# One order every 3 s is 1,200 an hour, a very busy restaurant. Served orders stay in the
# orders snapshot for an hour (docs/protocol.md, "Snapshot on subscribe"), so memory rises
# with them for the first hour.
ORDER_EVERY_S = 3.0


async def staff(url: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Place orders and move them along to served, one every ORDER_EVERY_S."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{url}/api/tables", json={"label": "Soak", "seats": 4}) as r:
            table_id = (await r.json())["id"]
        while not stop.is_set():
            async with session.post(f"{url}/api/orders", json={
                    "table_id": table_id, "items": [{"name": "Soup", "qty": 1}]}) as r:
                order = await r.json()
            for status in ("preparing", "ready", "served"):
                async with session.patch(f"{url}/api/orders/{order['id']}",
                                         json={"status": status}) as r:
                    counts["writes" if r.status == 200 else "errors"] += 1
            await asyncio.sleep(ORDER_EVERY_S)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def sample(server: Server, stop: asyncio.Event, started: float,
                 samples: list[dict[str, float]]) -> None:
    process = psutil.Process(server.process.pid if server.process else 0)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while not stop.is_set():
            async with session.get(f"{server.url}/metrics") as r:
                text = await r.text()
            samples.append({
                "t": round(time.monotonic() - started, 1),
                "rss_mb": process.memory_info().rss / 2**20,
                "fds": process.num_fds(),
                "queued_frames": _metric(text, "robodyne_ws_queued_frames"),
                "orders_in_memory": _metric(text, 'robodyne_topic_items{topic="orders"}'),
                "loop_lag_ms": _metric(text, "robodyne_event_loop_lag_seconds") * 1000,
                "ws_connections": sum(float(line.split()[1]) for line in text.splitlines()
                                      if line.startswith("robodyne_ws_connections{")),
            })
            await asyncio.sleep(1)


async def soak(seconds: float, robots: int = 10) -> dict[str, Any]:
    server = Server("robodyne")
    server.start()
    stop = asyncio.Event()
    counts = {"connects": 0, "updates": 0, "writes": 0, "errors": 0}
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    rng = random.Random(1)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(run_fleet("127.0.0.1", server.tcp_port, ROBOT_TOKEN, robots, 5,
                                        stop=stop, seed=1))
            for _ in range(TABLETS):
                group.create_task(tablet(server.url, stop, random.Random(rng.random()), counts))
            group.create_task(staff(server.url, stop, counts))
            group.create_task(sample(server, stop, started, samples))
            await asyncio.sleep(seconds)
            stop.set()
        exit_s = server.terminate()
    finally:
        server.stop()
    return {"seconds": seconds, "robots": robots, "tablets": TABLETS, **counts,
            "exit_s": exit_s, "samples": samples, "verdict": verdict(samples)}


def verdict(samples: list[dict[str, float]]) -> dict[str, float]:
    """Growth after warm-up: the first WARM_UP_SHARE of the run is when caches fill."""
    steady = samples[int(len(samples) * WARM_UP_SHARE):]
    if len(steady) < 2:
        return {}
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]

    def mean(rows: list[dict[str, float]], key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)
    return {
        "rss_first_third_mb": mean(first, "rss_mb"), "rss_last_third_mb": mean(last, "rss_mb"),
        "rss_growth_mb": mean(last, "rss_mb") - mean(first, "rss_mb"),
        "fds_first_third": mean(first, "fds"), "fds_last_third": mean(last, "fds"),
        "fds_growth": mean(last, "fds") - mean(first, "fds"),
        "loop_lag_max_ms": max(r["loop_lag_ms"] for r in steady),
        "orders_in_memory_last": steady[-1]["orders_in_memory"],
        "queued_frames_max": max(r["queued_frames"] for r in steady),
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = result["samples"]
    t = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(5, 1, figsize=(8, 9.5), dpi=110, sharex=True)
    for ax, key, label in zip(axes, ("rss_mb", "fds", "loop_lag_ms", "ws_connections",
                                     "orders_in_memory"),
                              ("RSS MB", "open fds", "loop lag ms", "WS clients",
                               "orders held")):
        ax.plot(t, [s[key] for s in samples], linewidth=0.8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[-1].set_xlabel("minutes")
    fig.suptitle(f"Soak: {result['robots']} robots at 5 Hz, {result['tablets']} tablets coming "
                 f"and going, REST writes; {result['seconds'] / 60:.0f} min")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--robots", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    result = asyncio.run(soak(args.seconds, args.robots))
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result))
    if args.plot:
        plot(result, args.plot)


if __name__ == "__main__":
    main()

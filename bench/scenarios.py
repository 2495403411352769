"""The five scenarios. Each starts a fresh server, drives it from load processes, returns a dict."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from .servers import ADMIN_TOKEN, ROBOT_TOKEN, ROOT, Server
from .stats import Histogram

SAMPLE_EVERY_S = 0.5


def _spawn(spec: dict[str, Any], module: str = "bench.load") -> subprocess.Popen[str]:
    spec["out"] = tempfile.mktemp(prefix="bench-load-", suffix=".json")
    process = subprocess.Popen([sys.executable, "-m", module, orjson.dumps(spec).decode()],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    process.args_out = spec["out"]  # type: ignore[attr-defined]
    return process


def _wait_ready(process: subprocess.Popen[str], timeout: float = 180) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip() == "ready":
            return
        if not line and process.poll() is not None:
            raise RuntimeError("a load process died before it was ready")
    raise RuntimeError("a load process was not ready in time")


def _result(process: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    process.communicate(timeout=timeout)
    out = Path(process.args_out)  # type: ignore[attr-defined]
    if not out.exists():
        raise RuntimeError("a load process gave no result")
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    out.unlink()
    return result


def _subscribers(server: Server, topics: dict[str, int], duration: float,
                 frozen: int = 0) -> subprocess.Popen[str]:
    return _spawn({"role": "subscribers", "url": server.url, "token": ADMIN_TOKEN,
                   "topics": topics, "duration": duration, "frozen": frozen})


def _robots(server: Server, robots: int, hz: float, duration: float,
            flood: bool = False) -> subprocess.Popen[str]:
    return _spawn({"role": "robots", "host": "127.0.0.1", "port": server.tcp_port,
                   "token": ROBOT_TOKEN, "robots": robots, "hz": hz, "duration": duration,
                   "flood": flood})


def _split(subscribers: int) -> dict[str, int]:
    """Most tablets watch robots; the rest watch status, which carries robot poses too
    (docs/protocol.md, "The status item")."""
    robots = max(1, round(subscribers * 0.8))
    return {"robots": robots, "status": subscribers - robots}


SUBSCRIBER_PROCESSES = 2  # one Python process cannot parse what one server sends to 500 tablets


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Add up what several subscriber processes measured."""
    merged: dict[str, Any] = {key: sum(r[key] for r in results) for key in (
        "clients", "frames", "states", "probes", "robots_clients", "gaps", "duplicates",
        "silent_clients", "closed_early", "cpu_s")}
    merged["frozen_close_codes"] = [code for r in results for code in r["frozen_close_codes"]]
    merged["latency"] = {}
    for result in results:
        for topic, data in result["latency"].items():
            histogram = merged["latency"].setdefault(topic, Histogram())
            histogram.merge(Histogram.from_json(data))
    return merged


def _subscriber_processes(server: Server, subscribers: int, duration: float,
                          frozen: int) -> list[subprocess.Popen[str]]:
    processes = []
    for n in range(SUBSCRIBER_PROCESSES):
        share = subscribers // SUBSCRIBER_PROCESSES + (n < subscribers % SUBSCRIBER_PROCESSES)
        frozen_share = frozen // SUBSCRIBER_PROCESSES + (n < frozen % SUBSCRIBER_PROCESSES)
        processes.append(_subscribers(server, _split(share), duration, frozen_share))
    for process in processes:
        _wait_ready(process)
    return processes


def fanout(kind: str, *, robots: int, hz: float, subscribers: int, duration: float,
           frozen: int = 0, flood: bool = False, send_timeout_s: float = 10) -> dict[str, Any]:
    """W subscribers on robots and status, R robots at H Hz; frozen ones never read."""
    server = Server(kind, send_timeout_s=send_timeout_s)
    server.start()
    try:
        rss_start = server.rss_bytes()
        cpu_start = server.cpu_seconds()
        subs = _subscriber_processes(server, subscribers, duration + 1.5, frozen)
        fleet = _robots(server, robots, hz, duration, flood)
        started = time.monotonic()
        rss: list[tuple[float, int]] = []
        slow_closed_at: float | None = None
        while any(p.poll() is None for p in [*subs, fleet]):
            elapsed = time.monotonic() - started
            rss.append((round(elapsed, 2), server.rss_bytes()))
            if frozen and slow_closed_at is None:
                closed = server.metric("robodyne_ws_clients_closed_total", 'reason="slow"')
                if closed is not None and closed >= frozen:
                    slow_closed_at = elapsed
            time.sleep(SAMPLE_EVERY_S)
        sub_result = _merge([_result(p) for p in subs])
        fleet_result = _result(fleet)
        cpu = server.cpu_seconds() - cpu_start
    finally:
        server.stop()
    robots_latency = sub_result["latency"]["robots"]
    return {
        "scenario": "frozen" if frozen else "fanout", "server": kind, "robots": robots, "hz": hz,
        "subscribers": subscribers, "frozen": frozen, "duration_s": duration,
        "lines_sent": fleet_result["lines"],
        # lines the server had worked through (acked) per second, until the last ack
        "lines_per_s": fleet_result["accepted"] / fleet_result["seconds"],
        "robots_acked": fleet_result["acked"],
        "frames_per_s": sub_result["frames"] / duration,
        # robot states delivered to all robots subscribers, from what the probe clients saw
        "delivered_states_per_s": sub_result["states"] / max(1, sub_result["probes"])
        * sub_result["robots_clients"] / duration,
        "latency": robots_latency.summary(),
        "gaps": sub_result["gaps"], "duplicates": sub_result["duplicates"],
        "silent_clients": sub_result["silent_clients"],
        "closed_early": sub_result["closed_early"],
        "frozen_close_codes": sorted(set(map(str, sub_result["frozen_close_codes"]))),
        "frozen_all_closed_after_s": slow_closed_at,
        "rss_start_mb": rss_start / 2**20,
        "rss_max_mb": max(r for _, r in rss) / 2**20 if rss else None,
        "rss_series": rss,
        "server_cpu_s": cpu,
        "subscriber_cpu_s": sub_result["cpu_s"],
    }


def idle(kind: str, *, connections: int) -> dict[str, Any]:
    """N connections spread over the topics; the server's RSS per connection."""
    server = Server(kind)
    server.start()
    try:
        time.sleep(0.5)
        before = server.rss_bytes()
        topics = ("robots", "tables", "orders", "events", "status", "systemlogs", "customers",
                  "inventory", "video_streams")
        plan = {t: connections // len(topics) + (i < connections % len(topics))
                for i, t in enumerate(topics)}
        subs = _subscribers(server, plan, duration=2)
        started = time.monotonic()
        _wait_ready(subs, timeout=600)
        connect_s = time.monotonic() - started
        time.sleep(1)
        after = server.rss_bytes()
        result = _result(subs)
    finally:
        server.stop()
    return {"scenario": "idle", "server": kind, "connections": connections,
            "connected": result["clients"] - result["closed_early"], "connect_s": connect_s,
            "rss_before_mb": before / 2**20, "rss_after_mb": after / 2**20,
            "kb_per_connection": (after - before) / connections / 1024}


def ingest(kind: str, *, robots: int, hz: float, subscribers: int,
           duration: float) -> dict[str, Any]:
    """R robots writing state at H Hz each (H = 0: as fast as the server takes them)."""
    result = fanout(kind, robots=robots, hz=hz or 1, subscribers=subscribers, duration=duration,
                    flood=not hz)
    result.update(scenario="ingest", hz=hz or "flood")
    return result


def persisted_robots(server: Server) -> int:
    with sqlite3.connect(server.workdir / "bench.db") as db:
        return int(db.execute("SELECT count(*) FROM robots").fetchone()[0])


def shutdown(kind: str, *, connections: int) -> dict[str, Any]:
    """SIGTERM with N clients connected: seconds until the process is gone."""
    server = Server(kind)
    server.start()
    try:
        topics = {"robots": connections // 2, "status": connections - connections // 2}
        subs = _subscribers(server, topics, duration=60)
        _wait_ready(subs, timeout=600)
        time.sleep(0.5)
        exit_s = server.terminate()
        result = _result(subs)
    finally:
        server.stop()
    return {"scenario": "shutdown", "server": kind, "connections": connections,
            "connected": result["clients"], "exit_s": exit_s,
            "exit_code": server.process.returncode if server.process else None,
            "clients_closed_by_server": result["closed_early"]}

"""python -m bench.ros2 [--quick]: the ROS 2 bridge's cost (docs/benchmarks.md, "ROS 2 bridge").

20 simulated Nav2 robots publish their pose at 10 Hz (pose x = the wall clock, `--clock`) into
one `robodyne-ros2` process, which carries them to a Robodyne server; in the same run 20 TCP
robots (bench/load.py) send state lines at 10 Hz straight to it. One robots-topic client takes
`time.time() - pose.x` for every new pose, apart for the two kinds of robot: the bridge's
extra latency is the difference. The bridge's CPU is sampled over the window with psutil.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson
import psutil

from .servers import ADMIN_TOKEN, ROBOT_TOKEN, ROOT, Server
from .stats import Histogram

RESULTS: Final = ROOT / "bench" / "results" / "ros2.json"
SIZES: Final = {"quick": 10.0, "full": 60.0}  # the window, in seconds
ROBOTS: Final = 20
HZ: Final = 10.0
KINDS: Final = {"ros-": "bridge", "bench-": "tcp"}


def _ros_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1",
            "ROS_DOMAIN_ID": str(random.randint(1, 101)),
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "PYTHONPATH": os.pathsep.join(sys.path)}


def _bridge_config(path: Path, port: int, robots: int, hz: float) -> Path:
    # state_hz above the pose rate: "at most" never holds a pose back, so what is measured
    # is the carrying, not the limit.
    lines = ["[server]", 'host = "127.0.0.1"', f"port = {port}"]
    for n in range(1, robots + 1):
        lines += ["[[robots]]", f'id = "ros-{n}"', f'token = "{ROBOT_TOKEN}"',
                  f'namespace = "/ros{n}"', f"state_hz = {hz * 2}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait_line(proc: subprocess.Popen[bytes], line: bytes, timeout: float = 60) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = proc.stdout.readline()
        if not got:
            raise RuntimeError(f"exited before {line!r}")
        if got.strip() == line:
            return
    raise RuntimeError(f"no {line!r} within {timeout} s")


async def _connected(url: str, robots: int, timeout: float = 60) -> None:
    """Until every ros-N robot is connected with a pose."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while time.monotonic() < deadline:
            async with session.get(f"{url}/api/robots") as response:
                items = (await response.json())["items"]
            if sum(1 for r in items if r["id"].startswith("ros-") and r["connected"]
                   and r["pose"]) == robots:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError("the bridge's robots did not all come")


async def _observe(url: str, duration: float) -> dict[str, Histogram]:
    """Latency of every new pose on the robots topic, by kind of robot, for `duration` s."""
    histograms = {kind: Histogram() for kind in KINDS.values()}
    seen: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url}/ws/robots?token={ADMIN_TOKEN}",
                                      max_msg_size=0) as ws:
            stop_at = time.monotonic() + duration
            while (left := stop_at - time.monotonic()) > 0:
                try:
                    msg = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                now = time.time()
                message = orjson.loads(msg.data)
                if message.get("type") == "ping":
                    await ws.send_str(orjson.dumps({"type": "pong", "topic": "robots",
                                                    "data": message.get("data")}).decode())
                    continue
                if message.get("type") != "update" or message["data"].get("kind") == "snapshot":
                    continue
                data = message["data"]
                items = data if isinstance(data, list) else data.get("items") or []
                for item in items:
                    pose = item.get("pose") if isinstance(item, dict) else None
                    x = pose.get("x", 0) if pose else 0
                    robot_id = str(item.get("id"))
                    kind = next((k for p, k in KINDS.items() if robot_id.startswith(p)), None)
                    if kind and x > 1e9 and seen.get(robot_id) != x:
                        seen[robot_id] = x
                        histograms[kind].add(now - x)
    return histograms


async def measure(robots: int, hz: float, duration: float) -> dict[str, Any]:
    server = Server("robodyne")
    server.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ros2-"))
    env = _ros_env()
    names = [f"ros{n}" for n in range(1, robots + 1)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sim = subprocess.Popen([sys.executable, "-m", "robodyne.ros2.sim", *names, "--clock",
                                "--hz", str(hz)], env=env, stdout=subprocess.PIPE,
                               stdin=subprocess.PIPE)
        procs.append(sim)
        _wait_line(sim, b"ready")
        config = _bridge_config(workdir / "ros2.toml", server.tcp_port, robots, hz)
        with (workdir / "bridge.log").open("wb") as log:
            bridge = subprocess.Popen([sys.executable, "-m", "robodyne.ros2", "--config",
                                       str(config), "--log-level", "WARNING"], env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
        procs.append(bridge)
        await _connected(server.url, robots)
        tcp_spec = {"role": "robots", "robots": robots, "hz": hz, "duration": duration + 2,
                    "host": "127.0.0.1", "port": server.tcp_port, "token": ROBOT_TOKEN,
                    "out": str(workdir / "tcp.json")}
        tcp = subprocess.Popen([sys.executable, "-m", "bench.load", json.dumps(tcp_spec)],
                               cwd=ROOT, stdout=subprocess.PIPE)
        procs.append(tcp)
        _wait_line(tcp, b"ready")
        await asyncio.sleep(1)  # the TCP robots connect and start sending
        assert server.process is not None
        watched = {"bridge": psutil.Process(bridge.pid), "sim": psutil.Process(sim.pid),
                   "server": psutil.Process(server.process.pid)}
        before = {name: _cpu(p) for name, p in watched.items()}
        started = time.perf_counter()
        histograms = await _observe(server.url, duration)
        elapsed = time.perf_counter() - started
        cpu = {name: round(100 * (_cpu(p) - before[name]) / elapsed, 1)
               for name, p in watched.items()}
        rss = {name: p.memory_info().rss // (1 << 20) for name, p in watched.items()}
        tcp.wait(timeout=duration + 30)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server.stop()
    return {"robots": robots, "hz": hz, "duration_s": duration,
            "cpu_percent_of_a_core": cpu, "rss_mib": rss,
            "latency": {kind: h.summary() for kind, h in histograms.items()}}


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ros2", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 10 s window instead of 60 s")
    args = parser.parse_args()
    result = asyncio.run(measure(ROBOTS, HZ, SIZES["quick" if args.quick else "full"]))
    result["cpus"] = os.cpu_count()
    if not args.quick:  # the quick run is a smoke test: it keeps the full run's numbers
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

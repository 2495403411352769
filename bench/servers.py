"""The servers under test, each in its own process: Robodyne, the raw limit, the seed reference."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "peers" / "seed_reference" / "server.py"
ADMIN_TOKEN = "bench-admin-token-0123"
ROBOT_TOKEN = "bench-robot-token-0123"
KITCHEN_TOKEN = "bench-kitchen-token-0123"
KINDS = ("robodyne", "raw", "seed")
# "base" is Robodyne from another checkout (`python -m bench … --base PATH`, e.g. a worktree of
# the commit before a change): before and after measured side by side in one run.
ROBODYNES = ("robodyne", "base")
BASE_ROOT: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    """10,000 WebSocket clients need more than the default 1024 descriptors, on both sides."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def seed_available() -> bool:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return SEED.exists()


@dataclass
class Server:
    """One server process on free ports, started and stopped by the scenario."""

    kind: str
    send_queue_max: int = 1024
    send_timeout_s: float = 10
    # More TOML appended to Robodyne's config, e.g. a [dispatch] section.
    extra_config: str = ""
    port: int = field(default_factory=free_port)
    tcp_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def root(self) -> Path:
        """The checkout the server runs from."""
        if self.kind != "base":
            return ROOT
        if BASE_ROOT is None:
            raise RuntimeError("the base server needs --base PATH")
        return BASE_ROOT

    def command(self) -> list[str]:
        db = str(self.workdir / "bench.db")
        if self.kind in ROBODYNES:
            config = self.workdir / "robodyne.toml"
            config.write_text(
                f'[server]\nhost = "127.0.0.1"\n[tcp]\nhost = "127.0.0.1"\n'
                f"[websocket]\nmax_connections_per_topic = 50000\n"
                f"send_queue_max = {self.send_queue_max}\nsend_timeout_s = {self.send_timeout_s}\n"
                f'[auth.tokens]\n"{ADMIN_TOKEN}" = "admin"\n"{ROBOT_TOKEN}" = "robot"\n'
                f'"{KITCHEN_TOKEN}" = "kitchen"\n'
                + self.extra_config)
            return [sys.executable, str(self.root / "run.py"), "--config", str(config),
                    "--port", str(self.port), "--tcp-port", str(self.tcp_port), "--db", db]
        if self.kind == "raw":
            return [sys.executable, str(ROOT / "bench" / "raw_server.py"),
                    "--port", str(self.port), "--tcp-port", str(self.tcp_port)]
        return [sys.executable, str(SEED), "--port", str(self.port), "--tcp-port",
                str(self.tcp_port), "--db", db, "--max-connections", "50000"]

    def start(self) -> None:
        raise_fd_limit()
        log = (self.workdir / "server.log").open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.kind == "base":  # its own package, not the one installed from this checkout
            env["PYTHONPATH"] = str(self.root)
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.root, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not become healthy: {self.log_tail()}")

    def rss_bytes(self) -> int:
        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample from Robodyne's /metrics; None for the baselines, which have none."""
        if self.kind not in ROBODYNES:
            return None
        request = urllib.request.Request(f"{self.url}/metrics",
                                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and labels in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    def terminate(self) -> float:
        """SIGTERM; seconds until the process is gone (killed after 30 s)."""
        assert self.process is not None
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.terminate()

    def log_tail(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

"""Run the real server, `python run.py`, as a subprocess for the process-level tests.

Nothing here mocks the server: a ServerProcess is the same command an operator (or systemd)
runs, on free ports, with its database, tokens.toml and log in the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
RUN_PY = REPO / "run.py"


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ROBODYNE_* variable the developer may have set, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODYNE_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_to_exit(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` expected to stop by itself (a refused configuration)."""
    return subprocess.run(
        [sys.executable, str(RUN_PY), *args], cwd=cwd, env=env if env is not None else clean_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def raise_fd_limit(needed: int) -> None:
    """Make room for `needed` descriptors here and in children (they inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class ServerProcess:
    """One `python run.py --config … --port … --tcp-port … --db …` and its log file."""

    def __init__(self, workdir: Path, config_text: str = "", *, db: Path | None = None,
                 env: dict[str, str] | None = None, name: str = "server",
                 tls: ssl.SSLContext | None = None, prefix: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        # A command the server is run under (tests/support/confine.py: a unit's restrictions).
        self.prefix = prefix
        # A client context that trusts the server's certificate: the server runs with
        # [auth] tls_cert/tls_key in config_text, and is spoken to over https/wss.
        self.tls = tls
        self.config = workdir / f"{name}.toml"
        self.config.write_text(config_text)
        self.db = db if db is not None else workdir / "data" / "robodyne.db"
        self.env = env if env is not None else clean_env()
        self.log_path = workdir / f"{name}.stderr.log"
        self.port = 0
        self.tcp_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def ws_url(self, topic: str, token: str) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ws/{topic}?token={token}"

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _spawn(self) -> None:
        self.port, self.tcp_port = free_port(), free_port()
        while self.tcp_port == self.port:
            self.tcp_port = free_port()
        self._launch()

    def _launch(self) -> None:
        args = [*self.prefix, sys.executable, str(RUN_PY), "--config", str(self.config),
                "--port", str(self.port), "--tcp-port", str(self.tcp_port), "--db", str(self.db)]
        # The log goes to a file: a pipe nobody drains while 500 clients connect would fill
        # up and block the server's own logging.
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.workdir, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    async def start(self, timeout: float = 20) -> None:
        """Spawn and wait for GET /healthz = 200 {"status": "ok"}; retry on a port race."""
        for attempt in range(3):
            self._spawn()
            if await self._wait_ready(timeout):
                return
            assert self.proc is not None
            log = self.stderr()
            if (self.proc.poll() is not None and "address already in use" in log.lower()
                    and attempt < 2):
                continue  # another process took the free port between our check and the bind
            self.kill()
            raise AssertionError(f"server did not become ready (exit {self.proc.returncode}):"
                                 f"\n{log}")

    async def restart(self, timeout: float = 20) -> None:
        """Start again on the same ports (after `stop`): its clients come back to it."""
        self._launch()
        assert await self._wait_ready(timeout), f"server did not come back:\n{self.stderr()}"

    async def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        connector = aiohttp.TCPConnector(ssl=self.tls if self.tls else True)
        async with aiohttp.ClientSession(connector=connector) as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    async with session.get(f"{self.base_url}/healthz",
                                           timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200 and (await resp.json()) == {"status": "ok"}:
                            return True
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        return False

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    async def wait(self, timeout: float) -> int:
        """The exit status, waited for without blocking the event loop."""
        assert self.proc is not None
        return await asyncio.to_thread(self.proc.wait, timeout)

    async def stop(self, timeout: float = 15) -> int:
        """SIGTERM, as systemd does, and the exit status."""
        self.signal(signal.SIGTERM)
        return await self.wait(timeout)

    def kill(self) -> None:
        """Teardown: never leave a server behind, whatever the test did."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

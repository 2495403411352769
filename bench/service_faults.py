"""The service bench's server and what happens to it: a supervisor that restarts `python run.py`
after it dies, as systemd's Restart=on-failure does, and the database's disk filling up.

docs/reliability.md, "A service under fire", says what each fault is and why it is done so.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import Final

import aiohttp

from .servers import Server, raise_fd_limit

# systemd's RestartSec in deploy/robodyne.service is 2 s; a little less keeps the bench short.
RESTART_S: Final = 1.5
READY_TIMEOUT_S: Final = 20.0
# The database's own disk: big enough for a full run's file and its WAL several times over.
DISK_SIZE: Final = "64m"
BALLAST_CHUNK: Final = 1 << 20


class Supervisor:
    """Keeps one `python run.py` running on the same ports and database: started again
    RESTART_S after it dies of anything but our own SIGTERM at the end."""

    def __init__(self, server: Server, db: Path) -> None:
        args = server.command()
        args[args.index("--db") + 1] = str(db)
        self.args = args
        self.url = server.url
        self.log_path = server.workdir / "server.log"
        self.process: asyncio.subprocess.Process | None = None
        self.ready: list[float] = []  # ... and of each first healthy answer after it
        self.deaths: list[tuple[float, int]] = []  # (monotonic time, exit status) of each death
        self._stopping = False
        self._running: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """The first start; returns once it answers /healthz, then keeps it running."""
        raise_fd_limit()
        await self._spawn()
        self._running = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    break
                with suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{self.url}/healthz",
                                           timeout=aiohttp.ClientTimeout(total=1)) as answer:
                        if answer.status == 200:
                            self.ready.append(time.monotonic())
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the server did not come up: {self.log_tail()}")

    async def _supervise(self) -> None:
        while True:
            assert self.process is not None
            status = await self.process.wait()
            if self._stopping:
                return
            self.deaths.append((time.monotonic(), status))
            await asyncio.sleep(RESTART_S)
            await self._spawn()

    def kill_9(self) -> float:
        """SIGKILL, as a power cut or the OOM killer would; the monotonic time it was sent."""
        os.kill(self.pid, signal.SIGKILL)
        return time.monotonic()

    async def stop(self) -> int:
        """SIGTERM, as systemd stops it, and its exit status; no restart after this one."""
        self._stopping = True
        assert self.process is not None and self._running is not None
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(self.process.wait(), 30)
        await self._running
        return status

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""


class Disk:
    """Where the database lives: a small tmpfs of its own that the fault fills with a ballast
    file (root can mount here), else a plain directory, and the fault is RLIMIT_FSIZE set on
    the server (its writes then fail with EFBIG). `mode` says which."""

    def __init__(self, where: Path) -> None:
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs",
                               str(where)], capture_output=True, text=True, check=False)
        self.mounted = done.returncode == 0
        self.mode = "tmpfs full" if self.mounted else "RLIMIT_FSIZE"
        self.why = "" if self.mounted else done.stderr.strip()
        self._ballast = where / "ballast"

    @property
    def db(self) -> Path:
        return self.where / "robodyne.db"

    def fill(self, pid: int) -> None:
        """No byte more for the database: the tmpfs filled to its last page, or the server's
        file size limit set to 0 (every write that grows a file fails)."""
        if not self.mounted:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            return
        chunk = BALLAST_CHUNK
        with self._ballast.open("wb", buffering=0) as ballast:
            while chunk:
                try:
                    ballast.write(b"\0" * chunk)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    chunk //= 2

    def free(self, pid: int) -> None:
        """The space (or the file size) given back."""
        if not self.mounted:
            with suppress(ProcessLookupError):
                resource.prlimit(pid, resource.RLIMIT_FSIZE,
                                 (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            return
        self._ballast.unlink(missing_ok=True)

    def release(self) -> None:
        """Unmount (the database goes with it: it was read before)."""
        if self.mounted and subprocess.run(["umount", str(self.where)], capture_output=True,
                                           check=False).returncode != 0:
            # Busy (a reader of the file not yet collected): detached now, freed once closed.
            subprocess.run(["umount", "--lazy", str(self.where)], capture_output=True,
                           check=False)

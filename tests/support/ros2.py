"""The ROS 2 bridge's tests: simulated Nav2 robots and the bridge as real processes on a DDS
domain of their own (a random ROS_DOMAIN_ID, localhost-only discovery)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

from .process import clean_env


def ros_env() -> dict[str, str]:
    """An environment whose DDS traffic stays on this machine and off other tests' domains."""
    # Domain ids above 101 can collide with Linux's ephemeral ports (ROS 2's own advice).
    return clean_env(ROS_DOMAIN_ID=str(random.randint(1, 101)),
                     ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                     PYTHONPATH=os.pathsep.join(sys.path))


class Child:
    """A `python -m MODULE` process whose stdout lines the test reads."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, env: dict[str, str], *args: str) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *args, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return cls(proc)

    async def expect(self, text: str, timeout: float = 30) -> str:
        """The next output line that starts with `text` or, for a log line, whose message
        does (the lines before it are kept)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                assert raw, f"exited before {text!r}:\n" + "\n".join(self.lines)
                line = raw.decode(errors="replace").rstrip()
                self.lines.append(line)
                if line.startswith(text) or f" {text}" in line:
                    return line

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def stop(self, timeout: float = 15) -> int:
        """SIGTERM and the exit status; everything it printed is in `lines` afterwards."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            self.lines += [raw.decode(errors="replace").rstrip()
                           async for raw in self.proc.stdout]
            return await self.proc.wait()

    async def kill(self) -> None:
        """Teardown: never leave a process behind, whatever the test did."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


def bridge_config(path: Path, port: int, robots: list[str], token: str = "robot-token-test",
                  cafile: Path | None = None, **robot: Any) -> Path:
    """A bridge config for `robots` (each named and namespaced as itself) at 127.0.0.1:port,
    over TLS when `cafile` is given."""
    settings = {"dwell_s": 0.3, "state_hz": 10, "stale_s": 3, **robot}
    lines = ["[server]", 'host = "127.0.0.1"', f"port = {port}"]
    if cafile is not None:
        lines.append(f'cafile = "{cafile}"')
    for robot_id in robots:
        lines += ["[[robots]]", f'id = "{robot_id}"', f'token = "{token}"',
                  f'namespace = "/{robot_id}"']
        lines += [f"{key} = {value!r}" if isinstance(value, str) else f"{key} = {value}"
                  for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path

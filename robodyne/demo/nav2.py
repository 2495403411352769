"""`run.py --demo --ros2`: one simulated Nav2 robot on the demo floor through the real ROS 2
bridge, both in a child process (`python -m robodyne.ros2.demo`): the server never imports ROS."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Final

log = logging.getLogger(__name__)

# The demo's robot token reaches the child in its environment, not on its command line (which
# every user of the box can read in ps).
TOKEN_VARIABLE: Final = "ROBODYNE_ROS2_DEMO_TOKEN"
STOP_TIMEOUT_S: Final = 5.0


class Nav2Demo:
    """The child process of the ROS 2 demo robot, for as long as the demo runs."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def run(self, port: int, stop: asyncio.Event) -> None:
        """Start the child against the robot port; SIGTERM it (it says bye) once `stop` is set."""
        env = {**os.environ, TOKEN_VARIABLE: self._token}
        # A demo's DDS traffic stays on this machine unless the operator says otherwise.
        env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "robodyne.ros2.demo", "--port", str(port), env=env,
            stdin=asyncio.subprocess.DEVNULL)
        exited = asyncio.create_task(child.wait())
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                log.warning("demo: the ROS 2 robot's bridge exited with %s", child.returncode)
        finally:
            stopped.cancel()
            if child.returncode is None:
                child.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await exited
            except TimeoutError:
                child.kill()
                await exited

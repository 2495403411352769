"""`python -m robodyne.ros2.demo --token TOKEN`: one simulated Nav2 robot on a running demo
floor (`python run.py --demo`) through the real bridge: the simulator as a child process on
this machine's DDS domain, the bridge in this process. SIGTERM or Ctrl-C ends both."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from ..core.floor import DOCK
from .bridge import run, serve
from .config import BridgeConfig, RobotConfig, ServerConfig

# The same name as robodyne/demo/nav2.py's, which starts this module (and may not be imported
# from here: the bridge uses only core/, wire/ and tls of the server's package).
TOKEN_VARIABLE = "ROBODYNE_ROS2_DEMO_TOKEN"


async def with_simulator(config: BridgeConfig, robot_id: str) -> None:
    """The simulator of `robot_id`, starting at the dock, and the bridge, until stopped."""
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robodyne.ros2.sim", robot_id, "--x", str(DOCK[0]),
        "--y", str(DOCK[1]), "--speed", "0.8", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL)
    try:
        await serve(config, None)
    finally:
        if sim.returncode is None:
            sim.terminate()
        await sim.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m robodyne.ros2.demo", description=__doc__)
    parser.add_argument("--token", default=os.environ.get(TOKEN_VARIABLE),
                        help="a robot token (robodyne tokens add --role robot --robot-id ros1);"
                        f" default: ${TOKEN_VARIABLE} (set by run.py --demo --ros2)")
    parser.add_argument("--host", default="127.0.0.1", help="the server's robot port's host")
    parser.add_argument("--port", type=int, default=8001, help="the server's robot port")
    parser.add_argument("--robot-id", default="ros1")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error(f"give --token or set {TOKEN_VARIABLE}")
    robot = RobotConfig(id=args.robot_id, name="Nav2 " + args.robot_id, token=args.token,
                        namespace="/" + args.robot_id, dwell_s=8)
    config = BridgeConfig(server=ServerConfig(host=args.host, port=args.port), robots=[robot])
    run(with_simulator(config, args.robot_id))


if __name__ == "__main__":
    main()

"""`robodyne-ros2 --config FILE`: every robot of the file on the floor, until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from ..tls import client_context
from .config import BridgeConfig, ConfigError, load_config
from .robot import RobotBridge
from .ros import RobotLink, RosThread, node_name
from .session import Refused, Session

log = logging.getLogger(__name__)


async def serve(config: BridgeConfig, tls: ssl.SSLContext | None,
                stop: asyncio.Event | None = None) -> None:
    """Run every robot until `stop` is set (SIGTERM, SIGINT); Refused ends it early."""
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    ros = RosThread()
    bridges: list[RobotBridge] = []
    try:
        for robot in config.robots:
            link = RobotLink(ros.node(node_name(robot.id), robot.namespace), robot, loop)
            bridge = RobotBridge(robot, link)
            link.listen(bridge)
            bridges.append(bridge)
        ros.start()
        log.info("bridging %d robot(s) to %s:%s", len(bridges), config.server.host,
                 config.server.port)
        async with asyncio.TaskGroup() as group:
            for bridge in bridges:
                group.create_task(Session(config.server, bridge, stop, tls).run())
    finally:
        for bridge in bridges:
            await bridge.close()
        ros.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="robodyne-ros2", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="the bridge's TOML file")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING…")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        tls = _tls(config)
    except ConfigError as err:
        _exit(str(err))
    run(serve(config, tls), args.log_level)


def run(bridge: Coroutine[Any, Any, None], log_level: str = "INFO") -> None:
    """Run the bridge on a new loop; a refused token ends the process with exit 2."""
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(bridge)
    except* Refused as group:
        _exit(str(group.exceptions[0]))


def _tls(config: BridgeConfig) -> ssl.SSLContext | None:
    cafile = config.server.cafile
    if not cafile:
        return None
    try:
        return client_context(cafile)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"invalid setting server.cafile: cannot load {cafile}: {err}") from None


def _exit(line: str) -> None:
    print(f"robodyne-ros2: {line}", file=sys.stderr)
    raise SystemExit(2)

"""`python -m robodyne.simulator`: simulated serving robots (demo/robot.py, each connected by
demo/client.py) against any server's robot TCP port."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from ..tls import client_context
from .client import run_fleet


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m robodyne.simulator",
        description="Run simulated serving robots against a Robodyne robot TCP port.")
    parser.add_argument("--robots", type=int, default=5, help="how many robots (default 5)")
    parser.add_argument("--hz", type=float, default=5.0,
                        help="state updates per second (default 5)")
    parser.add_argument("--host", default="127.0.0.1", help="server host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="server TCP port (default 8001)")
    parser.add_argument("--token", required=True, help="a token with the robot role")
    parser.add_argument("--tls", action="store_true",
                        help="connect with TLS (auth.tls_cert on the server), trusting the"
                             " system's CAs")
    parser.add_argument("--cafile", default=None, metavar="PEM",
                        help="connect with TLS, trusting the CA certificate(s) in this file")
    parser.add_argument("--seed", type=int, default=None, help="seed for a reproducible run")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--prefix", default="sim", help="robot ids are <prefix>-<n> (default sim)")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="P",
                        help="chance (0..1) that a trip breaks down on the way, to watch the "
                             "server recover (default 0)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    return parser


async def _run(args: argparse.Namespace) -> int:
    """Run the fleet until a signal or --duration; 1 if every robot gave up first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    tls = client_context(args.cafile) if args.tls or args.cafile else None
    await run_fleet(args.host, args.port, args.token, args.robots, args.hz, stop=stop,
                    seed=args.seed, prefix=args.prefix, fail_rate=args.fail_rate, tls=tls)
    return 0 if stop.is_set() else 1


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.robots < 1 or args.hz <= 0:
        parser.error("--robots must be at least 1 and --hz above 0")
    if not 0.0 <= args.fail_rate <= 1.0:
        parser.error("--fail-rate must be within 0..1")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = asyncio.run(_run(args))
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()

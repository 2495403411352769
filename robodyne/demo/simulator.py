"""Simulated serving robots that speak the robot TCP protocol (docs/protocol.md, "Robot TCP
protocol") over real sockets.

`SimRobot` is the pure model (motion, battery, tasks, commands; no I/O), `RobotClient` the thin
asyncio adapter that connects one robot to the server, and `run_fleet` runs many on one loop.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import logging
import math
import random
import signal
from collections.abc import Coroutine, Mapping
from contextlib import suppress
from typing import Any, Final, NoReturn, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError

from ..core.floor import DOCK, MAP_NAME
from ..core.logprefix import PrefixedLog
from .floor import TABLES

log = logging.getLogger(__name__)

Message = dict[str, Any]
T = TypeVar("T")

MODEL_NAME: Final = "SimBot S1"
SPEED_M_S: Final = 0.8
# Battery percent per second.
DRAIN_MOVING: Final = 0.5
DRAIN_IDLE: Final = 0.05
CHARGE_RATE: Final = 3.0
LOW_BATTERY: Final = 25.0
CHARGED: Final = 95.0
# (min, max) seconds, drawn uniformly per occurrence.
DOCK_WAIT_S: Final = (1.0, 4.0)
TABLE_WAIT_S: Final = (2.0, 5.0)
CHATTER_EVERY_S: Final = (30.0, 60.0)
# The first event and log come sooner, so a fresh demo's console is not empty for a minute.
FIRST_CHATTER_S: Final = (3.0, 10.0)

HELLO_TIMEOUT_S: Final = 10.0
DEFAULT_HEARTBEAT_S: Final = 5.0
BACKOFF_FIRST_S: Final = 0.5
BACKOFF_MAX_S: Final = 20.0
READ_LIMIT: Final = 1 << 20
CLOSE_TIMEOUT_S: Final = 2.0

COMMANDS: Final = frozenset({"go_to", "deliver", "return", "charge", "pause", "resume", "cancel"})
# (event, severity, message) and (level, message template) for the occasional chatter.
_EVENTS: Final = (
    ("obstacle_detected", "info", "Obstacle in the path, rerouting"),
    ("guest_nearby", "info", "Guest close by, slowing down"),
    ("path_blocked", "warning", "Path blocked, waiting for it to clear"),
)
_LOGS: Final = (
    ("INFO", "Localisation confidence {confidence:.2f}"),
    ("INFO", "Battery at {battery:.0f}%"),
    ("WARNING", "Wheel slip detected, speed reduced"),
    ("WARNING", "Noisy lidar scan, rescanning"),
)


class Phase(enum.Enum):
    """Where a robot is in its trip cycle; `paused` is a flag on top of any phase."""

    DOCKED = "docked"
    OUTBOUND = "outbound"
    AT_TABLE = "at_table"
    INBOUND = "inbound"
    CHARGING = "charging"


class Command(BaseModel):
    """A command line from the server (docs/protocol.md, "Server → robot")."""

    id: int | str | None = None
    command: str
    table_id: int | None = Field(default=None, strict=True)
    order_id: int | None = Field(default=None, strict=True)


def command_result(command_id: int | str | None, status: str, detail: str | None = None) -> Message:
    """A command_result line answering the command with id `command_id`."""
    message: Message = {"type": "command_result", "command_id": command_id, "status": status}
    if detail:
        message["detail"] = detail
    return message


class SimRobot:
    """One robot's pose, battery and task, advanced by `step(dt)`; every method is pure (no I/O)."""

    def __init__(self, robot_id: str, rng: random.Random) -> None:
        self.robot_id = robot_id
        self.rng = rng
        self.x, self.y = DOCK
        self.yaw = 0.0
        self.battery = rng.uniform(60.0, 100.0)
        # Slightly different speeds keep a fleet from moving in lockstep.
        self.speed = SPEED_M_S * rng.uniform(0.9, 1.1)
        self.phase = Phase.DOCKED
        self.paused = False
        self.table_id: int | None = None
        self.order_id: int | None = None
        self._wait_s = rng.uniform(*DOCK_WAIT_S)
        self._wants_charge = False
        self._handing_over = False
        self._command: Command | None = None
        self._chatter_s = rng.uniform(*FIRST_CHATTER_S)
        self._last_id = 0
        self._reported: Message = {}

    @property
    def status(self) -> str:
        """The robot status the robots topic shows."""
        if self.paused:
            return "paused"
        match self.phase:
            case Phase.DOCKED:
                return "idle"
            case Phase.OUTBOUND:
                return "delivering"
            case Phase.AT_TABLE:
                return "delivering" if self._handing_over else "idle"
            case Phase.INBOUND:
                return "returning"
            case Phase.CHARGING:
                return "charging"

    # ---- state lines ----

    def full_state(self) -> Message:
        """A state line with every field, for the start of a connection."""
        self._reported = {}
        update = self.state_update()
        assert update is not None  # nothing was reported, so everything changed
        return update

    def state_update(self) -> Message | None:
        """A state line with the fields changed since the last one, plus pose; None if none did."""
        current: Message = {
            "status": self.status,
            # Whole percents: finer steps would make an idle robot report every few seconds.
            "battery": round(self.battery),
            "pose": {"x": round(self.x, 2), "y": round(self.y, 2), "yaw": round(self.yaw, 2),
                     "map": MAP_NAME},
            "order_id": self.order_id,
            "table_id": self.table_id,
        }
        changed = {k: v for k, v in current.items()
                   if k not in self._reported or self._reported[k] != v}
        if not changed:
            return None
        self._reported = current
        return {"type": "state", **changed, "pose": current["pose"]}

    # ---- commands ----

    def command(self, message: Mapping[str, Any]) -> list[Message]:
        """Answer a server command at once (accepted or rejected) and start carrying it out."""
        try:
            cmd = Command.model_validate(message)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "command"
            raw_id = message.get("id")
            return [command_result(raw_id if isinstance(raw_id, int | str) else None, "rejected",
                                   f"{where}: {first['msg']}")]
        refusal = self._refusal(cmd)
        if refusal:
            return [command_result(cmd.id, "rejected", refusal)]
        out = [command_result(cmd.id, "accepted")]
        match cmd.command:
            case "pause" | "resume":
                self.paused = cmd.command == "pause"
                out.append(command_result(cmd.id, "done"))
            case "cancel":
                self._fail_command(f"cancelled by command {cmd.id}", out)
                self._wants_charge = self.battery < LOW_BATTERY
                if self.phase is not Phase.DOCKED:
                    self._head_home()
                out.append(command_result(cmd.id, "done"))
            case "go_to" | "deliver":
                self._fail_command(f"superseded by command {cmd.id}", out)
                self._command = cmd
                assert cmd.table_id is not None  # _refusal checked it
                self._start_trip(cmd.table_id, cmd.order_id, handing_over=cmd.command == "deliver")
            case "return":
                self._fail_command(f"superseded by command {cmd.id}", out)
                self._command = cmd
                self._head_home()
            case "charge":
                self._fail_command(f"superseded by command {cmd.id}", out)
                self._command = cmd
                self._wants_charge = True
                if self.phase is not Phase.CHARGING:
                    self._head_home()
        return out

    def _refusal(self, cmd: Command) -> str | None:
        if cmd.command not in COMMANDS:
            return f"unknown command {cmd.command!r}"
        if cmd.command in ("go_to", "deliver"):
            if cmd.table_id is None or not 1 <= cmd.table_id <= len(TABLES):
                return f"unknown table_id {cmd.table_id}"
            if self.battery < LOW_BATTERY:
                return f"battery {self.battery:.0f}% is below {LOW_BATTERY:.0f}%"
        return None

    def _fail_command(self, detail: str, out: list[Message]) -> None:
        if self._command is not None:
            out.append(command_result(self._command.id, "failed", detail))
            self._command = None

    def _finish_command(self, kind: str, out: list[Message]) -> None:
        if self._command is not None and self._command.command == kind:
            out.append(command_result(self._command.id, "done"))
            self._command = None

    # ---- motion ----

    def step(self, dt: float) -> list[Message]:
        """Advance `dt` seconds; returns the event, log and command_result lines this produced."""
        out: list[Message] = []
        self._chatter(dt, out)
        if self.paused:
            self._use_battery(DRAIN_IDLE, dt)
            return out
        if (self.battery < LOW_BATTERY and not self._wants_charge
                and self.phase is not Phase.CHARGING):
            if self._command is not None and self._command.command in ("go_to", "deliver"):
                self._fail_command(f"battery below {LOW_BATTERY:.0f}%", out)
            self._wants_charge = True
            self._head_home()
        match self.phase:
            case Phase.DOCKED:
                self._use_battery(DRAIN_IDLE, dt)
                self._wait_s -= dt
                if self._wait_s <= 0:
                    self._start_trip(self.rng.randrange(len(TABLES)) + 1, None, handing_over=True)
            case Phase.OUTBOUND:
                assert self.table_id is not None
                _, _, x, y = TABLES[self.table_id - 1]
                if self._move_towards(x, y, dt):
                    self.phase = Phase.AT_TABLE
                    self._wait_s = self.rng.uniform(*TABLE_WAIT_S)
                    self._finish_command("go_to", out)
            case Phase.AT_TABLE:
                self._use_battery(DRAIN_IDLE, dt)
                self._wait_s -= dt
                if self._wait_s <= 0:
                    self._leave_table(out)
            case Phase.INBOUND:
                if self._move_towards(*DOCK, dt):
                    self._finish_command("return", out)
                    if self._wants_charge:
                        self.phase = Phase.CHARGING
                    else:
                        self._dock()
            case Phase.CHARGING:
                self.battery = min(100.0, self.battery + CHARGE_RATE * dt)
                if self.battery >= CHARGED:
                    self._wants_charge = False
                    self._finish_command("charge", out)
                    self._dock()
        return out

    def _start_trip(self, table_id: int, order_id: int | None, *, handing_over: bool) -> None:
        self.phase = Phase.OUTBOUND
        self.table_id, self.order_id = table_id, order_id
        self._handing_over = handing_over
        self._wants_charge = False

    def _leave_table(self, out: list[Message]) -> None:
        if self._command is not None and self._command.command == "deliver":
            assert self.table_id is not None
            delivered: Message = {"type": "event", "id": self._next_id(), "event": "delivered",
                                  "severity": "info", "table_id": self.table_id,
                                  "message": f"Delivered to {TABLES[self.table_id - 1][0]}"}
            if self.order_id is not None:
                delivered["order_id"] = self.order_id
            out.append(delivered)
            # Done once the food is handed over: the trip home is the robot's own business.
            self._finish_command("deliver", out)
        self._head_home()

    def _head_home(self) -> None:
        self.phase = Phase.INBOUND
        self.table_id = self.order_id = None

    def _dock(self) -> None:
        self.phase = Phase.DOCKED
        self._wait_s = self.rng.uniform(*DOCK_WAIT_S)

    def _move_towards(self, x: float, y: float, dt: float) -> bool:
        """Drive straight at (x, y); True once there."""
        dx, dy = x - self.x, y - self.y
        distance = math.hypot(dx, dy)
        reach = self.speed * dt
        self._use_battery(DRAIN_MOVING, min(dt, distance / self.speed))
        if distance > 0:
            self.yaw = math.atan2(dy, dx)
        if reach >= distance:
            self.x, self.y = x, y
            return True
        self.x += dx / distance * reach
        self.y += dy / distance * reach
        return False

    def _use_battery(self, rate: float, dt: float) -> None:
        self.battery = max(0.0, self.battery - rate * dt)

    def _chatter(self, dt: float, out: list[Message]) -> None:
        """Now and then, an event and a log line like a real robot's."""
        self._chatter_s -= dt
        if self._chatter_s > 0:
            return
        self._chatter_s = self.rng.uniform(*CHATTER_EVERY_S)
        name, severity, text = self.rng.choice(_EVENTS)
        event: Message = {"type": "event", "id": self._next_id(), "event": name,
                          "severity": severity, "message": text}
        if self.table_id is not None:
            event["table_id"] = self.table_id
        level, template = self.rng.choice(_LOGS)
        out.append(event)
        out.append({"type": "log", "id": self._next_id(), "level": level,
                    "message": template.format(confidence=self.rng.uniform(0.9, 0.99),
                                               battery=self.battery)})

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id


# ---- I/O ----


class End(enum.Enum):
    """Why a connection ended; only LOST and SHUTDOWN are worth reconnecting after."""

    LOST = "connection lost"
    SHUTDOWN = "server shutting down"
    REPLACED = "another connection took over this robot_id; not reconnecting"
    UNAUTHORIZED = "token refused"
    STOPPED = "stopped"


class Welcome(BaseModel):
    """The server's reply to hello; only heartbeat_s matters to a robot."""

    heartbeat_s: float = Field(default=DEFAULT_HEARTBEAT_S, gt=0)


class RobotClient:
    """Connects one SimRobot to the server and keeps it connected until `stop` is set."""

    def __init__(self, robot: SimRobot, name: str, *, host: str, port: int, token: str, hz: float,
                 stop: asyncio.Event, rng: random.Random) -> None:
        self.robot = robot
        self.name = name
        self.host = host
        self.port = port
        self.token = token
        self.hz = hz
        self.log = PrefixedLog(log, robot.robot_id)
        self._stop = stop
        self._rng = rng
        self._backoff_s = BACKOFF_FIRST_S
        self._last_sent = 0.0
        self._stopped: asyncio.Task[bool] | None = None

    async def run(self) -> None:
        """Connect, serve, reconnect with full-jitter backoff; until stopped or refused for good."""
        self._stopped = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                if await self._connect_once() not in (End.LOST, End.SHUTDOWN):
                    return
                delay = self._rng.uniform(0, self._backoff_s)
                self._backoff_s = min(self._backoff_s * 2, BACKOFF_MAX_S)
                await asyncio.wait({self._stopped}, timeout=delay)
        finally:
            self._stopped.cancel()
            await asyncio.gather(self._stopped, return_exceptions=True)

    async def _or_stop(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Await `work`, or cancel it and return None as soon as stop is set."""
        assert self._stopped is not None
        task = asyncio.create_task(work)
        try:
            await asyncio.wait({task, self._stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return None if task.cancelled() else task.result()

    async def _connect_once(self) -> End:
        try:
            streams = await self._or_stop(
                asyncio.open_connection(self.host, self.port, limit=READ_LIMIT))
        except OSError as err:
            # Refused is the normal answer while the server is down or restarting.
            self.log.debug("connect to %s:%s failed: %s", self.host, self.port, err)
            return End.LOST
        if streams is None:
            return End.STOPPED
        reader, writer = streams
        try:
            return await self._session(reader, writer)
        except OSError as err:  # includes TimeoutError: no welcome in time
            self.log.debug("no session: %s", err)
            return End.LOST
        finally:
            writer.close()
            with suppress(OSError):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> End:
        self._send(writer, {"type": "hello", "token": self.token, "robot_id": self.robot.robot_id,
                            "name": self.name, "model": MODEL_NAME})
        await writer.drain()
        greeting = await self._or_stop(asyncio.wait_for(self._handshake(reader), HELLO_TIMEOUT_S))
        if greeting is None:
            return End.STOPPED
        if isinstance(greeting, End):
            if greeting is End.UNAUTHORIZED:
                self.log.error("token refused by %s:%s; not reconnecting", self.host, self.port)
            return greeting
        self._backoff_s = BACKOFF_FIRST_S
        self.log.info("connected to %s:%s", self.host, self.port)
        end = await self._serve(reader, writer, greeting.heartbeat_s)
        if end is End.STOPPED:
            # A courtesy: if the server is already gone it will notice the close anyway.
            with suppress(OSError):
                self._send(writer, {"type": "bye"})
                await asyncio.wait_for(writer.drain(), CLOSE_TIMEOUT_S)
        self.log.log(logging.WARNING if end is End.REPLACED else logging.INFO,
                     "disconnected: %s", end.value)
        return end

    async def _handshake(self, reader: asyncio.StreamReader) -> Welcome | End:
        while True:
            message = await self._next_message(reader)
            if message is None:
                return End.LOST
            if message.get("type") == "welcome":
                try:
                    return Welcome.model_validate(message)
                except ValidationError:
                    return Welcome()
            if message.get("type") == "error":
                self.log.debug("server error %s: %s", message.get("code"), message.get("detail"))
                if message.get("code") == "unauthorized":
                    return End.UNAUTHORIZED

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     heartbeat_s: float) -> End:
        """Read and tick side by side until the connection ends or stop is set."""
        assert self._stopped is not None
        reading = asyncio.create_task(self._read(reader, writer))
        ticking = asyncio.create_task(self._tick(writer, heartbeat_s))
        try:
            done, _ = await asyncio.wait({reading, ticking, self._stopped},
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            reading.cancel()
            ticking.cancel()
            await asyncio.gather(reading, ticking, return_exceptions=True)
        if self._stopped in done:
            return End.STOPPED
        finished = reading if reading in done else ticking
        error = finished.exception()
        if error is None:
            return reading.result()
        if isinstance(error, OSError):
            self.log.debug("connection error: %s", error)
            return End.LOST
        raise error

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> End:
        while True:
            message = await self._next_message(reader)
            if message is None:
                return End.LOST
            kind = message.get("type")
            if kind == "command":
                for reply in self.robot.command(message):
                    self._send(writer, reply)
            elif kind == "error":
                code = message.get("code")
                self.log.debug("server error %s: %s", code, message.get("detail"))
                if code == "replaced":
                    return End.REPLACED
                if code == "unauthorized":
                    return End.UNAUTHORIZED
            elif kind == "shutdown":
                return End.SHUTDOWN
            # welcome and ack need nothing: an ack only says the server stored the line.

    async def _next_message(self, reader: asyncio.StreamReader) -> Message | None:
        """The next JSON object from the server, skipping bad lines; None at EOF."""
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                # Over READ_LIMIT: asyncio dropped what it had; any tail fails to parse below.
                self.log.debug("skipped a line over %d bytes", READ_LIMIT)
                continue
            if not line:
                return None
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.log.debug("skipped a line that is not JSON: %.80r", line)
                continue
            if isinstance(message, dict):
                return message
            self.log.debug("skipped a line that is not an object: %.80r", line)

    async def _tick(self, writer: asyncio.StreamWriter, heartbeat_s: float) -> NoReturn:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.hz
        self._send(writer, self.robot.full_state())
        # Robots that connected together would otherwise tick, and send, in bursts.
        await asyncio.sleep(self._rng.uniform(0, period))
        last = loop.time()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            # The model only advances while connected, so nothing needs queueing while away.
            for message in self.robot.step(now - last):
                self._send(writer, message)
            last = now
            state = self.robot.state_update()
            if state is not None:
                self._send(writer, state)
            if now - self._last_sent >= heartbeat_s:
                self._send(writer, {"type": "heartbeat"})
            # One drain per tick, not per line: back-pressure, and a lost connection raises here.
            await writer.drain()

    def _send(self, writer: asyncio.StreamWriter, message: Message) -> None:
        writer.write(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))
        self._last_sent = asyncio.get_running_loop().time()


async def run_fleet(host: str, port: int, token: str, robots: int, hz: float, *,
                    stop: asyncio.Event, seed: int | None = None, prefix: str = "sim") -> None:
    """Run `robots` simulated robots against host:port until `stop` is set; then bye and close."""
    if robots < 0 or hz <= 0:
        raise ValueError(f"need robots >= 0 and hz > 0, got {robots} and {hz}")
    seeds = random.Random(seed)
    clients = [
        RobotClient(SimRobot(f"{prefix}-{n}", random.Random(seeds.getrandbits(64))), f"Robo {n}",
                    host=host, port=port, token=token, hz=hz, stop=stop,
                    rng=random.Random(seeds.getrandbits(64)))
        for n in range(1, robots + 1)
    ]
    async with asyncio.TaskGroup() as group:
        for client in clients:
            group.create_task(client.run())


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
    parser.add_argument("--seed", type=int, default=None, help="seed for a reproducible run")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--prefix", default="sim", help="robot ids are <prefix>-<n> (default sim)")
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
    await run_fleet(args.host, args.port, args.token, args.robots, args.hz, stop=stop,
                    seed=args.seed, prefix=args.prefix)
    return 0 if stop.is_set() else 1


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.robots < 1 or args.hz <= 0:
        parser.error("--robots must be at least 1 and --hz above 0")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = asyncio.run(_run(args))
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()

"""The dispatch scenario: simulated robots, tables and a busy Friday's orders, run twice side by
side — `auto` (the server dispatches: `dispatch.auto_deliver = true`) and `button`
(`auto_deliver = false`, and a script presses the dashboard's deliver button, one order per robot
command). docs/benchmarks.md, "Dispatch", says what is measured and why.

The driver, `dispatch()` (`python -m bench dispatch`), starts the server with the variant's
`[dispatch]` settings, runs one load process (`python -m bench.dispatch '<json spec>'`) and, once
the server has stopped, audits its SQLite file. The load process holds everything that talks to
the server, each over its real socket:

- the robots: `run_fleet` over TCP, built from a SimRobot subclass that stamps every command line
  it receives (`time.time()`, the moment the robot model gets it) and every order it hands over;
- the kitchen: POST /api/orders at the spec's rate, PATCH to preparing, then to ready after a
  cook time, stamping when each ready PATCH was sent and answered;
- WebSocket followers of `orders`, `tasks` and `events` (seq-checked), for the button script,
  the `assigned` publish and the queue length;
- the button script (variant `button` only): per ready order, GET /api/robots, the order put
  on the first idle robot (PATCH robot_id), then POST its `deliver` command;
- a /metrics sampler: the event-loop lag gauge, and the dispatch decision histogram per phase.

Phases: `load` (orders arrive for `duration` s), `drain` (until every order is served or
`drain_s` is up), then for `auto` only `backlog`: every robot is paused, `backlog_tasks` summon
tasks are queued, the robots are resumed, and for `backlog_s` the queue is topped up to
`backlog_tasks` after every assignment, so that each decision is made with that many queued.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import sqlite3
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson
import psutil

from robodyne.core.floor import DOCK
from robodyne.demo.client import run_fleet
from robodyne.demo.floor import grid_tables
from robodyne.demo.robot import SimRobot

from . import scenarios
from .servers import ADMIN_TOKEN, ROBOT_TOKEN, Server

VARIANTS: Final = ("auto", "button")
# The server's dispatch.min_battery default: the button script (a person) does not send a robot
# that low, and a robot that low does not count as free.
MIN_BATTERY: Final = 30.0
MENU: Final = ("Tomato soup", "Burger", "Caesar salad", "Fish and chips", "Margherita",
               "Risotto", "Steak frites", "Tiramisu", "Lemonade", "Espresso")
HZ: Final = 5.0  # the simulator's default state rate
METRICS_EVERY_S: Final = 0.5
OWN_LAG_EVERY_S: Final = 0.05
TOP_UP_EVERY_S: Final = 0.1
# The button script skips a robot it has just sent a command, until the robots list shows it
# busy (or this long has passed), as a person waits to see the robot move off.
CLAIM_S: Final = 3.0
LOOK_AGAIN_S: Final = 0.2
HTTP_ERRORS_KEPT: Final = 20
DB_WRITE: Final = "robodyne_db_write_seconds"


# ---- the load process ----


@dataclass
class Trace:
    """One order as the load process saw it; times are time.time() seconds."""

    id: int
    table_id: int
    placed: float
    ready_sent: float | None = None  # the kitchen's PATCH to ready went out
    ready_answered: float | None = None  # ... and was answered
    ready_at: float | None = None  # the server's own stamp (ms), from the PATCH answer
    idle_robots: int | None = None  # simulated robots idle (battery >= 30 %) at ready_sent
    ready_seen: float | None = None  # the orders topic said ready
    assigned_seen: float | None = None  # the tasks topic said a deliver task with it assigned
    served_seen: float | None = None  # the orders topic said served
    # Every deliver command a robot got carrying this order: [at, robot_id, its answer, orders
    # in that command, the robot's x and y then].
    commands: list[list[Any]] = field(default_factory=list)
    robot_delivered: int = 0  # `delivered` events the robots sent for it


class Recorder:
    """What the robots received and did, written by the stamping robot class."""

    def __init__(self) -> None:
        self.traces: dict[int, Trace] = {}
        self.robots: list[SimRobot] = []
        self.trips: list[int] = []  # orders on each accepted deliver command
        self.commands: Counter[str] = Counter()  # "<command> <answer>"

    def robot_class(self) -> type[SimRobot]:
        recorder = self

        class Stamped(SimRobot):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                recorder.robots.append(self)

            def command(self, message: Any) -> list[dict[str, Any]]:
                at = time.time()
                replies = super().command(message)
                recorder.command(at, self, message, replies)
                return replies

            def step(self, dt: float) -> list[dict[str, Any]]:
                out = super().step(dt)
                for line in out:
                    if line.get("event") == "delivered":
                        trace = recorder.traces.get(line.get("order_id"))  # type: ignore[arg-type]
                        if trace is not None:
                            trace.robot_delivered += 1
                return out

        return Stamped

    def command(self, at: float, robot: SimRobot, message: dict[str, Any],
                replies: list[dict[str, Any]]) -> None:
        answer = str(replies[0].get("status")) if replies else "none"
        name = str(message.get("command"))
        self.commands[f"{name} {answer}"] += 1
        if name != "deliver":
            return
        stops = message.get("stops") or []
        order_ids = [oid for stop in stops for oid in stop.get("order_ids", [])]
        if not stops and message.get("order_id") is not None:
            order_ids = [message["order_id"]]
        order_ids = list(dict.fromkeys(order_ids))
        if answer == "accepted":
            self.trips.append(len(order_ids))
        for order_id in order_ids:
            trace = self.traces.get(order_id)
            if trace is not None:
                trace.commands.append([at, robot.robot_id, answer, len(order_ids),
                                       round(robot.x, 2), round(robot.y, 2)])

    def idle_robots(self) -> int:
        return sum(1 for r in self.robots if r.status == "idle" and r.battery >= MIN_BATTERY)


class Http:
    """The REST calls, as admin; errors are counted, not raised, so one does not end the run."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.errors: list[str] = []
        self.error_count = 0

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=body) as response:
            text = await response.text()
            if response.status >= 400:
                self.error_count += 1
                if len(self.errors) < HTTP_ERRORS_KEPT:
                    self.errors.append(f"{method} {path}: {response.status} {text[:200]}")
                return None
            return orjson.loads(text) if text else None

    async def metrics(self) -> str:
        async with self.session.get(self.url + "/metrics") as response:
            return await response.text()


class Button:
    """The dashboard's deliver button, pressed for each ready order the moment it shows: the
    first idle robot GET /api/robots lists gets `deliver` with that one order. A person would
    be slower; this is the button at its best.

    With `claim`, the order is first given to that robot (PATCH robot_id): the server serves an
    order on a robot's `delivered` only when the order is on that robot, and the command alone
    does not put it there (docs/benchmarks.md, "Dispatch").
    """

    def __init__(self, http: Http, claim: bool = True) -> None:
        self.http = http
        self.claim = claim
        self.waiting: deque[Trace] = deque()
        self.wake = asyncio.Event()
        self.claimed: dict[str, float] = {}  # robot -> when the script sent it a command
        self.pending: dict[str, tuple[Trace, str]] = {}  # command id -> (order, robot)
        self.early: dict[str, str] = {}  # results that came before the POST's answer
        self.sent = 0
        self.rejected = 0
        self.looks = 0

    def ready(self, trace: Trace) -> None:
        self.waiting.append(trace)
        self.wake.set()

    def result(self, command_id: str, status: str) -> None:
        sent = self.pending.pop(command_id, None)
        if sent is None:
            self.early[command_id] = status
        elif status == "rejected":
            trace, robot_id = sent
            self.rejected += 1
            self.claimed.pop(robot_id, None)
            self.waiting.appendleft(trace)
            self.wake.set()

    async def run(self) -> None:
        while True:
            if not self.waiting:
                self.wake.clear()
                await self.wake.wait()
                continue
            listing = await self.http.call("GET", "/api/robots")
            self.looks += 1
            now = time.monotonic()
            free = []
            for robot in listing["items"] if listing else []:
                claimed_at = self.claimed.get(robot["id"])
                if claimed_at is not None:
                    if robot["status"] == "idle" and now - claimed_at < CLAIM_S:
                        continue
                    del self.claimed[robot["id"]]
                battery = robot["battery"]
                if robot["connected"] and robot["status"] == "idle" and (
                        battery is None or battery >= MIN_BATTERY):
                    free.append(robot["id"])
            if not free:
                await asyncio.sleep(LOOK_AGAIN_S)
                continue
            for robot_id in free:
                if not self.waiting:
                    break
                trace = self.waiting.popleft()
                if trace.served_seen is not None:
                    continue
                if self.claim and await self.http.call(
                        "PATCH", f"/api/orders/{trace.id}", {"robot_id": robot_id}) is None:
                    self.waiting.appendleft(trace)
                    continue
                answer = await self.http.call(
                    "POST", f"/api/robots/{robot_id}/commands",
                    {"command": "deliver", "table_id": trace.table_id, "order_id": trace.id})
                if answer is None:
                    self.waiting.appendleft(trace)
                    continue
                self.sent += 1
                self.claimed[robot_id] = time.monotonic()
                self.pending[answer["id"]] = (trace, robot_id)
                if answer["id"] in self.early:
                    self.result(answer["id"], self.early.pop(answer["id"]))


class Follower:
    """The orders, tasks and events topics, kept as the load process needs them."""

    def __init__(self, recorder: Recorder, button: Button | None) -> None:
        self.recorder = recorder
        self.button = button
        self.task_status: dict[int, str] = {}
        self.gaps = 0
        self.duplicates = 0
        self.subscribed: dict[str, asyncio.Event] = {}

    def queued(self) -> int:
        return sum(1 for status in self.task_status.values() if status == "queued")

    def orders(self, items: list[dict[str, Any]], now: float) -> None:
        for item in items:
            trace = self.recorder.traces.get(item["id"])
            if trace is None:
                continue
            if item["status"] == "ready" and trace.ready_seen is None:
                trace.ready_seen = now
                if self.button is not None:
                    self.button.ready(trace)
            elif item["status"] == "served" and trace.served_seen is None:
                trace.served_seen = now

    def tasks(self, items: list[dict[str, Any]], now: float) -> None:
        for item in items:
            self.task_status[item["id"]] = item["status"]
            if item["kind"] != "deliver" or item["status"] != "assigned":
                continue
            for stop in item["stops"]:
                for order_id in stop["order_ids"]:
                    trace = self.recorder.traces.get(order_id)
                    if trace is not None and trace.assigned_seen is None:
                        trace.assigned_seen = now

    def events(self, items: list[dict[str, Any]], now: float) -> None:
        for item in items:
            data = item.get("data") or {}
            if item.get("type") == "command_result" and self.button is not None:
                self.button.result(str(data.get("command_id")), str(data.get("status")))

    async def follow(self, session: aiohttp.ClientSession, url: str, topic: str,
                     handle: Callable[[list[dict[str, Any]], float], None]) -> None:
        subscribed = self.subscribed.setdefault(topic, asyncio.Event())
        ws_url = url.replace("http", "ws", 1) + f"/ws/{topic}?token={ADMIN_TOKEN}"
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            last: int | None = None
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                now = time.time()
                frame = orjson.loads(msg.data)
                if frame.get("type") == "ping":
                    await ws.send_str(orjson.dumps({"type": "pong",
                                                    "data": frame.get("data")}).decode())
                    continue
                if frame.get("type") != "update":
                    continue
                seq, data = frame.get("seq"), frame["data"]
                if last is not None and data.get("kind") != "snapshot" and seq is not None:
                    if seq <= last:
                        self.duplicates += 1
                    elif seq > last + 1:
                        self.gaps += seq - last - 1
                last = seq
                handle(data.get("items") or [], now)
                subscribed.set()


class Sampler:
    """/metrics every half second: the event-loop lag gauge, by phase."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self.phase = "start"
        self.lag: dict[str, list[float]] = {}

    async def run(self) -> None:
        while True:
            text = await self.http.metrics()
            for name, _, value in parse_metrics(text):
                if name == "robodyne_event_loop_lag_seconds":
                    self.lag.setdefault(self.phase, []).append(value)
            await asyncio.sleep(METRICS_EVERY_S)

    async def histogram(self, name: str = "robodyne_dispatch_decision_seconds"
                        ) -> dict[str, float]:
        """A histogram of /metrics now: cumulative count per `le`, and `sum` and `count`."""
        snapshot: dict[str, float] = {}
        for sample, labels, value in parse_metrics(await self.http.metrics()):
            if sample == f"{name}_bucket":
                snapshot[labels.split('"')[1]] = value
            elif sample in (f"{name}_sum", f"{name}_count"):
                snapshot[sample.rsplit("_", 1)[1]] = value
        return snapshot


_METRIC = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$")


def parse_metrics(text: str) -> Iterable[tuple[str, str, float]]:
    """(name, labels, value) for every sample line of the Prometheus text format."""
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match:
            yield match[1], match[2] or "", float(match[3])


Planned = tuple[float, int, list[Any], float, float]


def schedule(spec: dict[str, Any], rng: random.Random) -> list[Planned]:
    """The kitchen's day: (arrival s, table, items, s until preparing, cook s) per order, drawn
    up front from the seed, so both variants get the very same orders."""
    orders: list[Planned] = []
    at = 0.0
    while True:
        at += rng.expovariate(spec["per_minute"] / 60)
        if at >= spec["duration"]:
            return orders
        items = [{"name": rng.choice(MENU), "qty": rng.randint(1, 2)}
                 for _ in range(rng.randint(1, 4))]
        orders.append((at, rng.randint(1, spec["tables"]), items, rng.uniform(*spec["accept_s"]),
                       rng.uniform(*spec["cook_s"])))


async def kitchen(http: Http, spec: dict[str, Any], recorder: Recorder, started: float) -> None:
    """Place every order at its time; bump it to preparing, then to ready after its cook time."""
    async def one(at: float, table_id: int, items: list[Any], accept_s: float,
                  cook_s: float) -> None:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        placed = time.time()
        order = await http.call("POST", "/api/orders", {"table_id": table_id, "items": items})
        if order is None:
            return
        trace = Trace(order["id"], table_id, placed)
        recorder.traces[trace.id] = trace
        await asyncio.sleep(accept_s)
        await http.call("PATCH", f"/api/orders/{trace.id}", {"status": "preparing"})
        await asyncio.sleep(cook_s)
        trace.idle_robots = recorder.idle_robots()
        trace.ready_sent = time.time()
        answer = await http.call("PATCH", f"/api/orders/{trace.id}", {"status": "ready"})
        trace.ready_answered = time.time()
        if answer is not None and answer.get("ready_at"):
            trace.ready_at = datetime.fromisoformat(answer["ready_at"]).timestamp()

    plan = schedule(spec, random.Random(spec["seed"]))
    await asyncio.gather(*(one(*order) for order in plan))


async def own_lag(samples: dict[str, list[float]], sampler: Sampler) -> None:
    """The load process's own event-loop lag, by phase: if it is late, so are its stamps."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(OWN_LAG_EVERY_S)
        samples.setdefault(sampler.phase, []).append(loop.time() - before - OWN_LAG_EVERY_S)


async def until(condition: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


async def robots_listing(http: Http) -> list[dict[str, Any]]:
    listing = await http.call("GET", "/api/robots")
    return list(listing["items"]) if listing else []


async def wait_robots(http: Http, count: int, ok: Callable[[dict[str, Any]], bool],
                      timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for robot in await robots_listing(http) if ok(robot)) >= count:
            return True
        await asyncio.sleep(0.2)
    return False


async def backlog(http: Http, spec: dict[str, Any], recorder: Recorder, follower: Follower,
                  sampler: Sampler) -> dict[str, Any]:
    """Every robot paused, `backlog_tasks` summons queued, robots resumed; the queue is kept at
    that length for `backlog_s`, so each decision of the phase sees about that many tasks."""
    rng = random.Random(spec["seed"] + 1)
    target = spec["backlog_tasks"]
    robot_ids = [robot.robot_id for robot in recorder.robots]
    sampler.phase = "pause"

    async def command(robot_id: str, name: str) -> None:
        await http.call("POST", f"/api/robots/{robot_id}/commands", {"command": name})

    async def summon(count: int) -> None:
        await asyncio.gather(*(http.call("POST", "/api/tasks", {
            "kind": "summon", "table_id": rng.randint(1, spec["tables"])}) for _ in range(count)))

    await asyncio.gather(*(command(robot_id, "pause") for robot_id in robot_ids))
    paused = await wait_robots(http, len(robot_ids), lambda r: r["status"] == "paused", 20)
    await summon(target)
    created = target
    queued_ok = await until(lambda: follower.queued() >= target, 20)
    before = await sampler.histogram()
    sampler.phase = "backlog"
    await asyncio.gather(*(command(robot_id, "resume") for robot_id in robot_ids))
    queued: list[int] = []
    end = time.monotonic() + spec["backlog_s"]
    while time.monotonic() < end:
        queued.append(follower.queued())
        if queued[-1] < target:
            await summon(target - queued[-1])
            created += target - queued[-1]
        await asyncio.sleep(TOP_UP_EVERY_S)
    after = await sampler.histogram()
    sampler.phase = "after"
    return {"all_paused": paused, "queue_filled": queued_ok, "tasks_created": created,
            "queued_min": min(queued, default=None), "queued_max": max(queued, default=None),
            "queued_mean": sum(queued) / len(queued) if queued else None,
            "decisions": decision_summary(before, after)}


async def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    recorder = Recorder()
    own: dict[str, list[float]] = {}
    background: list[asyncio.Task[Any]] = []
    server = psutil.Process(spec["server_pid"])

    def server_cpu() -> float:
        times = server.cpu_times()
        return float(times.user + times.system)

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        http = Http(session, spec["url"])
        for n, (label, seats, x, y) in enumerate(grid_tables(spec["tables"]), 1):
            table = await http.call("POST", "/api/tables",
                                    {"label": label, "seats": seats, "x": x, "y": y})
            if table is None or table["id"] != n:
                raise RuntimeError(f"table {label} got id {table and table['id']}, not {n}: the "
                                   "simulator would drive to the wrong place")
        button = Button(http, spec["button_claims"]) if spec["variant"] == "button" else None
        follower = Follower(recorder, button)
        for topic, handle in (("orders", follower.orders), ("tasks", follower.tasks),
                              ("events", follower.events)):
            background.append(asyncio.create_task(
                follower.follow(session, spec["url"], topic, handle)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in follower.subscribed.values())),
                               20)
        stop = asyncio.Event()
        fleet = asyncio.create_task(run_fleet(
            "127.0.0.1", spec["tcp_port"], ROBOT_TOKEN, spec["robots"], spec.get("hz", HZ),
            stop=stop, seed=spec["seed"], prefix="sim", robot_class=recorder.robot_class()))
        if not await wait_robots(http, spec["robots"],
                                 lambda r: r["connected"] and r["status"] == "idle", 60):
            raise RuntimeError("the robots did not all connect")
        sampler = Sampler(http)
        background += [asyncio.create_task(sampler.run()),
                       asyncio.create_task(own_lag(own, sampler))]
        if button is not None:
            background.append(asyncio.create_task(button.run()))
        print("ready", flush=True)

        decisions_start = await sampler.histogram()
        db_start = await sampler.histogram(DB_WRITE)
        cpu_start = server_cpu()
        sampler.phase = "load"
        started = time.monotonic()
        cooking = asyncio.create_task(kitchen(http, spec, recorder, started))
        await asyncio.sleep(spec["duration"])
        sampler.phase = "drain"
        await asyncio.wait({cooking}, timeout=spec["drain_s"])
        drained = await until(lambda: all(t.served_seen is not None
                                          for t in recorder.traces.values()),
                              max(0.0, started + spec["duration"] + spec["drain_s"]
                                  - time.monotonic()), every=0.25)
        drain_s = time.monotonic() - started - spec["duration"]
        decisions_load = decision_summary(decisions_start, await sampler.histogram())
        db_writes = decision_summary(db_start, await sampler.histogram(DB_WRITE))
        cpu = {"load": server_cpu() - cpu_start}
        backlog_result = None
        if spec["backlog_tasks"] and spec["variant"] == "auto":
            cpu_start = server_cpu()
            backlog_result = await backlog(http, spec, recorder, follower, sampler)
            cpu["pause_and_backlog"] = server_cpu() - cpu_start
        stop.set()
        await asyncio.wait_for(fleet, 30)
        if not cooking.done():
            cooking.cancel()
        # A follower, the sampler or the button script that died early is reported, not hidden.
        crashed = [repr(task.exception()) for task in background
                   if task.done() and not task.cancelled() and task.exception() is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, cooking, return_exceptions=True)
    return {
        "background_errors": crashed,
        "orders": [asdict(t) for t in sorted(recorder.traces.values(), key=lambda t: t.id)],
        "drained": drained, "drain_s": drain_s,
        "trips": recorder.trips, "robot_commands": dict(recorder.commands),
        "decisions_load": decisions_load, "db_writes_load": db_writes,
        "backlog": backlog_result,
        "lag": {phase: lag_summary(values) for phase, values in sampler.lag.items()},
        "load_process_lag": {phase: lag_summary(values) for phase, values in own.items()},
        "ws_gaps": follower.gaps, "ws_duplicates": follower.duplicates,
        "button": None if button is None else {
            "commands_sent": button.sent, "rejected": button.rejected, "looks": button.looks},
        "http_error_count": http.error_count, "http_errors": http.errors,
        "load_cpu_s": time.process_time(), "server_cpu_s": cpu,
    }


# ---- summaries ----


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def ms_summary(seconds: list[float]) -> dict[str, Any]:
    def ms(p: float) -> float | None:
        value = percentile(seconds, p)
        return None if value is None else value * 1000
    return {"samples": len(seconds), "p50_ms": ms(50), "p90_ms": ms(90), "p99_ms": ms(99),
            "max_ms": ms(100), "min_ms": ms(0)}


def lag_summary(values: list[float]) -> dict[str, Any]:
    summary = ms_summary(values)
    return {"samples": summary["samples"], "p50_ms": summary["p50_ms"],
            "p99_ms": summary["p99_ms"], "max_ms": summary["max_ms"]}


def decision_summary(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The observations between two histogram snapshots: how many, their mean, percentiles as
    the bucket bound they fall under (the histogram has no finer resolution), the share at or
    under 1 ms."""
    count = after.get("count", 0.0) - before.get("count", 0.0)
    total = after.get("sum", 0.0) - before.get("sum", 0.0)
    bounds = sorted((k for k in after if k not in ("sum", "count")),
                    key=lambda k: float(k.replace("+Inf", "inf")))
    cumulative = {k: after[k] - before.get(k, 0.0) for k in bounds}

    def bound_at(p: float) -> float | None:
        for k in bounds:
            if count and cumulative[k] >= p / 100 * count:
                return float(k.replace("+Inf", "inf")) * 1000
        return None
    return {"count": int(count), "mean_us": total / count * 1e6 if count else None,
            "p50_le_ms": bound_at(50), "p99_le_ms": bound_at(99),
            "share_le_1ms": cumulative.get("0.001", 0.0) / count if count else None,
            "cumulative": {k: int(v) for k, v in cumulative.items()}}


def audit(db: Path, order_ids: list[int]) -> dict[str, Any]:
    """From the server's SQLite file, read-only: each order's status and times, and how many
    `delivered` events name it."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, status, ready_at, served_at FROM orders")}
        delivered = dict(conn.execute(
            "SELECT json_extract(data, '$.order_id'), count(*) FROM events"
            " WHERE type = 'delivered' GROUP BY 1").fetchall())
        served_events = dict(conn.execute(
            "SELECT json_extract(data, '$.order_id'), count(*) FROM events"
            " WHERE type = 'order_served' GROUP BY 1").fetchall())
        tasks = Counter(f"{kind} {status}" for kind, status in conn.execute(
            "SELECT kind, status FROM tasks"))
    statuses: Counter[str] = Counter()
    ready_to_served: list[float] = []
    served_once = doubled = 0
    for order_id in order_ids:
        status, ready_at, served_at = rows.get(order_id, ("missing", None, None))
        statuses[status] += 1
        times = delivered.get(order_id, 0)
        if status == "served" and times == 1 and served_events.get(order_id, 0) == 1:
            served_once += 1
        if times > 1 or served_events.get(order_id, 0) > 1:
            doubled += 1
        if ready_at and served_at:
            ready_to_served.append((datetime.fromisoformat(served_at)
                                    - datetime.fromisoformat(ready_at)).total_seconds())
    return {"statuses": dict(statuses), "served_once": served_once, "doubled": doubled,
            "ready_to_served_s": ready_to_served, "tasks": dict(tasks)}


def summarise(load: dict[str, Any], audited: dict[str, Any]) -> dict[str, Any]:
    """The row's numbers from the load process's traces and the audit."""
    to_command: list[float] = []
    to_command_free: list[float] = []
    from_sent: list[float] = []
    answer_after: list[float] = []
    to_assigned: list[float] = []
    to_ws: list[float] = []
    busy_at_ready = no_command = several_robots = robot_doubled = from_dock = 0
    robots_used: set[str] = set()
    for trace in load["orders"]:
        if trace["ready_at"] is None:
            continue
        accepted = [c for c in trace["commands"] if c[2] == "accepted"]
        if len({c[1] for c in accepted}) > 1:
            several_robots += 1
        if trace["robot_delivered"] > 1:
            robot_doubled += 1
        if trace["ready_seen"] is not None:
            to_ws.append(trace["ready_seen"] - trace["ready_at"])
        if trace["assigned_seen"] is not None:
            to_assigned.append(trace["assigned_seen"] - trace["ready_at"])
        if not accepted:
            no_command += 1
            continue
        at = accepted[0][0]
        robots_used.add(accepted[0][1])
        if math.dist(accepted[0][4:6], DOCK) < 0.5:
            from_dock += 1
        to_command.append(at - trace["ready_at"])
        from_sent.append(at - trace["ready_sent"])
        answer_after.append(trace["ready_answered"] - at)
        if trace["idle_robots"]:
            to_command_free.append(at - trace["ready_at"])
        else:
            busy_at_ready += 1
    served = audited["ready_to_served_s"]
    trips = load["trips"]
    order_ids = [trace["id"] for trace in load["orders"]]
    return {
        "orders": len(order_ids),
        "served_once": audited["served_once"],
        "unserved": len(order_ids) - audited["statuses"].get("served", 0),
        "doubled": max(audited["doubled"], several_robots, robot_doubled),
        "order_statuses": audited["statuses"],
        "ready_to_command": ms_summary(to_command),
        "ready_to_command_robots_free": ms_summary(to_command_free),
        "patch_sent_to_command": ms_summary(from_sent),
        # how long after the robot had its command the kitchen's PATCH was answered (the
        # dispatcher runs inside the PATCH: negative means the answer came first)
        "command_to_patch_answer": ms_summary(answer_after),
        "commands_before_answer": sum(1 for v in answer_after if v > 0),
        "ready_to_assigned_publish": ms_summary(to_assigned),
        "ready_to_orders_topic": ms_summary(to_ws),
        "robots_busy_at_ready": busy_at_ready,
        "ready_without_command": no_command,
        "ready_to_served": {"samples": len(served),
                            "p50_s": percentile(served, 50), "p90_s": percentile(served, 90),
                            "p99_s": percentile(served, 99), "max_s": percentile(served, 100)},
        "trips": len(trips),
        "orders_per_trip": sum(trips) / len(trips) if trips else None,
        "multi_order_trips": sum(1 for n in trips if n > 1),
        "robots_used": len(robots_used),
        # orders whose robot set off from the dock (the rest were sent from where it stood)
        "from_dock": from_dock,
        "tasks": audited["tasks"],
    }


def dispatch(kind: str, *, robots: int, tables: int, per_minute: float, duration: float,
             cook_s: tuple[float, float], accept_s: tuple[float, float] = (1, 4),
             drain_s: float = 150, backlog_tasks: int = 200, backlog_s: float = 60,
             seed: int = 1, button_claims: bool = True) -> dict[str, Any]:
    """One variant: `auto` (the server dispatches) or `button` (auto_deliver off, a script
    presses the dashboard's button; `button_claims` puts the order on the robot first)."""
    if kind not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {kind!r}")
    auto = kind == "auto"
    server = Server("robodyne", extra_config=f"[dispatch]\nauto_deliver = {str(auto).lower()}\n")
    server.start()
    assert server.process is not None
    spec = {"role": "dispatch", "variant": kind, "url": server.url, "tcp_port": server.tcp_port,
            "server_pid": server.process.pid,
            "robots": robots, "tables": tables, "per_minute": per_minute, "duration": duration,
            "cook_s": list(cook_s), "accept_s": list(accept_s), "drain_s": drain_s,
            "backlog_tasks": backlog_tasks if auto else 0, "backlog_s": backlog_s,
            "seed": seed, "button_claims": button_claims}
    try:
        cpu_start = server.cpu_seconds()
        psutil.cpu_percent()  # from here: how busy the whole machine was, all processes
        load = scenarios._spawn(spec, module="bench.dispatch")
        scenarios._wait_ready(load, timeout=120)
        result = scenarios._result(load, timeout=duration + drain_s + backlog_s + 180)
        cpu = server.cpu_seconds() - cpu_start
        machine_busy = psutil.cpu_percent()
    finally:
        server.stop()
    audited = audit(server.workdir / "bench.db", [trace["id"] for trace in result["orders"]])
    log_path = server.workdir / "server.log"
    log = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    row = {"scenario": "dispatch", "server": kind, "robots": robots, "tables": tables,
           "per_minute": per_minute, "duration_s": duration, "cook_s": list(cook_s),
           "button_claims": button_claims if not auto else None,
           **summarise(result, audited),
           "drained": result["drained"], "drain_s": result["drain_s"],
           "decisions_load": result["decisions_load"], "backlog": result["backlog"],
           "db_writes_load": result["db_writes_load"],
           "lag": result["lag"], "load_process_lag": result["load_process_lag"],
           "robot_commands": result["robot_commands"], "button": result["button"],
           "ws_gaps": result["ws_gaps"], "ws_duplicates": result["ws_duplicates"],
           "http_error_count": result["http_error_count"], "http_errors": result["http_errors"],
           "background_errors": result["background_errors"],
           "server_cpu_s": {"all": cpu, **result["server_cpu_s"]},
           "load_cpu_s": result["load_cpu_s"],
           "machine_busy_pct": machine_busy,
           "server_warnings": sum(1 for line in log if " WARNING " in line),
           "server_errors": [line for line in log if " ERROR " in line][:10],
           "traces": result["orders"]}
    return row


COLUMNS: Final = [
    ("orders", "orders"), ("served_once", "served once"), ("unserved", "unserved"),
    ("doubled", "doubled"), ("ready_to_command.p50_ms", "ready→cmd p50 ms"),
    ("ready_to_command.p99_ms", "p99 ms"), ("ready_to_command.max_ms", "max ms"),
    ("robots_busy_at_ready", "no robot idle"),
    ("ready_to_served.p50_s", "ready→served p50 s"), ("ready_to_served.p90_s", "p90 s"),
    ("trips", "trips"), ("orders_per_trip", "orders/trip"), ("robots_used", "robots used"),
    ("from_dock", "from dock"), ("lag.load.max_ms", "loop lag max ms"),
    ("server_cpu_s.load", "server CPU s"),
]
BACKLOG_COLUMNS: Final = [
    ("backlog.queued_mean", "queued mean"), ("backlog.queued_min", "queued min"),
    ("backlog.decisions.count", "decisions"), ("backlog.decisions.mean_us", "mean µs"),
    ("backlog.decisions.p50_le_ms", "p50 ≤ ms"), ("backlog.decisions.p99_le_ms", "p99 ≤ ms"),
    ("backlog.decisions.share_le_1ms", "share ≤ 1 ms"), ("lag.backlog.max_ms", "loop lag max ms"),
    ("server_cpu_s.pause_and_backlog", "server CPU s"),
    ("decisions_load.count", "load-phase decisions"),
    ("decisions_load.mean_us", "load-phase mean µs"),
]


def load_main(run: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """A load process: its spec from argv (JSON), its result to the spec's `out` file."""
    spec = orjson.loads(sys.argv[1])
    result = asyncio.run(run(spec))
    with open(spec["out"], "wb") as out:
        out.write(orjson.dumps(result))


def main() -> None:
    load_main(run_load)


if __name__ == "__main__":
    main()

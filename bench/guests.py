"""The guests scenario: a full room ordering from its phones while robots bring the food
(docs/benchmarks.md, "Guests", says what is measured and why).

The driver, `guests()` (`python -m bench guests`), starts the server with `auto_deliver` on and
runs one load process (`python -m bench.guests '<json spec>'`) that holds everything that talks
to it, each over its real socket:

- the room: `tables` tables at the `grid_tables` positions and a priced menu (admin REST);
- the phones: `phones` per table, each its own aiohttp session and cookie jar, that open the
  table's link (GET /api/tables/{id}/link, then GET /t/{code}) and follow /ws/guest;
- the kitchen tablets: `tablets` followers of /ws/orders with the kitchen token;
- the robots: `run_fleet` over TCP, dispatch's stamping SimRobot with one more layer that sends
  a state line with the pose on every tick (5 Hz, idle or not) and notes, for each pose of a
  robot on a deliver trip, the eta_s it implies for every table still ahead (the server's own
  `eta()`, on the pose as sent);
- the guests and the kitchen: `per_minute` guest orders (POST /api/guest/orders from one of the
  table's phones, with Idempotency-Key and Origin), spread round robin over the tables in a
  shuffled order, each moved to preparing after `accept_s` and to ready after `cook_s` by the
  kitchen token (PATCH /api/orders/{id}), so that robots carry them;
- dispatch's /metrics sampler (event-loop lag; SQLite transactions and publish → socket over
  the load phase) and the server's CPU from /proc/PID/stat (psutil).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import orjson
import psutil

from robodyne.core.floor import MAP_NAME, Point
from robodyne.core.models import StopStatus, TaskStop
from robodyne.demo.client import run_fleet
from robodyne.demo.floor import grid_tables
from robodyne.demo.robot import Job, Phase, SimRobot
from robodyne.domain.eta import eta
from robodyne.settings import DispatchSettings

from . import dispatch, scenarios
from .servers import ADMIN_TOKEN, KITCHEN_TOKEN, ROBOT_TOKEN, Server

# What the server's eta_s is computed with: its [dispatch] defaults, which the run keeps.
SPEED_MPS: Final = DispatchSettings().robot_speed_mps
DWELL_S: Final = DispatchSettings().stop_dwell_s
PRICE_FROM: Final = 6000  # KRW, the default currency: the menu's dishes cost 6,000, 6,500, ...
CONNECT_BATCH: Final = 40  # phones opening their link at once while the room fills
# Pose changes sent this close to the end of the load phase may not have been shown yet.
UNSHOWN_GRACE_S: Final = 2.0
PUBLISH: Final = "robodyne_publish_to_socket_seconds"
HISTOGRAMS: Final = (dispatch.DB_WRITE, PUBLISH)

# (robot id, table id, that table's orders on the trip): one robot's way to one table.
Trip = tuple[str, int, tuple[int, ...]]


@dataclass
class Placed:
    """One guest order as its phone placed it; times are time.time() seconds."""

    table_id: int
    sent: float  # just before the POST
    answered: float  # its 201 read
    opened_visit: bool  # the table's first order: it also opened the visit (self_seat)


class Seq:
    """One socket's seq check: each update's seq is the previous + 1."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.gaps = 0
        self.duplicates = 0
        self.updates = 0

    def check(self, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        self.updates += 1
        if seq is None:
            return
        if self.last is not None and frame["data"].get("kind") != "snapshot":
            if seq <= self.last:
                self.duplicates += 1
            elif seq > self.last + 1:
                self.gaps += seq - self.last - 1
        self.last = seq


async def follow(ws: aiohttp.ClientWebSocketResponse, seq: Seq, topic: str,
                 handle: Callable[[dict[str, Any], float], None]) -> None:
    """Read one socket until it closes: pings answered, updates seq-checked and handled."""
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            continue
        now = time.time()
        frame = orjson.loads(msg.data)
        if frame.get("type") == "ping":
            await ws.send_str(orjson.dumps({"type": "pong", "topic": topic,
                                            "data": frame.get("data")}).decode())
        elif frame.get("type") == "update":
            seq.check(frame)
            handle(frame["data"], now)


class Etas:
    """Every change of the eta_s a robot's pose implies for a table ahead of it, and which of
    them each phone has been shown.

    A trip's etas only fall while the robot drives (straight at the next stop, the server's
    formula), so a view showing eta_s e reflects the newest pose sent before it whose eta is e,
    and every pose before that one: a pose that changed the eta is shown when the first view
    reflecting it or a newer pose reaches the phone.
    """

    def __init__(self, positions: dict[int, Point]) -> None:
        self.positions = positions
        # Per trip: (sent at, eta_s) for its first pose, then each pose that changed its eta.
        self.changes: dict[Trip, list[tuple[float, int]]] = {}
        self.samples: list[float] = []
        self.unmatched = 0  # views whose eta no pose sent before them explains
        self.before_shown = 0  # changes a phone saw only with the trip's first view
        self.unknown = 0  # views with a robot but eta_s null

    def pose(self, robot: SimRobot, job: Job, x: float, y: float, at: float) -> None:
        """A pose sent at `at` by a robot on `job`: its eta for each table still ahead."""
        leg = job.leg
        here = robot.phase is Phase.AT_TABLE
        stops = [TaskStop(table_id=stop.table_id, order_ids=stop.order_ids,
                          status=StopStatus.DONE if n < leg else StopStatus.ARRIVED
                          if n == leg and here else StopStatus.PENDING)
                 for n, stop in enumerate(job.stops)]
        for stop in job.stops[leg:]:
            eta_s = eta((x, y), stops, self.positions, stop.table_id, speed_mps=SPEED_MPS,
                        dwell_s=DWELL_S).eta_s
            if eta_s is None:
                continue
            changes = self.changes.setdefault(
                (robot.robot_id, stop.table_id, tuple(sorted(stop.order_ids))), [])
            if not changes or changes[-1][1] != eta_s:
                changes.append((at, eta_s))

    def view(self, phone: Phone, robot: dict[str, Any], at: float) -> None:
        """A phone at `at` shows this robot's eta_s: the changes it reflects are shown now."""
        if robot["eta_s"] is None:
            self.unknown += 1
            return
        trip = (robot["id"], phone.table_id, tuple(sorted(robot["order_ids"])))
        first = trip not in phone.trips
        changes = self.changes.get(trip, [])
        newest = next((n for n in range(len(changes) - 1, -1, -1)
                       if changes[n][0] <= at and changes[n][1] == robot["eta_s"]), None)
        if newest is None:
            # Before the trip's first pose the view shows the robot where it was assigned.
            if changes and changes[0][0] <= at:
                self.unmatched += 1
            phone.trips.setdefault(trip, 0)
            return
        shown = phone.trips.get(trip, 0)
        # The trip's first pose is where it starts from, not a change of what the view showed.
        for sent_at, _ in changes[max(1, shown):newest + 1]:
            if first:
                self.before_shown += 1  # its latency is the trip's, not an update's
            else:
                self.samples.append(at - sent_at)
        phone.trips[trip] = max(shown, newest + 1)

    def unshown(self, phones: list[Phone], before: float) -> int:
        """Pose changes sent before `before` that a phone showing their trip never reflected."""
        count = 0
        for phone in phones:
            for trip, shown in phone.trips.items():
                count += sum(1 for sent_at, _ in self.changes.get(trip, [])[max(1, shown):]
                             if sent_at < before)
        return count


class Recorder(dispatch.Recorder):
    """Dispatch's recorder, whose robots also send their pose on every tick and note its etas."""

    def __init__(self, etas: Etas) -> None:
        super().__init__()
        self.etas = etas
        self.poses = 0

    def robot_class(self) -> type[SimRobot]:
        stamped = super().robot_class()
        recorder = self

        class Posed(stamped):  # type: ignore[valid-type,misc]
            def state_update(self) -> dict[str, Any] | None:
                line: dict[str, Any] | None = super().state_update()
                if line is None:  # a robot streams its pose whether it moved or not
                    line = {"type": "state", "pose": {
                        "x": round(self.x, 2), "y": round(self.y, 2), "yaw": round(self.yaw, 2),
                        "map": MAP_NAME}}
                recorder.sent(self, line["pose"])
                return line

        return Posed

    def sent(self, robot: SimRobot, pose: dict[str, Any]) -> None:
        self.poses += 1
        job = robot._job
        if (job is not None and job.kind == "deliver" and job.command.task_id is not None
                and robot.phase in (Phase.OUTBOUND, Phase.AT_TABLE)):
            self.etas.pose(robot, job, pose["x"], pose["y"], time.time())


class Phone:
    """One guest's phone at one table: its own session and cookie, its table's guest stream."""

    def __init__(self, table_id: int, base: str, etas: Etas) -> None:
        self.table_id = table_id
        self.base = base
        self.etas = etas
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.seq = Seq()
        self.order_seen: dict[int, float] = {}  # order id -> when its view first held it
        self.trips: dict[Trip, int] = {}  # per trip shown: how many of its changes reflected
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self, url: str) -> None:
        """Scan the QR code (GET /t/{code}: the cookie), then subscribe to /ws/guest."""
        async with self.session.get(url) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status}")
        self.ws = await self.session.ws_connect(
            self.base.replace("http", "ws", 1) + "/ws/guest", max_msg_size=0,
            headers={"Origin": self.base})

    def update(self, data: dict[str, Any], now: float) -> None:
        for view in data.get("items") or []:
            for order in view["orders"]:
                self.order_seen.setdefault(order["id"], now)
            if view["robot"] is not None:
                self.etas.view(self, view["robot"], now)

    async def order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | str]:
        async with self.session.post(self.base + "/api/guest/orders", json=body, headers={
                "Origin": self.base, "Idempotency-Key": str(uuid.uuid4())}) as response:
            text = await response.text()
            return response.status, orjson.loads(text) if response.status == 201 else text


class Tablet:
    """A kitchen display on /ws/orders: when each order's first update reached it."""

    def __init__(self) -> None:
        self.seq = Seq()
        self.seen: dict[int, float] = {}
        self.status: dict[int, str] = {}

    def update(self, data: dict[str, Any], now: float) -> None:
        if data.get("kind") == "snapshot":
            return
        for item in data.get("items") or []:
            self.seen.setdefault(item["id"], now)
            self.status[item["id"]] = item["status"]


def shuffled_tables(tables: int, rng: random.Random) -> Iterator[int]:
    """Every table once in a shuffled order, then again: orders spread evenly, so no visit
    passes guest.max_orders_per_10min at 30 orders a minute over 60 tables."""
    while True:
        order = list(range(1, tables + 1))
        rng.shuffle(order)
        yield from order


async def guests_and_kitchen(spec: dict[str, Any], phones: dict[int, list[Phone]],
                             menu: dict[str, int], kitchen: dispatch.Http,
                             placed: dict[int, Placed], errors: list[str],
                             started: float) -> None:
    """Each order from one of its table's phones at its time; then the kitchen bumps it to
    preparing, and to ready after its cook time (dispatch's schedule, tables round robin)."""
    tables = shuffled_tables(spec["tables"], random.Random(spec["seed"] + 1))
    asked: Counter[int] = Counter()  # orders per table so far: its phones take turns

    async def one(at: float, items: list[dict[str, Any]], accept_s: float, cook_s: float,
                  table_id: int) -> None:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        first = asked[table_id] == 0
        phone = phones[table_id][asked[table_id] % len(phones[table_id])]
        asked[table_id] += 1
        body = {"items": [{"menu_id": menu[item["name"]], "qty": item["qty"]}
                          for item in items]}
        sent = time.time()
        status, answer = await phone.order(body)
        if status != 201 or not isinstance(answer, dict):
            errors.append(f"POST /api/guest/orders: {status} {str(answer)[:200]}")
            return
        placed[answer["id"]] = Placed(table_id, sent, time.time(), first)
        await asyncio.sleep(accept_s)
        await kitchen.call("PATCH", f"/api/orders/{answer['id']}", {"status": "preparing"})
        await asyncio.sleep(cook_s)
        await kitchen.call("PATCH", f"/api/orders/{answer['id']}", {"status": "ready"})

    plan = dispatch.schedule(spec, random.Random(spec["seed"]))
    await asyncio.gather(*(one(at, items, accept_s, cook_s, next(tables))
                           for at, _, items, accept_s, cook_s in plan))


async def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    base = spec["url"]
    tables = grid_tables(spec["tables"])
    etas = Etas({n: (x, y) for n, (_, _, x, y) in enumerate(tables, 1)})
    recorder = Recorder(etas)
    own: dict[str, list[float]] = {}
    background: list[asyncio.Task[Any]] = []
    server = psutil.Process(spec["server_pid"])
    phones: dict[int, list[Phone]] = {}
    tablets = [Tablet() for _ in range(spec["tablets"])]
    placed: dict[int, Placed] = {}
    errors: list[str] = []

    def server_cpu() -> float:
        times = server.cpu_times()  # /proc/PID/stat: utime + stime
        return float(times.user + times.system)

    admin_session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    kitchen_session = aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {KITCHEN_TOKEN}"})
    try:
        admin = dispatch.Http(admin_session, base)
        kitchen = dispatch.Http(kitchen_session, base)
        for n, (label, seats, x, y) in enumerate(tables, 1):
            table = await admin.call("POST", "/api/tables",
                                     {"label": label, "seats": seats, "x": x, "y": y})
            if table is None or table["id"] != n:
                raise RuntimeError(f"table {label} got id {table and table['id']}, not {n}: the "
                                   "simulator would drive to the wrong place")
        menu: dict[str, int] = {}
        for n, name in enumerate(dispatch.MENU):
            dish = await admin.call("POST", "/api/menu", {
                "name": name, "category": "Mains", "price": PRICE_FROM + 500 * n,
                "names": {"en": name}, "position": n})
            if dish is None:
                raise RuntimeError(f"the menu refused {name}: {admin.errors}")
            menu[name] = dish["id"]

        async def seat(table_id: int) -> None:
            link = await admin.call("GET", f"/api/tables/{table_id}/link")
            if link is None:
                raise RuntimeError(f"no link for table {table_id}: {admin.errors}")
            for _ in range(spec["phones"]):
                phone = Phone(table_id, base, etas)
                phones.setdefault(table_id, []).append(phone)
                await phone.open(link["url"])

        connect_started = time.monotonic()
        ids = list(range(1, spec["tables"] + 1))
        step = max(1, CONNECT_BATCH // spec["phones"])
        for start in range(0, len(ids), step):
            await asyncio.gather(*(seat(table_id) for table_id in ids[start:start + step]))
        all_phones = [phone for table_phones in phones.values() for phone in table_phones]
        for phone in all_phones:
            assert phone.ws is not None
            background.append(asyncio.create_task(
                follow(phone.ws, phone.seq, "guest", phone.update)))
        tablet_sockets = [await kitchen_session.ws_connect(
            base.replace("http", "ws", 1) + f"/ws/orders?token={KITCHEN_TOKEN}", max_msg_size=0)
            for _ in tablets]
        background += [asyncio.create_task(follow(ws, tablet.seq, "orders", tablet.update))
                       for ws, tablet in zip(tablet_sockets, tablets)]
        connect_s = time.monotonic() - connect_started

        stop = asyncio.Event()
        fleet = asyncio.create_task(run_fleet(
            "127.0.0.1", spec["tcp_port"], ROBOT_TOKEN, spec["robots"], spec["hz"], stop=stop,
            seed=spec["seed"], prefix="sim", robot_class=recorder.robot_class()))
        if not await dispatch.wait_robots(admin, spec["robots"],
                                          lambda r: r["connected"] and r["status"] == "idle",
                                          60):
            raise RuntimeError("the robots did not all connect")
        sampler = dispatch.Sampler(admin)
        background += [asyncio.create_task(sampler.run()),
                       asyncio.create_task(dispatch.own_lag(own, sampler))]
        await asyncio.sleep(1)  # the first lag samples, and every socket's snapshot
        print("ready", flush=True)

        histograms_start = {name: await sampler.histogram(name) for name in HISTOGRAMS}
        cpu_start = server_cpu()
        psutil.cpu_percent()  # from here: how busy the whole machine was, all processes
        sampler.phase = "load"
        started = time.monotonic()
        ordering = asyncio.create_task(guests_and_kitchen(
            spec, phones, menu, kitchen, placed, errors, started))
        await asyncio.sleep(spec["duration"])
        cpu_s = server_cpu() - cpu_start
        load_s = time.monotonic() - started
        machine_busy = psutil.cpu_percent()
        ended_at = time.time()
        sampler.phase = "after"
        histograms = {name: dispatch.decision_summary(before, await sampler.histogram(name))
                      for name, before in histograms_start.items()}
        # Let the last orders' updates and the views that were held back land.
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(fleet, 30)
        ordering.cancel()
        crashed = [repr(task.exception()) for task in background
                   if task.done() and not task.cancelled() and task.exception() is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, ordering, return_exceptions=True)
    finally:
        await asyncio.gather(admin_session.close(), kitchen_session.close(),
                             *(phone.session.close() for table_phones in phones.values()
                               for phone in table_phones))

    to_tablets = [tablet.seen[order_id] - order.sent for order_id, order in placed.items()
                  for tablet in tablets if order_id in tablet.seen]
    to_phones = [phone.order_seen[order_id] - order.sent for order_id, order in placed.items()
                 for phone in phones[order.table_id] if order_id in phone.order_seen]
    # The orders the last tablet saw latest: was it the POST (the server's commit) or the fan-out?
    slowest = sorted(((max((t.seen[order_id] for t in tablets if order_id in t.seen),
                           default=order.sent) - order.sent, order_id, order)
                      for order_id, order in placed.items()), key=lambda row: -row[0])
    statuses = tablets[0].status if tablets else {}
    return {
        "connect_s": connect_s, "load_s": load_s,
        "orders": len(placed), "order_errors": len(errors), "order_error_samples": errors[:10],
        "served": sum(1 for order_id in placed if statuses.get(order_id) == "served"),
        "order_to_tablets": dispatch.ms_summary(to_tablets),
        "tablets_missed": len(placed) * len(tablets) - len(to_tablets),
        "order_post": dispatch.ms_summary([o.answered - o.sent for o in placed.values()]),
        "order_post_opening_visit": dispatch.ms_summary(
            [o.answered - o.sent for o in placed.values() if o.opened_visit]),
        "slowest_orders": [{"id": order_id, "table_id": order.table_id,
                            "opened_visit": order.opened_visit,
                            "post_ms": (order.answered - order.sent) * 1000,
                            "last_tablet_ms": late * 1000}
                           for late, order_id, order in slowest[:5]],
        "order_to_phones": dispatch.ms_summary(to_phones),
        "phones_missed": len(placed) * spec["phones"] - len(to_phones),
        "pose_to_eta": dispatch.ms_summary(etas.samples),
        "eta_changes": sum(len(changes) - 1 for changes in etas.changes.values()),
        "eta_trips": len(etas.changes),
        "eta_unmatched": etas.unmatched, "eta_before_shown": etas.before_shown,
        "eta_unknown": etas.unknown,
        "eta_unshown": etas.unshown(all_phones, ended_at - UNSHOWN_GRACE_S),
        "poses_sent": recorder.poses, "trips": len(recorder.trips),
        "orders_per_trip": sum(recorder.trips) / len(recorder.trips) if recorder.trips else None,
        "server_cpu_s": cpu_s, "server_cpu_per_s": cpu_s / load_s,
        "machine_busy_pct": machine_busy,
        "guest_sockets": len(all_phones), "guest_updates": sum(p.seq.updates for p in all_phones),
        "guest_gaps": sum(p.seq.gaps for p in all_phones),
        "guest_duplicates": sum(p.seq.duplicates for p in all_phones),
        "guest_closed": sum(1 for p in all_phones if p.ws is not None and p.ws.close_code),
        "tablet_updates": sum(t.seq.updates for t in tablets),
        "tablet_gaps": sum(t.seq.gaps for t in tablets),
        "tablet_duplicates": sum(t.seq.duplicates for t in tablets),
        "http_error_count": admin.error_count + kitchen.error_count,
        "http_errors": admin.errors + kitchen.errors,
        "lag": {phase: dispatch.lag_summary(values) for phase, values in sampler.lag.items()},
        # the server's own SQLite transactions and publish → socket write, over the load phase
        "db_writes": histograms[dispatch.DB_WRITE], "publish_to_socket": histograms[PUBLISH],
        "load_process_lag": {phase: dispatch.lag_summary(values)
                             for phase, values in own.items()},
        "background_errors": crashed, "load_cpu_s": time.process_time(),
    }


def guests(kind: str, *, tables: int, phones: int, tablets: int, robots: int,
           per_minute: float, duration: float, cook_s: tuple[float, float],
           accept_s: tuple[float, float] = (1, 3), hz: float = dispatch.HZ,
           seed: int = 1) -> dict[str, Any]:
    """The room under load on a fresh server; one row."""
    if kind != "robodyne":
        raise ValueError(f"the guests scenario runs robodyne only, got {kind!r}")
    server = Server("robodyne", extra_config="[dispatch]\nauto_deliver = true\n")
    server.start()
    assert server.process is not None
    spec = {"role": "guests", "url": server.url, "tcp_port": server.tcp_port,
            "server_pid": server.process.pid, "tables": tables, "phones": phones,
            "tablets": tablets, "robots": robots, "per_minute": per_minute,
            "duration": duration, "cook_s": list(cook_s), "accept_s": list(accept_s),
            "hz": hz, "seed": seed}
    try:
        load = scenarios._spawn(spec, module="bench.guests")
        scenarios._wait_ready(load, timeout=180)
        result = scenarios._result(load, timeout=duration + 120)
    finally:
        server.stop()
    log_path = server.workdir / "server.log"
    log = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    return {"scenario": "guests", "server": kind, "tables": tables, "phones_per_table": phones,
            "tablets": tablets, "robots": robots, "hz": hz, "per_minute": per_minute,
            "duration_s": duration, "cook_s": list(cook_s), **result,
            "gaps": result["guest_gaps"] + result["tablet_gaps"],
            "duplicates": result["guest_duplicates"] + result["tablet_duplicates"],
            "server_warnings": sum(1 for line in log if " WARNING " in line),
            "server_errors": [line for line in log if " ERROR " in line][:10]}


COLUMNS: Final = [
    ("tables", "tables"), ("guest_sockets", "phones"), ("tablets", "tablets"),
    ("robots", "robots"), ("orders", "orders"),
    ("order_to_tablets.p50_ms", "order→tablet p50 ms"), ("order_to_tablets.p99_ms", "p99 ms"),
    ("order_to_tablets.max_ms", "max ms"), ("order_to_phones.p99_ms", "order→phones p99 ms"),
    ("pose_to_eta.samples", "eta samples"), ("pose_to_eta.p50_ms", "pose→eta p50 ms"),
    ("pose_to_eta.p99_ms", "p99 ms"), ("pose_to_eta.max_ms", "max ms"),
    ("eta_unshown", "eta unshown"),
    ("server_cpu_per_s", "server CPU s/s"), ("gaps", "gaps"), ("duplicates", "dups"),
]


def main() -> None:
    dispatch.load_main(run_load)


if __name__ == "__main__":
    main()

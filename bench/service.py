"""The service scenario (`python -m bench service`): a Friday evening's service, compressed,
against a real `python run.py` kept running by a supervisor, through the public interfaces only;
once with nothing going wrong, then again with the same seed under fire. docs/reliability.md,
"A service under fire", says what happens, which faults, and what is measured.

The same parties (bench/service_people.py) come to the host stand, are seated with an escort,
order course after course on their phones, call for water or a robot, pay and leave; cooks bump
their tickets; the server's robots (bench/service_fleet.py) deliver, escort, bus and answer
calls, nobody dispatching by hand; six staff tablets and every phone follow their streams
(bench/service_streams.py). Under fire, besides: robots failing trips, dropping off the Wi-Fi and
restarting without their task; tablets and phones losing the Wi-Fi; one tablet frozen; the
server killed with SIGKILL; the database's disk full (bench/service_faults.py).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import aiohttp

from robodyne.core.money import CheckLine, check
from robodyne.demo.floor import PLACES, grid_tables
from robodyne.settings import RestaurantSettings

from . import dispatch
from .servers import ADMIN_TOKEN, KITCHEN_TOKEN, ROBOT_TOKEN, Server
from .service_faults import Disk, Supervisor
from .service_fleet import FleetRobot, Link
from .service_people import (
    Api,
    Floor,
    HostStand,
    Kitchen,
    Ledger,
    Parties,
    Tally,
    plan_parties,
)
from .service_streams import Frozen, Stream

# A service charge makes the check's arithmetic (rounding, tax on the charge) worth checking.
SERVICE_CHARGE_PCT: Final = 7.5
CONFIG: Final = (f"[restaurant]\nservice_charge_pct = {SERVICE_CHARGE_PCT}\n"
                 "[host]\nescort = true\n[dispatch]\nauto_deliver = true\n")
TABLETS: Final = ("orders", "tasks", "robots", "tables", "visits", "customers")
FINAL: Final = frozenset({"completed", "failed", "cancelled"})
# A task longer than this from queued to final is stuck. The longest a task may honestly take
# under fire: its robot lost without a word (offline after 3 x heartbeat_s = 15 s), the server
# down meanwhile (~3 s), the queue ahead of it served, then its own trip: well under a minute.
STUCK_S: Final = 60.0
FAIL_RATE: Final = 0.05
DISK_FULL_S: Final = 4.0
# SQLite refuses nothing on a full disk while its WAL has room to reuse: the disk stays full
# until the server's first refused write (/healthz degraded), then DISK_FULL_S more; or this.
DISK_BITE_MAX_S: Final = 30.0
# The frozen tablet is caught send_timeout_s after its window closes: 3 s instead of the
# default 10 keeps that before the kill in the quick run (bench frozen --quick does the same).
SEND_TIMEOUT_S: Final = 3.0
SLOW_CLOSES: Final = 'robodyne_ws_clients_closed_total{reason="slow"}'
# After the last party leaves: the last bus and return trips.
SETTLE_S: Final = 60.0
FAULT_TICK_S: Final = 0.5
# The last party to arrive is gone well within this; one still there is counted, not waited on.
PARTY_MAX_S: Final = 240.0


@dataclass(frozen=True)
class Spec:
    """One run's sizes; `fire` adds the faults."""

    orders: int
    tables: int
    robots: int
    duration: float
    seed: int
    fire: bool = False
    accept_s: tuple[float, float] = (0.5, 1.5)
    cook_s: tuple[float, float] = (3.0, 8.0)
    bus_s: float = 2.0
    # Mean seconds between chance faults: a robot's Wi-Fi, a tablet's or phone's.
    robot_wifi_every_s: float = 12.0
    screen_wifi_every_s: float = 4.0


class Evening:
    """One run: the server, its disk, the people, the robots and the screens."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.server = Server("robodyne", extra_config=CONFIG, send_timeout_s=SEND_TIMEOUT_S)
        self.disk = Disk(self.server.workdir / "disk")
        self.supervisor = Supervisor(self.server, self.disk.db)
        self.tally = Tally()
        self.ledger = Ledger()
        self.stop = asyncio.Event()
        self.rng = random.Random(spec.seed + 7)
        self.fleet: list[FleetRobot] = []
        self.tablets: list[Stream] = []
        self.assigned: list[float] = []  # when the tasks tablet saw a task assigned
        # Which disk fault runs here, and why not the tmpfs when it is not.
        self.faults: dict[str, Any] = {"disk_fault": self.disk.mode, "disk_why": self.disk.why,
                                       "robot_wifi": 0, "robot_restarts": 0, "screen_wifi": 0}
        self.back: dict[str, float | None] = {}

    def ws(self, topic: str) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws/{topic}?token={ADMIN_TOKEN}"

    def _tasks_seen(self, data: dict[str, Any], now: float) -> None:
        if data.get("kind") != "snapshot" and any(
                item.get("status") == "assigned" for item in data.get("items") or []):
            self.assigned.append(now)

    async def run(self) -> dict[str, Any]:
        await self.supervisor.start()
        try:
            async with aiohttp.ClientSession(headers={
                    "Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin, aiohttp.ClientSession(
                    headers={"Authorization": f"Bearer {KITCHEN_TOKEN}"}) as cooks:
                result = await self._serve(Api(admin, self.server.url, self.tally),
                                           Api(cooks, self.server.url, self.tally), admin)
            result["exit_status"] = await self.supervisor.stop()
            result.update(audit(self.disk.db, list(self.ledger.placed)))
        finally:
            if self.supervisor.process and self.supervisor.process.returncode is None:
                self.supervisor.process.kill()
            self.disk.release()
        return result

    async def _serve(self, staff: Api, cooks: Api, admin: aiohttp.ClientSession
                     ) -> dict[str, Any]:
        spec = self.spec
        menu_ids = await set_up(staff, spec.tables)
        links = [Link(self.server.tcp_port) for _ in range(spec.robots)]
        for n, link in enumerate(links, 1):
            await link.start()
            self.fleet.append(FleetRobot(n, ROBOT_TOKEN, link, spec.seed * 1000 + n,
                                         FAIL_RATE if spec.fire else 0.0))
            self.fleet[-1].start()
        if not await robots_back(staff, spec.robots, 60):
            raise RuntimeError("the robots did not all connect")
        self.tablets = [Stream(admin, self.ws(topic), topic,
                               on_update=self._tasks_seen if topic == "tasks" else None)
                        for topic in TABLETS]
        frozen = (Frozen(self.server.port, f"/ws/robots?token={ADMIN_TOKEN}") if spec.fire
                  else None)
        if frozen is not None:
            await frozen.open()
            crew_frozen = asyncio.create_task(self._frozen_closed(staff))
        host = HostStand(staff)
        parties = Parties(self.server.url, staff, host, self.ledger, self.stop)
        crew = [asyncio.create_task(worker.run(self.stop)) for worker in (
            *self.tablets, host, Kitchen(cooks, spec.seed, spec.accept_s, spec.cook_s),
            Floor(staff, spec.bus_s))]
        plans = plan_parties(random.Random(spec.seed), menu_ids, spec.orders, spec.duration)
        started = time.monotonic()
        faults = asyncio.create_task(self._fire(staff, parties, started)) if spec.fire else None
        evenings = [asyncio.create_task(parties.evening(plan, started)) for plan in plans]
        try:
            _, unfinished = await asyncio.wait(evenings, timeout=spec.duration + PARTY_MAX_S)
            service_s = time.monotonic() - started
            settled = await self._settled(staff)
        finally:
            for evening in evenings:
                evening.cancel()
            await asyncio.gather(*evenings, return_exceptions=True)
            if faults is not None:
                faults.cancel()
                await asyncio.gather(faults, return_exceptions=True)
            self.stop.set()
            await asyncio.gather(*crew, *parties.streams, return_exceptions=True)
            if frozen is not None:
                crew_frozen.cancel()
                await asyncio.gather(crew_frozen, return_exceptions=True)
                frozen.close()
            for robot in self.fleet:
                await robot.stop()
            for link in links:
                await link.close()
            await asyncio.gather(*(phone.session.close() for phone in self.ledger.phones))
        return {**self._counts(await staff.items("visits"), await staff.items("orders")),
                "service_s": service_s, "settled": settled,
                "plans": len(plans), "planned_orders": sum(len(p.orders) for p in plans),
                "parties_unfinished": len(unfinished)}

    async def _frozen_closed(self, staff: Api) -> None:
        """When the server closed the frozen tablet as slow (4008), by its own count: the
        tablet itself reads nothing, and its socket is aborted rather than closed politely."""
        opened = time.monotonic()
        while True:
            text = ""
            with suppress(aiohttp.ClientError, OSError):  # the server being restarted
                async with staff.session.get(staff.base + "/metrics") as answer:
                    text = await answer.text()
            if any(name + labels == SLOW_CLOSES and value >= 1
                   for name, labels, value in dispatch.parse_metrics(text)):
                self.faults["frozen_closed_s"] = time.monotonic() - opened
                return
            await asyncio.sleep(0.5)

    async def _settled(self, staff: Api) -> bool:
        """Every task final (the last bus and return trips done), within SETTLE_S."""
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            if all(task["status"] in FINAL for task in await staff.items("tasks")):
                return True
            await asyncio.sleep(0.5)
        return False

    def _counts(self, visits: list[dict[str, Any]], orders: list[dict[str, Any]]
                ) -> dict[str, Any]:
        """What the screens saw, and the checks and payments as the API lists them."""
        ours = [v for v in visits if v["id"] in set(self.ledger.visits)]
        terms = RestaurantSettings(service_charge_pct=SERVICE_CHARGE_PCT).terms()
        totals: dict[int, int] = {}
        for order in orders:
            if order["status"] != "cancelled" and order.get("visit_id") is not None:
                totals[order["visit_id"]] = totals.get(order["visit_id"], 0) + order["total"]
        bad_checks = [v["id"] for v in ours if v["check"]["subtotal"] != totals.get(v["id"], 0)
                      or check([CheckLine(**line) for line in v["check"]["lines"]], terms,
                               v["check"]["paid"]).model_dump() != v["check"]]
        twice = [v["id"] for v in ours
                 if len(v["payments"]) > len(self.ledger.payments.get(v["id"], []))]
        streams = [*self.tablets, *(phone.stream for phone in self.ledger.phones)]
        return {
            "visits": len(ours), "visits_closed": sum(v["status"] == "closed" for v in ours),
            "bad_checks": len(bad_checks), "payments_twice": len(twice),
            "payments": sum(len(p) for p in self.ledger.payments.values()),
            "gaps": sum(s.seq.gaps for s in streams),
            "duplicates": sum(s.seq.duplicates for s in streams),
            "stream_errors": sum(len(s.errors) for s in streams),
            "streams": len(streams), "resumed": sum(s.resumed for s in streams),
            "unserved_by_parties": len(self.ledger.unserved),
            "parties_done": self.ledger.parties_done,
            "retries": self.tally.retries, "refused_503": self.tally.refused_503,
            "server_deaths": len(self.supervisor.deaths),
            "people_errors": self.tally.errors, **self.faults, **self.back,
        }

    # ---- under fire ----

    async def _fire(self, staff: Api, parties: Parties, started: float) -> None:
        """The faults, on schedule (kill -9, disk full, two robot restarts) and by chance."""
        spec = self.spec
        kill_at, disk_at = 0.5 * spec.duration, 0.8 * spec.duration
        restarts = [0.25 * spec.duration, 0.6 * spec.duration]
        quiet = (kill_at - 2, kill_at + 20)  # the kill's recovery is measured undisturbed
        away: set[int] = set()
        pending: list[asyncio.Task[None]] = []
        try:
            while True:
                elapsed = time.monotonic() - started
                if kill_at is not None and elapsed >= kill_at:
                    kill_at = None
                    pending.append(asyncio.create_task(self._kill(staff)))
                if disk_at is not None and elapsed >= disk_at:
                    disk_at = None
                    pending.append(asyncio.create_task(self._disk_full(staff)))
                if restarts and elapsed >= restarts[0]:
                    restarts.pop(0)
                    robot = self._busy_robot(away)
                    if robot is not None:
                        self.faults["robot_restarts"] += 1
                        await robot.restart()
                calm = not quiet[0] <= elapsed <= quiet[1]
                if calm and self._chance(spec.robot_wifi_every_s):
                    robot = self._busy_robot(away)
                    if robot is not None:
                        pending.append(asyncio.create_task(self._robot_wifi(robot, away)))
                if calm and self._chance(spec.screen_wifi_every_s):
                    screens = [*self.tablets, *(phone.stream for phone in self.ledger.phones
                                                if phone.stream.closed_code is None)]
                    self.faults["screen_wifi"] += 1
                    await self.rng.choice(screens).lose_wifi(self.rng.uniform(0.5, 4.0))
                await asyncio.sleep(FAULT_TICK_S)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _chance(self, every_s: float) -> bool:
        return self.rng.random() < FAULT_TICK_S / every_s

    def _busy_robot(self, away: set[int]) -> FleetRobot | None:
        """A robot on a task if any (the fault then costs something), else any; none away."""
        here = [r for r in self.fleet if r.n not in away]
        busy = [r for r in here if r.robot.task_id is not None]
        return self.rng.choice(busy or here) if here else None

    async def _robot_wifi(self, robot: FleetRobot, away: set[int]) -> None:
        away.add(robot.n)
        self.faults["robot_wifi"] += 1
        robot.link.drop()
        await asyncio.sleep(self.rng.uniform(2.0, 6.0))
        robot.link.restore()
        away.discard(robot.n)

    async def _kill(self, staff: Api) -> None:
        """kill -9, then how long until everything is back: the server, every robot, every
        tablet on the new epoch, and dispatch moving (the first task assigned after)."""
        killed = self.supervisor.kill_9()
        healthy = await _after(lambda: next((t for t in self.supervisor.ready if t > killed),
                                            None))
        robots = None
        if await robots_back(staff, self.spec.robots, 60):
            robots = time.monotonic()
        tablets = await _after(lambda: max(
            (min((t for t in s.epochs.values() if t > killed), default=None) or 0
             for s in self.tablets), default=0) if all(
            any(t > killed for t in s.epochs.values()) for s in self.tablets) else None)
        moving = await _after(lambda: next((t for t in self.assigned if t > (healthy or 0)),
                                           None))
        parts = {"healthy": healthy, "robots": robots, "tablets": tablets, "dispatch": moving}
        self.back = {f"back_{k}_s": None if t is None else t - killed for k, t in parts.items()}
        known = [t for t in parts.values() if t is not None]
        self.back["back_after_kill_s"] = (max(known) - killed
                                          if len(known) == len(parts) else None)

    async def _disk_full(self, staff: Api) -> None:
        refused = self.tally.refused_503
        self.disk.fill(self.supervisor.pid)
        filled = time.monotonic()
        bit = None
        while bit is None and time.monotonic() < filled + DISK_BITE_MAX_S:
            with suppress(aiohttp.ClientError, OSError):
                async with staff.session.get(staff.base + "/healthz") as answer:
                    if answer.status == 503:
                        bit = time.monotonic() - filled
            await asyncio.sleep(0.1)
        self.faults["disk_bit_after_s"] = bit
        if bit is not None:
            await asyncio.sleep(DISK_FULL_S)
        self.disk.free(self.supervisor.pid)
        self.faults["disk_full_s"] = time.monotonic() - filled
        self.faults["refused_while_full"] = self.tally.refused_503 - refused


async def _after(found: Any, timeout: float = 60.0) -> float | None:
    """The first non-None value of `found()`, polled, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value is not None:
            return float(value)
        await asyncio.sleep(0.05)
    return None


async def robots_back(staff: Api, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for r in await staff.items("robots") if r["connected"]) >= count:
            return True
        await asyncio.sleep(0.1)
    return False


async def set_up(staff: Api, tables: int) -> list[int]:
    """The floor (tables where the robots can find them, the dock, the pass and the host stand)
    and a priced menu, through the admin API; the menu's ids."""
    for label, seats, x, y in grid_tables(tables):
        status, table = await staff.call("POST", "/api/tables",
                                         {"label": label, "seats": seats, "x": x, "y": y})
        if status != 201:
            raise RuntimeError(f"table {label}: {status} {table}")
    for name, (x, y) in PLACES.items():
        await staff.call("PUT", f"/api/places/{name}", {"x": x, "y": y})
    menu = []
    for n, name in enumerate(dispatch.MENU):
        status, dish = await staff.call("POST", "/api/menu", {
            "name": name, "category": "Mains", "price": 6000 + 1250 * n, "position": n})
        if status != 201:
            raise RuntimeError(f"dish {name}: {status} {dish}")
        menu.append(dish["id"])
    return menu


def audit(db: Path, placed: list[int]) -> dict[str, Any]:
    """From the server's file once it has stopped: the orders (dispatch's audit) and tasks."""
    orders = dispatch.audit(db, placed)
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tasks = conn.execute(
            "SELECT status, source, (julianday(coalesce(finished_at, 'now'))"
            " - julianday(created_at)) * 86400, id, kind, robot_id, detail, created_at,"
            " assigned_at, started_at, finished_at FROM tasks").fetchall()
        twice = conn.execute(
            "SELECT json_extract(data, '$.order_id') AS o, type, source, created_at, data"
            " FROM events WHERE type IN ('delivered', 'order_served') AND o IN"
            " (SELECT json_extract(data, '$.order_id') AS o FROM events"
            "  WHERE type IN ('delivered', 'order_served') GROUP BY o, type"
            "  HAVING count(*) > 1) ORDER BY o, created_at").fetchall()
        recovered = conn.execute(
            "SELECT count(*) FROM events WHERE type = 'storage_recovered'").fetchone()[0]
        unserved = _unserved(conn, placed)
    statuses = orders["statuses"]
    return {
        "placed": len(placed), "served": statuses.get("served", 0),
        "lost": len(placed) - statuses.get("served", 0), "served_twice": orders["doubled"],
        "twice_samples": twice[:20],
        "ready_to_served": dispatch.ms_summary(orders["ready_to_served_s"]),
        "tasks": len(tasks), "tasks_by": orders["tasks"],
        "tasks_unfinished": sum(1 for task in tasks if task[0] not in FINAL),
        "tasks_stuck": sum(1 for task in tasks if task[2] > STUCK_S),
        "stuck_samples": [task for task in tasks if task[2] > STUCK_S][:10],
        "task_longest_s": max((task[2] for task in tasks), default=None),
        "human_dispatch": sum(1 for task in tasks if task[1] in ("staff", "integration")),
        "storage_recovered": recovered, "unserved_samples": unserved,
    }


def _unserved(conn: sqlite3.Connection, placed: list[int]) -> list[dict[str, Any]]:
    """Each placed order not served at the end, with its times and every event naming it:
    what a failed run needs to say which way the order went."""
    found = []
    for order_id in placed:
        row = conn.execute("SELECT status, created_at, ready_at, served_at, visit_id"
                           " FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is not None and row[0] == "served":
            continue
        events = conn.execute(
            "SELECT created_at, type, source, data FROM events"
            " WHERE json_extract(data, '$.order_id') = ? OR EXISTS (SELECT 1 FROM"
            " json_each(data, '$.order_ids') WHERE value = ?) ORDER BY id",
            (order_id, order_id)).fetchall()
        found.append({"order": order_id, "row": row, "events": events})
    return found[:5]


def service(kind: str, *, orders: int, tables: int, robots: int, duration: float,
            seed: int = 1) -> dict[str, Any]:
    """The same evening twice, calm then under fire; one row."""
    if kind != "robodyne":
        raise ValueError(f"the service scenario runs robodyne only, got {kind!r}")
    spec = Spec(orders=orders, tables=tables, robots=robots, duration=duration, seed=seed)
    calm = asyncio.run(Evening(spec).run())
    fire = asyncio.run(Evening(replace(spec, fire=True)).run())
    return {"scenario": "service", "server": kind, "seed": seed, "robots": robots,
            "tables": tables, "tablets": len(TABLETS), "duration_s": duration, **fire,
            "calm": calm, "stuck_bound_s": STUCK_S}


COLUMNS: Final = [
    ("placed", "orders"), ("served", "served"), ("lost", "lost"), ("served_twice", "twice"),
    ("tasks_unfinished", "tasks left"), ("tasks_stuck", "stuck"),
    ("human_dispatch", "by hand"), ("gaps", "gaps"), ("duplicates", "dups"),
    ("bad_checks", "bad checks"), ("payments_twice", "paid twice"),
    ("back_after_kill_s", "back after kill s"), ("frozen_closed_s", "frozen 4008 after s"),
    ("disk_fault", "disk fault"),
    ("calm.ready_to_served.p50_ms", "calm r→s p50 ms"),
    ("calm.ready_to_served.p90_ms", "p90 ms"),
    ("ready_to_served.p50_ms", "fire r→s p50 ms"), ("ready_to_served.p90_ms", "p90 ms"),
]

"""The service bench's people, each through the public interfaces only: the host at the stand
(the waitlist API, as the host tablet calls it), the parties with their phones (the guest API
and /ws/guest from their table's link), the cooks bumping tickets (the kitchen's token on the
orders API), and the floor staff taking payments, closing checks, answering calls and bussing.

Every write carries an Idempotency-Key and is sent again, under the same key, while the server
is down or refuses it (503): a restart or a full disk may lose the answer, never do it twice.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import orjson

from .service_streams import Stream

RETRY_EVERY_S: Final = 0.25
# A write is given up after this long: longer than a restart and a full disk together.
RETRY_FOR_S: Final = 60.0
LOOK_EVERY_S: Final = 0.3
# How long a party waits for one of its orders before counting it lost.
SERVED_WITHIN_S: Final = 180.0
PAID_WITH: Final = ("card", "card", "cash", "other")


@dataclass
class Tally:
    """What the people counted on their side."""

    retries: int = 0  # writes sent again after no answer or a 503
    refused_503: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(text[:300])


class Api:
    """REST calls from one device (its token or its cookie jar), sent again when unanswered."""

    def __init__(self, session: aiohttp.ClientSession, base: str, tally: Tally) -> None:
        self.session = session
        self.base = base
        self.tally = tally

    async def call(self, method: str, path: str, body: Any = None, *,
                   key: bool = True) -> tuple[int, Any]:
        """The status and JSON answer; 0 when the server never answered within RETRY_FOR_S."""
        headers = {"Origin": self.base}
        if key and method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        deadline = time.monotonic() + RETRY_FOR_S
        while True:
            try:
                async with self.session.request(
                        method, self.base + path, json=body, headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10)) as answer:
                    raw = await answer.read()
                    status = answer.status
                    json = answer.content_type == "application/json"
                if status != 503:
                    return status, orjson.loads(raw) if json and raw else None
                self.tally.refused_503 += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.tally.error(f"{method} {path}: no answer within {RETRY_FOR_S:.0f} s")
                return 0, None
            self.tally.retries += 1
            await asyncio.sleep(RETRY_EVERY_S)

    async def items(self, topic: str) -> list[dict[str, Any]]:
        status, body = await self.call("GET", f"/api/{topic}")
        return list(body["items"]) if status == 200 else []


@dataclass
class PartyPlan:
    """One party's evening, drawn up front from the seed: the same in both runs."""

    n: int
    arrives_s: float
    size: int
    phones: int
    orders: list[list[dict[str, Any]]]  # the lines of each course, in turn
    call: str | None  # what it calls for after its first order
    eat_s: float
    paid_with: str


def plan_parties(rng: random.Random, menu_ids: list[int], orders: int, duration: float
                 ) -> list[PartyPlan]:
    """Parties arriving evenly at random over `duration` until they will order `orders`."""
    plans: list[PartyPlan] = []
    planned = 0
    while planned < orders:
        courses = [[{"menu_id": dish, "qty": rng.randint(1, 2)}
                    for dish in rng.sample(menu_ids, rng.randint(1, 3))]
                   for _ in range(3)]  # a starter, a main course, a dessert
        plans.append(PartyPlan(len(plans) + 1, 0.0, rng.randint(1, 6), rng.randint(1, 2),
                               courses, rng.choice((None, None, "robot", "water")),
                               rng.uniform(0.5, 2.0), rng.choice(PAID_WITH)))
        planned += len(courses)
    gaps = [rng.expovariate(1.0) for _ in plans]
    scale = duration / sum(gaps)
    at = 0.0
    for plan, gap in zip(plans, gaps):
        plan.arrives_s = at
        at += gap * scale
    return plans


class HostStand:
    """The host: parties join the line; each, in line order, is called and seated at the
    smallest available table that fits it (the server queues its escort)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seated: dict[int, asyncio.Future[tuple[int, int]]] = {}

    async def join(self, plan: PartyPlan) -> asyncio.Future[tuple[int, int]] | None:
        status, party = await self.api.call("POST", "/api/customers", {
            "name": f"Party {plan.n}", "party_size": plan.size})
        if status != 201:
            self.api.tally.error(f"join party {plan.n}: {status} {party}")
            return None
        seated: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self.seated[party["id"]] = seated
        return seated

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._seat_whom_we_can()
            await asyncio.sleep(LOOK_EVERY_S)

    async def _seat_whom_we_can(self) -> None:
        line = sorted((p for p in await self.api.items("customers")
                       if p["status"] in ("waiting", "called") and p["id"] in self.seated),
                      key=lambda p: (p["created_at"], p["id"]))
        if not line:
            return
        free = sorted((t for t in await self.api.items("tables") if t["status"] == "available"),
                      key=lambda t: (t["seats"], t["id"]))
        for party in line:
            table = next((t for t in free if t["seats"] >= party["party_size"]), None)
            if table is None:
                continue
            free.remove(table)
            if party["status"] == "waiting":
                await self.api.call("POST", f"/api/customers/{party['id']}/call")
            status, seated = await self.api.call("POST", f"/api/customers/{party['id']}/seat",
                                                 {"table_id": table["id"]})
            if status == 200:
                self.seated.pop(party["id"]).set_result((table["id"], seated["visit_id"]))


class Kitchen:
    """The cooks: each ticket accepted (preparing) a moment after it shows, and bumped ready
    after its cook time, both drawn from the seed and the order's id."""

    def __init__(self, api: Api, seed: int, accept_s: tuple[float, float],
                 cook_s: tuple[float, float]) -> None:
        self.api = api
        self.seed = seed
        self.accept_s = accept_s
        self.cook_s = cook_s
        self._due: dict[tuple[int, str], float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.monotonic()
            for order in await self.api.items("orders"):
                nxt = {"placed": "preparing", "preparing": "ready"}.get(order["status"])
                if nxt is None:
                    continue
                times = random.Random(self.seed * 1_000_003 + order["id"])
                wait = times.uniform(*self.accept_s) if nxt == "preparing" else (
                    times.uniform(*self.cook_s))
                due = self._due.setdefault((order["id"], nxt), now + wait)
                if now >= due:
                    await self.api.call("PATCH", f"/api/orders/{order['id']}", {"status": nxt})
            await asyncio.sleep(LOOK_EVERY_S)


class Floor:
    """The floor staff: calls other than a robot's answered, and tables left to clean made
    available again a moment later (the robot's bus task takes the dishes)."""

    def __init__(self, api: Api, bus_s: float) -> None:
        self.api = api
        self.bus_s = bus_s
        self._dirty_since: dict[int, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.monotonic()
            for call in await self.api.items("calls"):
                if call["status"] == "open" and call["kind"] != "robot":
                    await self.api.call("POST", f"/api/calls/{call['id']}/answer")
            dirty = {t["id"] for t in await self.api.items("tables")
                     if t["status"] == "needs_cleaning"}
            self._dirty_since = {t: self._dirty_since.get(t, now) for t in dirty}
            for table_id, since in self._dirty_since.items():
                if now - since >= self.bus_s:
                    await self.api.call("PATCH", f"/api/tables/{table_id}",
                                        {"status": "available"})
            await asyncio.sleep(LOOK_EVERY_S)


class Phone:
    """A guest's phone: its own cookie jar, its table's link opened, /ws/guest followed."""

    def __init__(self, base: str, tally: Tally, name: str) -> None:
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.api = Api(self.session, base, tally)
        self.view: dict[str, Any] | None = None
        self.stream = Stream(self.session, base.replace("http", "ws", 1) + "/ws/guest", name,
                             {"Origin": base}, self._update)

    def _update(self, data: dict[str, Any], now: float) -> None:
        for view in data.get("items") or []:
            self.view = view

    async def open(self, url: str) -> bool:
        status, _ = await self.api.call("GET", url[len(self.api.base):])
        return status == 200

    def order_status(self, order_id: int) -> str | None:
        orders = self.view["orders"] if self.view else []
        return next((o["status"] for o in orders if o["id"] == order_id), None)


@dataclass
class Ledger:
    """Everything the parties did that the results check against the server."""

    placed: dict[int, float] = field(default_factory=dict)  # order id -> time its 201 came
    unserved: list[int] = field(default_factory=list)  # orders a party gave up waiting for
    payments: dict[int, list[int]] = field(default_factory=dict)  # visit id -> payment ids
    visits: list[int] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    parties_done: int = 0


class Parties:
    """Every planned party's evening, from the host stand to the door."""

    def __init__(self, base: str, staff: Api, host: HostStand, ledger: Ledger,
                 stop: asyncio.Event) -> None:
        self.base = base
        self.staff = staff
        self.host = host
        self.ledger = ledger
        self.stop = stop
        self.streams: list[asyncio.Task[None]] = []

    async def evening(self, plan: PartyPlan, started: float) -> None:
        await asyncio.sleep(max(0.0, started + plan.arrives_s - time.monotonic()))
        seated = await self.host.join(plan)
        if seated is None:
            return
        table_id, visit_id = await seated
        self.ledger.visits.append(visit_id)
        status, link = await self.staff.call("GET", f"/api/tables/{table_id}/link")
        phones = [Phone(self.base, self.staff.tally, f"party {plan.n} phone {n}")
                  for n in range(plan.phones)]
        self.ledger.phones += phones
        for phone in phones:
            if status == 200 and await phone.open(link["url"]):
                self.streams.append(asyncio.create_task(phone.stream.run(self.stop)))
        for course, lines in enumerate(plan.orders):
            phone = phones[course % len(phones)]
            placed, order = await phone.api.call("POST", "/api/guest/orders", {"items": lines})
            if placed != 201:
                self.staff.tally.error(f"party {plan.n} course {course}: {placed} {order}")
                continue
            self.ledger.placed[order["id"]] = time.monotonic()
            if course == 0 and plan.call is not None:
                await phone.api.call("POST", "/api/guest/calls", {"kind": plan.call})
            if not await self._served(phone, order["id"]):
                self.ledger.unserved.append(order["id"])
        await asyncio.sleep(plan.eat_s)
        await self._pay_and_go(plan, visit_id)
        self.ledger.parties_done += 1

    async def _served(self, phone: Phone, order_id: int) -> bool:
        deadline = time.monotonic() + SERVED_WITHIN_S
        while time.monotonic() < deadline:
            if phone.order_status(order_id) == "served":
                return True
            await asyncio.sleep(LOOK_EVERY_S)
        return False

    async def _pay_and_go(self, plan: PartyPlan, visit_id: int) -> None:
        """The party pays what its check says it owes (one payment) and the visit closes."""
        visit = next((v for v in await self.staff.items("visits") if v["id"] == visit_id), None)
        if visit is None:
            self.staff.tally.error(f"party {plan.n}: visit {visit_id} not listed")
            return
        due = visit["check"]["due"]
        if due > 0:
            status, payment = await self.staff.call("POST", f"/api/visits/{visit_id}/payments",
                                                    {"amount": due, "method": plan.paid_with})
            if status != 201:
                self.staff.tally.error(f"party {plan.n} pays {due}: {status} {payment}")
                return
            self.ledger.payments.setdefault(visit_id, []).append(payment["id"])
        status, closed = await self.staff.call("POST", f"/api/visits/{visit_id}/close")
        if status != 200:
            self.staff.tally.error(f"party {plan.n} closes: {status} {closed}")

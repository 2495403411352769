"""The guest view of each table (SPEC §11.4, docs/protocol.md, "The guest stream"): built from
what the hub's topics already hold, published as one keyed stream per table, a change of the
robot's eta_s alone at most once a second per table.

It taps the topics the view is made of (tables, visits, orders, tasks, robots, calls) and marks
the tables each update touches; once per turn of the event loop it rebuilds those tables'
views — only those someone watches — and publishes the ones that changed. No database read:
the orders of each open visit are the one thing it keeps itself, since the orders topic lets
an order served over an hour ago go while its visit is still open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Final

from ..core.calls import CallStatus
from ..core.floor import Point
from ..core.models import TaskKind, TaskStop, VisitStatus
from ..core.tasks import CLOSED_STOP_STATUSES, FINISHED
from ..core.topics import GUEST_STREAM, Topic
from ..live.hub import Family, Hub, Stream, Tap
from ..live.views import Record
from ..settings import DispatchSettings
from ..store.store import Store
from ..wire.frames import Kind
from .eta import EtaThrottle, eta

log = logging.getLogger(__name__)

# The tasks that bring a robot to a table for its guests (and escort, with the host stand).
TABLE_TASKS: Final = frozenset({TaskKind.DELIVER, TaskKind.SUMMON, TaskKind.BUS})
# How often a held-back eta is looked at again: the throttle's second plus at most this.
HELD_CHECK_S: Final = 0.05
# Updates each table's stream keeps for resuming: every update is the whole view (all of a
# long visit's orders), so a phone away longer than this many changes gets a new snapshot.
GUEST_HISTORY: Final = 50
# Told of a visit the view has shown closed: (table_id, visit_id). Whoever serves that visit's
# guests ends them now, before the table's view moves on to the next party.
VisitEnded = Callable[[int, int], None]


class GuestViews:
    """Every watched table's guest view, kept in step with the topics it is made of."""

    def __init__(self, hub: Hub, store: Store, dispatch: DispatchSettings,
                 positions: Callable[[], Mapping[int, Point]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hub = hub
        self._store = store
        self._speed = dispatch.robot_speed_mps
        self._dwell = dispatch.stop_dwell_s
        self._positions = positions
        self.family: Family = hub.add_family(GUEST_STREAM, self._view_of,
                                             history_size=GUEST_HISTORY)
        self._throttle: EtaThrottle[int] = EtaThrottle(clock)
        # The table's open visit, and each open visit's orders (by id).
        self._visits: dict[int, Record] = {}
        self._orders: dict[int, dict[int, Record]] = {}
        # Unfinished tasks with a robot and a stop for guests, by id; each robot's.
        self._tasks: dict[int, Record] = {}
        # Tables whose view may have changed, and robots that moved.
        self._dirty: set[int] = set()
        self._moved: set[str] = set()
        # The view each watched table was last shown.
        self._shown: dict[int, Record] = {}
        self._flushing: asyncio.Handle | None = None
        self._held: asyncio.TimerHandle | None = None
        self.on_visit_end: list[VisitEnded] = []
        self._taps: dict[str, Tap] = {
            Topic.TABLES: self._table, Topic.VISITS: self._visit, Topic.ORDERS: self._order,
            Topic.TASKS: self._task, Topic.ROBOTS: self._robot, Topic.CALLS: self._call,
            Topic.MENU: self._menu}

    async def load(self) -> None:
        """From the hub's primed topics and the open visits' orders in the database."""
        for visit in self._items(Topic.VISITS):
            if visit["status"] == VisitStatus.OPEN:
                self._visits[visit["table_id"]] = visit
                self._orders[visit["id"]] = {
                    order.id: order.model_dump(mode="json")
                    for order in await self._store.visit_orders(visit["id"])}
        for task in self._items(Topic.TASKS):
            self._task("upsert", [task], None)

    def stream(self, table_id: int) -> Stream:
        """The table's stream, made now if need be (what it was made with is what it shows)."""
        stream = self.family.stream(table_id)
        self._shown.setdefault(table_id, stream.view.items()[0])
        return stream

    def tapped(self) -> AbstractContextManager[None]:
        """While the block runs, every update of the view's topics reaches the views."""
        return self._hub.tapped(self._taps)

    def close(self) -> None:
        for handle in (self._flushing, self._held):
            if handle is not None:
                handle.cancel()

    def _items(self, topic: Topic) -> list[Record]:
        return self._hub.topics[topic].view.items()

    # ---- the taps: mark what changed ----

    def _mark(self, table_id: int) -> None:
        self._dirty.add(table_id)
        self._schedule()

    def _schedule(self) -> None:
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().call_soon(self._flush)

    def _table(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        for table in items:
            self._mark(table["id"])
        for table_id in ids or ():
            self._mark(table_id)

    def _visit(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        for visit in items:
            table_id = visit["table_id"]
            held = self._visits.get(table_id)
            if (held is not None and held["status"] == VisitStatus.CLOSED
                    and held["id"] != visit["id"]):
                self._flush()  # the closed visit's guests are ended before the next one's
                held = self._visits.get(table_id)
            if visit["status"] == VisitStatus.OPEN:
                self._visits[table_id] = visit
                self._orders.setdefault(visit["id"], {})
            elif held is not None and held["id"] == visit["id"]:
                self._visits[table_id] = visit  # closed: shown once, then ended (_flush)
            else:
                continue
            self._mark(table_id)

    def _order(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        for order in items:
            orders = self._orders.get(order["visit_id"])
            if orders is not None:
                orders[order["id"]] = order
                self._mark(order["table_id"])
        for order_id in ids or ():  # deleted by another program (notify)
            for visit in self._visits.values():
                if self._orders.get(visit["id"], {}).pop(order_id, None) is not None:
                    self._mark(visit["table_id"])

    def _task(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        if kind == "snapshot":  # every unfinished task: any other has finished
            for task_id in set(self._tasks) - {task["id"] for task in items}:
                self._task("delete", [], [task_id])
        for task_id in ids or ():
            for stop in self._tasks.pop(task_id, {"stops": []})["stops"]:
                self._mark(stop["table_id"])
        for task in items:
            held = self._tasks.pop(task["id"], None)
            if (task["status"] not in FINISHED and task["kind"] in TABLE_TASKS
                    and task["robot_id"] is not None):
                self._tasks[task["id"]] = task
            for gone_or_now in (held, task):
                for stop in gone_or_now["stops"] if gone_or_now else ():
                    self._mark(stop["table_id"])

    def _robot(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        moved = {robot["id"] for robot in items}
        if any(task["robot_id"] in moved for task in self._tasks.values()):
            self._moved |= moved
            self._schedule()

    def _call(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        for call in items:
            self._mark(call["table_id"])

    def _menu(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        """A dish's names show in the views of its orders: a menu change (rare) looks at
        every watched table again."""
        for table_id in list(self._shown):
            self._mark(table_id)

    # ---- the views ----

    def _flush(self) -> None:
        """Publish the views that changed, a change of eta_s alone once a second per table."""
        self._flushing = None
        streams = self.family.streams
        for robot_id in self._moved:
            for task in self._tasks.values():
                if task["robot_id"] == robot_id:
                    self._dirty.update(stop["table_id"] for stop in task["stops"])
        self._moved.clear()
        # Held back a second ago: counted as published by the throttle, so shown now.
        overdue = set(self._throttle.overdue())
        dirty, self._dirty = self._dirty | overdue, set()
        for table_id in dirty:
            visit = self._visits.get(table_id)
            if table_id in streams:
                self._show(table_id, due=table_id in overdue)
            if visit is not None and visit["status"] == VisitStatus.CLOSED:
                self._end(table_id, visit["id"])
        for table_id in [key for key in self._shown if key not in streams]:
            del self._shown[table_id]  # the family dropped its unwatched stream
        self._hold()

    def _show(self, table_id: int, *, due: bool = False) -> None:
        """Publish the table's view if it changed, and the throttle lets it (or `due`)."""
        view = self._view_of(table_id)
        shown = self._shown.get(table_id)
        if view == shown:
            return
        if due or self._throttle.due(table_id, shown is not None and _eta_only(shown, view)):
            self._shown[table_id] = view
            self.family.publish(table_id, view)

    def _end(self, table_id: int, visit_id: int) -> None:
        """The closed visit was shown: its guests are ended, and the table's stream is
        dropped with its history, so the next party's starts afresh (a new epoch: nothing of
        this visit can be resumed from it)."""
        for ended in list(self.on_visit_end):
            ended(table_id, visit_id)
        del self._visits[table_id]
        self._orders.pop(visit_id, None)
        self.family.drop(table_id)
        self._shown.pop(table_id, None)

    def _hold(self) -> None:
        """Look again shortly while the throttle holds an eta back."""
        if self._throttle.holding and self._held is None:
            def again() -> None:
                self._held = None
                self._schedule()
            self._held = asyncio.get_running_loop().call_later(HELD_CHECK_S, again)

    def _view_of(self, table_id: int) -> Record:
        """The table's guest view as the topics hold it now (SPEC §11.4)."""
        table = self._hub.item(Topic.TABLES, table_id)
        visit = self._visits.get(table_id)
        orders = sorted(self._orders.get(visit["id"], {}).values(),
                        key=lambda order: order["id"]) if visit else []
        view: Record = {
            "table": {"id": table_id, "label": table["label"] if table else str(table_id)},
            "visit": None, "orders": [self._order_view(order) for order in orders],
            "robot": self._robot_view(table_id), "calls": self._calls(table_id, visit),
            "check": None}
        if visit is not None:
            check = visit["check"]
            view["visit"] = {key: visit[key] for key in ("id", "status", "opened_at")}
            view["check"] = {key: check[key] for key in ("total", "paid", "due", "currency")}
        return view

    def _order_view(self, order: Record) -> Record:
        return {"id": order["id"], "status": order["status"], "source": order["source"],
                "created_at": order["created_at"], "total": order["total"],
                "note": order["note"], "ready_at": order["ready_at"],
                "served_at": order["served_at"],
                "items": [self._item_view(item) for item in order["items"]]}

    def _item_view(self, item: Record) -> Record:
        dish = self._hub.item(Topic.MENU, item["menu_id"]) if item["menu_id"] is not None else None
        return {"name": item["name"], "menu_id": item["menu_id"],
                "names": dish["names"] if dish else {}, "qty": item["qty"],
                "price": item["price"], "options": item["options"], "note": item["note"],
                "done": item["done"]}

    def _calls(self, table_id: int, visit: Record | None) -> list[Record]:
        """The table's open calls, and those its visit made."""
        visit_id = visit["id"] if visit else None
        return [{key: call[key] for key in ("id", "kind", "status", "created_at")}
                for call in self._items(Topic.CALLS)
                if call["table_id"] == table_id
                and (call["status"] == CallStatus.OPEN
                     or (visit_id is not None and call["visit_id"] == visit_id))]

    def _robot_view(self, table_id: int) -> Record | None:
        """The robot of the first unfinished task with an open stop here, and its eta."""
        for task_id in sorted(self._tasks):
            task = self._tasks[task_id]
            here = [stop for stop in task["stops"] if stop["table_id"] == table_id
                    and stop["status"] not in CLOSED_STOP_STATUSES]
            if not here:
                continue
            robot = self._hub.item(Topic.ROBOTS, task["robot_id"])
            if robot is None:
                continue
            pose = robot["pose"]
            stops = [TaskStop.model_validate(stop) for stop in task["stops"]]
            eta_s, at_table = eta((pose["x"], pose["y"]) if pose else None, stops,
                                  self._positions(), table_id, speed_mps=self._speed,
                                  dwell_s=self._dwell)
            return {"id": robot["id"], "name": robot["name"], "status": robot["status"],
                    "order_ids": [order_id for stop in here for order_id in stop["order_ids"]],
                    "eta_s": eta_s, "at_table": at_table}
        return None


def _eta_only(before: Record, after: Record) -> bool:
    """Whether two views differ in the robot's eta_s alone."""
    robot_before, robot_after = before["robot"], after["robot"]
    if robot_before is None or robot_after is None:
        return False
    return ({**before, "robot": {**robot_before, "eta_s": None}}
            == {**after, "robot": {**robot_after, "eta_s": None}})

"""Each waiting party's view (SPEC §12.4, docs/protocol.md, "The party stream"): built from the
customers, tables and tasks topics the hub already holds (and a robot's name from robots),
published as one keyed stream per party.

It taps those three topics; once per turn of the event loop it rebuilds the views of the parties
someone watches — a party's position moves when anyone ahead of it changes, so every watched
one is looked at — and publishes those that changed. A view whose party left or never came
is shown once, then its watchers are ended; a seated party's are ended SEATED_KEPT after it
sat down, by a sweep every SWEEP_S (domain/party.py says when a session has ended).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Final

from ..core.models import CustomerStatus, TaskKind
from ..core.tasks import ACTIVE
from ..core.topics import PARTY_STREAM, Topic
from ..core.waitlist import IN_LINE, InLine, position
from ..live.hub import Family, Hub, Stream, Tap
from ..live.views import Record
from ..wire.frames import Kind
from .party import ended

# How often open party streams are looked at for a seated party's time being up.
SWEEP_S: Final = 5.0
# Updates a party's stream keeps for resuming (each is the whole, small view).
PARTY_HISTORY: Final = 50
# Told of a party whose session is over (by customer id): whoever serves it closes it.
PartyEnded = Callable[[int], None]


class PartyViews:
    """Every watched party's view, kept in step with the customers and tables topics."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.family: Family = hub.add_family(PARTY_STREAM, self._view_of,
                                             history_size=PARTY_HISTORY)
        self._shown: dict[int, Record] = {}
        self._flushing: asyncio.Handle | None = None
        self.on_end: list[PartyEnded] = []
        # Robots are not tapped: only a name is read of them, and a robot's pose changes
        # many times a second; an escort's start or end comes through tasks.
        self._taps: dict[str, Tap] = {Topic.CUSTOMERS: self._changed,
                                      Topic.TABLES: self._changed, Topic.TASKS: self._changed}

    def tapped(self) -> AbstractContextManager[None]:
        """While the block runs, every update of customers, tables and tasks reaches the
        views."""
        return self._hub.tapped(self._taps)

    def stream_of(self, customer_id: int) -> Stream:
        """The party's stream, made now if need be."""
        stream = self.family.stream(customer_id)
        self._shown.setdefault(customer_id, stream.view.items()[0])
        return stream

    def close(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()

    def _changed(self, kind: Kind, items: list[Record], ids: list[Any] | None) -> None:
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Publish the watched views that changed; end the parties that are gone."""
        self._flushing = None
        for customer_id in self._watched():
            view = self._view_of(customer_id)
            if view != self._shown.get(customer_id):
                self._shown[customer_id] = view
                self.family.publish(customer_id, view)
            if ended(CustomerStatus(view["status"]), None) is not None:
                self._end(customer_id)
        for customer_id in [key for key in self._shown if key not in self.family.streams]:
            del self._shown[customer_id]  # the family dropped its unwatched stream

    async def sweep(self) -> None:
        """While the app runs: every SWEEP_S, end the seated parties whose time is up."""
        while True:
            await asyncio.sleep(SWEEP_S)
            for customer_id in self._watched():
                party = self._party(customer_id)
                if party is None or ended(CustomerStatus(party["status"]),
                                          party["seated_at"]) is not None:
                    self._end(customer_id)

    def _watched(self) -> list[int]:
        return [int(str(key)) for key in self.family.streams]

    def _end(self, customer_id: int) -> None:
        """The party's watchers are ended, and its stream dropped with its history."""
        for listener in list(self.on_end):
            listener(customer_id)
        self.family.drop(customer_id)
        self._shown.pop(customer_id, None)

    def _party(self, customer_id: int) -> Record | None:
        return self._hub.item(Topic.CUSTOMERS, customer_id)

    def _view_of(self, customer_id: int) -> Record:
        """The party's view as the topics hold it now (a deleted party reads as left)."""
        party = self._party(customer_id)
        if party is None:
            return {"id": customer_id, "name": "", "party_size": 0, "status": "left",
                    "position": None, "quoted_wait_s": None, "called_at": None,
                    "table": None, "robot": None}
        table = robot = None
        if party["table_id"] is not None and party["status"] == CustomerStatus.SEATED:
            found = self._hub.item(Topic.TABLES, party["table_id"])
            table = {"id": party["table_id"],
                     "label": found["label"] if found else str(party["table_id"])}
            robot = self._escort(party)
        in_line = party["status"] in IN_LINE
        return {"id": party["id"], "name": party["name"], "party_size": party["party_size"],
                "status": party["status"],
                "position": position(_in_line(party), map(_in_line, self._parties()))
                if in_line else None,
                "quoted_wait_s": party["quoted_wait_s"], "called_at": party["called_at"],
                "table": table, "robot": robot}

    def _escort(self, party: Record) -> Record | None:
        """The robot leading the seated party to its table: that of the first escort to its
        table made since it sat down (a later one is the next party's), while that escort has
        a robot and has not ended."""
        seated_at = party["seated_at"] or ""
        ours = min((task for task in self._hub.topics[Topic.TASKS].view.items()
                    if task["kind"] == TaskKind.ESCORT and task["created_at"] >= seated_at
                    and task["stops"] and task["stops"][0]["table_id"] == party["table_id"]),
                   key=lambda task: task["id"], default=None)
        if ours is None or ours["status"] not in ACTIVE or ours["robot_id"] is None:
            return None
        found = self._hub.item(Topic.ROBOTS, ours["robot_id"])
        return {"name": found["name"] if found else ours["robot_id"]}

    def _parties(self) -> list[Record]:
        return self._hub.topics[Topic.CUSTOMERS].view.items()


def _in_line(party: Record) -> InLine:
    return InLine(id=party["id"], party_size=party["party_size"], status=party["status"],
                  created_at=party["created_at"])

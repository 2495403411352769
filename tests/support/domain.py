"""The domain as app.build makes it, on a real SQLite file and a real hub, with no HTTP and
no TCP started."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robodyne.app import build
from robodyne.core.models import Command
from robodyne.domain.calls import Calls
from robodyne.domain.dispatch import Dispatcher
from robodyne.domain.guest_views import GuestViews
from robodyne.domain.guests import GuestSessions
from robodyne.domain.fleet import Fleet
from robodyne.domain.journal import Journal
from robodyne.domain.links import TableLinks
from robodyne.domain.menu import Menu
from robodyne.domain.restaurant import Restaurant
from robodyne.domain.stock import Stock
from robodyne.domain.visits import Visits
from robodyne.domain.waitlist import Waitlist
from robodyne.live.hub import Hub
from robodyne.settings import KitchenSettings
from robodyne.store.store import Store

from .server import make_settings


@dataclass
class Domain:
    store: Store
    hub: Hub
    journal: Journal
    fleet: Fleet
    restaurant: Restaurant
    stock: Stock
    menu: Menu
    dispatcher: Dispatcher
    visits: Visits
    links: TableLinks
    calls: Calls
    guest_views: GuestViews
    guest_sessions: GuestSessions
    waitlist: Waitlist

    def events(self, type_: str) -> list[dict[str, Any]]:
        """The events of that type the hub has published, oldest first."""
        items, _ = self.hub.snapshot("events")
        return [event for event in items if event["type"] == type_]

    def item(self, topic: str, item_id: Any) -> dict[str, Any]:
        """An item as subscribers of its topic hold it now."""
        items, _ = self.hub.snapshot(topic)
        [found] = [item for item in items if item["id"] == item_id]
        return found


@asynccontextmanager
async def open_domain(tmp_path: Path, kitchen: KitchenSettings | None = None,
                      dispatch: dict[str, Any] | None = None,
                      restaurant: dict[str, Any] | None = None,
                      guest: dict[str, Any] | None = None) -> AsyncIterator[Domain]:
    """The domain loaded as the app loads it at start, with the tests' settings (no automatic
    deliveries, no charging, unless `dispatch` says otherwise; `restaurant` the [restaurant]
    keys) and a hub keeping 100 frames per topic."""
    settings = make_settings(tmp_path / "domain.db", dispatch=dispatch or {},
                             websocket={"history_size": 100, "send_queue_max": 1000},
                             restaurant=restaurant or {}, guest=guest or {})
    if kitchen is not None:
        settings = settings.model_copy(update={"kitchen": kitchen})
    parts = build(settings)
    await parts.store.open()
    try:
        await parts.links.load()
        await parts.visits.load(parts.restaurant.order_watchers)
        await parts.fleet.load()
        await parts.dispatcher.load()
        parts.calls.load()
        await parts.guest_views.load()
        with parts.guest_views.tapped():
            yield Domain(parts.store, parts.hub, parts.journal, parts.fleet, parts.restaurant,
                         parts.stock, parts.menu, parts.dispatcher, parts.visits, parts.links,
                         parts.calls, parts.guest_views, parts.guest_sessions, parts.waitlist)
    finally:
        parts.guest_views.close()
        parts.calls.close()
        parts.dispatcher.close()
        parts.visits.close()
        await parts.store.close()


@dataclass
class RecordingLink:
    """A robot's session as the fleet sees it: what it was told, and whether it ended."""

    commands: list[tuple[str, Command, dict[str, Any]]] = field(default_factory=list)
    ended: str | None = None

    def command(self, command_id: str, name: Command, fields: dict[str, Any]) -> None:
        self.commands.append((command_id, name, fields))

    def end(self, reason: str) -> None:
        self.ended = reason

"""What each topic's snapshot holds (docs/protocol.md, "Snapshot on subscribe"), as the views the
hub is handed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from ..core import calls, orders, tasks, visits, waitlist
from ..core.dishes import menu_order
from ..core.topics import LOG_TOPICS, Topic
from ..live.views import ExpiringView, KeyedView, Record, RecentView, SortedView, View


def _closed_orders() -> Callable[[Record], bool]:
    cutoff = orders.closed_cutoff()
    return lambda order: orders.expired(order, cutoff)


def _finished_tasks() -> Callable[[Record], bool]:
    cutoff = tasks.finished_cutoff()
    return lambda task: tasks.expired(task, cutoff)


def _closed_visits() -> Callable[[Record], bool]:
    cutoff = orders.closed_cutoff()
    return lambda visit: visits.expired(visit, cutoff)


def _ended_parties() -> Callable[[Record], bool]:
    cutoff = orders.closed_cutoff()
    return lambda party: waitlist.expired(party, cutoff)


def _ended_calls() -> Callable[[Record], bool]:
    cutoff = orders.closed_cutoff()
    return lambda call: calls.expired(call, cutoff)


def topic_views(snapshot_limit: int, categories: Sequence[str] = ()) -> dict[str, View]:
    """One fresh view per topic: logs keep their newest records, orders, visits and tasks drop
    those long closed or finished, the menu is in the guests' order (`categories` first)."""
    views: dict[str, View] = {}
    for topic in Topic:
        if topic in LOG_TOPICS:
            views[topic] = RecentView(snapshot_limit)
        elif topic is Topic.ORDERS:
            views[topic] = ExpiringView(_closed_orders)
        elif topic is Topic.TASKS:
            views[topic] = ExpiringView(_finished_tasks)
        elif topic is Topic.VISITS:
            views[topic] = ExpiringView(_closed_visits)
        elif topic is Topic.CALLS:
            views[topic] = ExpiringView(_ended_calls)
        elif topic is Topic.CUSTOMERS:
            views[topic] = ExpiringView(_ended_parties)
        elif topic is Topic.MENU:
            views[topic] = SortedView(partial(menu_order, categories=categories))
        elif topic is Topic.PLACES:
            views[topic] = KeyedView(key=lambda item: item["name"])
        elif topic is Topic.STATUS:
            views[topic] = KeyedView(key=lambda item: "status")
        else:
            views[topic] = KeyedView()
    return views

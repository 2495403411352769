"""Fallback polling (docs/protocol.md, "Fallback polling"): republish a state topic when the
database disagrees with it."""

from __future__ import annotations

import logging
from typing import Any

from ..core.topics import STATE_TOPICS, Topic
from ..live.hub import Hub
from ..store.store import Store
from .fleet import Fleet
from .status import StatusReporter

log = logging.getLogger(__name__)


def _by_id(items: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Items by id; places, which have none, by name."""
    return {item["id"] if "id" in item else item["name"]: item for item in items}


async def poll_once(store: Store, hub: Hub, status: StatusReporter, fleet: Fleet) -> list[str]:
    """Compare each state topic with the database; return the topics republished."""
    republished: list[str] = []
    # Connected robots' live telemetry is newer than the database (write-behind), so the
    # fleet reconciles robots itself: only robots without a session take the database's word.
    await fleet.reload(None)
    for topic in STATE_TOPICS:
        if topic is Topic.ROBOTS:
            continue
        fresh = [item.model_dump(mode="json") for item in await store.state(topic)]
        held, _ = hub.snapshot(topic)
        if _by_id(fresh) != _by_id(held):
            hub.publish(topic, "snapshot", fresh)
            republished.append(topic)
    status.publish_if_changed()
    if republished:
        log.info("database changed behind the server: republished %s", ", ".join(republished))
    return republished

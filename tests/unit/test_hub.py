"""The hub and its views without sockets: queues stay bounded, history and views stay right."""

from __future__ import annotations

import asyncio

import orjson

from robodyne.domain.views import topic_views
from robodyne.live.hub import Hub
from robodyne.live.views import RecentView


def _hub(history_size: int = 10, queue_max: int = 5) -> Hub:
    return Hub(topic_views(snapshot_limit=3), history_size=history_size, queue_max=queue_max)


async def test_a_full_queue_stops_growing_and_reports_overflow_once() -> None:
    hub = _hub()
    overflows: list[str] = []
    subscriber = hub.subscribe("robots", lambda: overflows.append("slow"))
    for n in range(50):
        hub.publish("robots", "upsert", [{"id": "r1", "n": n}])
    await asyncio.sleep(0)  # the overflow callback runs outside publish
    assert len(subscriber.queue) == 5 and subscriber.high_water == 5
    assert overflows == ["slow"]


async def test_each_publish_is_serialised_once_and_shared() -> None:
    hub = _hub(queue_max=100)
    subscribers = [hub.subscribe("tables", lambda: None) for _ in range(3)]
    for subscriber in subscribers:
        subscriber.queue.clear()
    hub.publish("tables", "upsert", [{"id": 1, "label": "T1"}])
    frames = [subscriber.queue[0][0] for subscriber in subscribers]
    assert frames[0] is frames[1] is frames[2]
    assert orjson.loads(frames[0]) == {"type": "update", "topic": "tables", "seq": 1,
                                       "data": {"kind": "upsert",
                                                "items": [{"id": 1, "label": "T1"}]}}


async def test_unsubscribed_clients_get_nothing_more() -> None:
    hub = _hub()
    with hub.subscription("orders", lambda: None) as subscriber:
        pass
    hub.publish("orders", "delete", [], ids=[1])
    assert len(subscriber.queue) == 1  # only its snapshot
    assert hub.connections()["orders"] == 0


async def test_missed_since_is_all_or_nothing() -> None:
    hub = _hub(history_size=4)
    for n in range(6):
        hub.publish("orders", "delete", [], ids=[n])
    topic = hub.topics["orders"]
    assert [orjson.loads(f)["seq"] for f in topic.missed_since(3) or []] == [4, 5, 6]
    assert topic.missed_since(1) is None  # seq 2 has left the history
    assert topic.missed_since(6) == []
    assert topic.missed_since(7) is None


def test_recent_view_keeps_the_newest_and_applies_acks() -> None:
    view = RecentView(limit=3)
    view.apply("append", [{"id": n, "ack": None} for n in range(5)], None)
    view.apply("upsert", [{"id": 3, "ack": "now"}, {"id": 0, "ack": "gone"}], None)
    assert view.items() == [{"id": 2, "ack": None}, {"id": 3, "ack": "now"}, {"id": 4, "ack": None}]


def test_orders_view_drops_orders_closed_over_an_hour_ago() -> None:
    view = topic_views(snapshot_limit=3)["orders"]
    view.apply("snapshot", [
        {"id": 1, "status": "served", "updated_at": "2000-01-01T00:00:00.000Z"},
        {"id": 2, "status": "placed", "updated_at": "2000-01-01T00:00:00.000Z"},
        {"id": 3, "status": "cancelled", "updated_at": "2999-01-01T00:00:00.000Z"},
    ], None)
    assert [order["id"] for order in view.items()] == [2, 3]


async def test_a_listener_is_woken_by_publishes_and_subscribers_of_its_topics_only() -> None:
    hub = _hub()
    woken = asyncio.Event()
    with hub.listening(["orders"], woken):
        hub.publish("tables", "upsert", [{"id": 1}])
        assert not woken.is_set()
        hub.publish("orders", "upsert", [{"id": 1, "status": "placed", "updated_at": "x"}])
        assert woken.is_set()
        woken.clear()
        with hub.subscription("orders", lambda: None):
            assert woken.is_set()
    woken.clear()
    hub.publish("orders", "delete", [], ids=[1])
    assert not woken.is_set()  # no longer listening

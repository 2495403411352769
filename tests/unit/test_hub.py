"""The hub and its views without sockets: queues stay bounded, history and views stay right."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from robodyne.domain.views import topic_views
from robodyne.live.hub import Family, Hub, Subscriber
from robodyne.live.views import RecentView

from ..support.clock import Clock


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


# ---- keyed families (the guest and party streams): one stream per key ----

def _family_hub(clock: Clock | None = None, history_size: int = 10,
                queue_max: int = 5) -> tuple[Hub, Family]:
    hub = Hub(topic_views(snapshot_limit=3), history_size=history_size, queue_max=queue_max,
              clock=clock or Clock())

    def initial(table_id: int) -> dict[str, object]:
        return {"table": table_id, "n": 0}

    return hub, hub.add_family("guest", initial, idle_s=600)


def _frames(subscriber: Subscriber) -> list[dict[str, Any]]:
    frames = [orjson.loads(frame) for frame, _ in subscriber.queue]
    subscriber.queue.clear()
    return frames


async def test_a_keyed_stream_starts_with_a_snapshot_of_its_one_item() -> None:
    hub, family = _family_hub()
    stream = family.stream(5)
    subscriber = stream.subscribe(lambda: None)
    [snapshot] = _frames(subscriber)
    assert snapshot == {"type": "update", "topic": "guest", "seq": 0,
                        "data": {"kind": "snapshot", "items": [{"table": 5, "n": 0}],
                                 "epoch": stream.epoch}}
    assert stream.epoch.startswith(hub.epoch) and stream.epoch != hub.epoch
    assert family.stream(5) is stream


async def test_every_change_upserts_the_whole_item_with_contiguous_seqs() -> None:
    _, family = _family_hub()
    subscriber = family.stream(5).subscribe(lambda: None)
    _frames(subscriber)
    for n in (1, 2, 3):
        assert family.publish(5, {"table": 5, "n": n}) == n
    updates = _frames(subscriber)
    assert [(u["seq"], u["data"]) for u in updates] == [
        (n, {"kind": "upsert", "items": [{"table": 5, "n": n}]}) for n in (1, 2, 3)]
    # A later subscriber's snapshot is the one latest item, at the latest seq.
    [snapshot] = _frames(family.stream(5).subscribe(lambda: None))
    assert (snapshot["seq"], snapshot["data"]["items"]) == (3, [{"table": 5, "n": 3}])


async def test_a_keyed_stream_resumes_from_since_with_the_missed_frames_only() -> None:
    _, family = _family_hub(history_size=4)
    stream = family.stream(5)
    with stream.subscription(lambda: None):
        family.publish(5, {"table": 5, "n": 1})
        family.publish(5, {"table": 5, "n": 2})
    for n in (3, 4):
        family.publish(5, {"table": 5, "n": n})
    resumed = _frames(stream.subscribe(lambda: None, since=2, epoch=stream.epoch))
    assert [(f["seq"], f["data"]["kind"]) for f in resumed] == [(3, "upsert"), (4, "upsert")]
    # Another stream's epoch (or the hub's) is not this one's: a fresh snapshot.
    [fresh] = _frames(stream.subscribe(lambda: None, since=2, epoch="elsewhere"))
    assert (fresh["seq"], fresh["data"]["kind"]) == (4, "snapshot")


async def test_a_resume_past_the_history_gets_a_snapshot_instead() -> None:
    _, family = _family_hub(history_size=4)
    stream = family.stream(5)
    for n in range(1, 8):
        family.publish(5, {"table": 5, "n": n})
    [fresh] = _frames(stream.subscribe(lambda: None, since=2, epoch=stream.epoch))
    assert (fresh["seq"], fresh["data"]) == (
        7, {"kind": "snapshot", "items": [{"table": 5, "n": 7}], "epoch": stream.epoch})


async def test_two_keys_never_see_each_others_frames() -> None:
    _, family = _family_hub()
    five, six = family.stream(5).subscribe(lambda: None), family.stream(6).subscribe(lambda: None)
    family.publish(5, {"table": 5, "n": 1})
    family.publish(6, {"table": 6, "n": 1})
    family.publish(6, {"table": 6, "n": 2})
    assert {item["table"] for f in _frames(five) for item in f["data"]["items"]} == {5}
    seen_by_six = _frames(six)
    assert {item["table"] for f in seen_by_six for item in f["data"]["items"]} == {6}
    assert [f["seq"] for f in seen_by_six] == [0, 1, 2]  # its own seq, from its own 0


async def test_an_overflowing_client_of_a_key_is_closed_alone() -> None:
    _, family = _family_hub(queue_max=3)
    closed: list[str] = []
    slow = family.stream(5).subscribe(lambda: closed.append("slow"))
    quick = family.stream(5).subscribe(lambda: closed.append("quick"))
    other = family.stream(6).subscribe(lambda: closed.append("other"))
    for n in range(1, 6):
        family.publish(5, {"table": 5, "n": n})
        _frames(quick)
    await asyncio.sleep(0)  # the overflow callback runs outside publish
    assert closed == ["slow"] and len(slow.queue) == 3 and len(other.queue) == 1


async def test_a_publish_to_a_key_nobody_streams_makes_nothing() -> None:
    _, family = _family_hub()
    assert family.publish(9, {"table": 9, "n": 1}) is None
    assert family.streams == {}
    [snapshot] = _frames(family.stream(9).subscribe(lambda: None))
    assert (snapshot["seq"], snapshot["data"]["items"]) == (0, [{"table": 9, "n": 0}])


async def test_an_unwatched_quiet_stream_is_dropped_and_its_key_starts_afresh() -> None:
    clock = Clock()
    hub, family = _family_hub(clock)
    watched = family.stream(1).subscribe(lambda: None)
    with family.stream(2).subscription(lambda: None) as left:
        family.publish(2, {"table": 2, "n": 1})
    family.stream(3)  # made, never subscribed
    clock.now += 599
    family.publish(4, {"table": 4, "n": 1})  # no stream: nothing kept
    family.stream(5)  # a sweep is due only once idle_s has passed since the last
    clock.now += 1
    family.publish(1, {"table": 1, "n": 1})
    family.stream(6)  # sweeps: 2 and 3 are unwatched and quiet for 600 s, 5 only for 1 s
    assert set(family.streams) == {1, 5, 6}
    assert watched in family.streams[1].subscribers
    # A client of the dropped stream resumes nothing from the new one: its epoch is new.
    old_epoch = left.stream.epoch
    fresh = family.stream(2)
    [snapshot] = _frames(fresh.subscribe(lambda: None, since=1, epoch=old_epoch))
    assert fresh.epoch != old_epoch and snapshot["data"]["kind"] == "snapshot"
    assert (snapshot["seq"], snapshot["data"]["items"]) == (0, [{"table": 2, "n": 0}])
    assert hub.connections()["guest"] == 2


async def test_a_family_counts_in_connections_subscribers_and_high_water() -> None:
    hub, family = _family_hub()
    subscriber = family.stream(5).subscribe(lambda: None)
    for n in range(1, 4):
        family.publish(5, {"table": 5, "n": n})
    assert hub.connections()["guest"] == 1 and subscriber in set(hub.subscribers())
    hub.unsubscribe(subscriber)  # as a closing connection does, whatever its stream
    assert hub.connections()["guest"] == 0 and hub.queue_high_water == 4

"""Batching by the backlog (live/pace.py) on a real hub, without sockets: a subscriber "takes"
a frame the way its writer does (Subscriber.take), or does not."""

from __future__ import annotations

import asyncio

import orjson

from robodyne.domain.views import topic_views
from robodyne.live.hub import Direct, Hub, Subscriber
from robodyne.live.pace import Pacer

HOLD_S = 0.2


class Robots:
    """A writer of the robots topic as the fleet is: changes gathered, published as one."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.changed: dict[str, int] = {}
        self.pacer = Pacer(hub.topics["robots"], self.publish, max_hold_s=HOLD_S)

    def change(self, robot_id: str, x: int) -> None:
        self.changed[robot_id] = x
        self.pacer.request()

    def publish(self) -> None:
        items = [{"id": robot_id, "x": x} for robot_id, x in self.changed.items()]
        self.changed.clear()
        if items:
            self.hub.publish("robots", "upsert", items)


def _setup(subscribers: int) -> tuple[Hub, Robots, list[Subscriber]]:
    hub = Hub(topic_views(snapshot_limit=3), history_size=100, queue_max=100)
    clients = [hub.subscribe("robots", lambda: None) for _ in range(subscribers)]
    for client in clients:
        client.take()  # the snapshot: every client has taken everything
    return hub, Robots(hub), clients


def _items(subscriber: Subscriber) -> list[list[dict[str, int]]]:
    """What each frame queued for the subscriber carries, taking them."""
    frames = []
    while subscriber.queue:
        frames.append(orjson.loads(subscriber.take()[0])["data"]["items"])
    return frames


async def _turn() -> None:
    """Let the loop run what was scheduled with call_soon."""
    await asyncio.sleep(0)


async def _one_behind() -> tuple[Hub, Robots, Subscriber, Subscriber]:
    """Frame 1 published to two subscribers: the first has taken it, the second not yet."""
    hub, robots, [fast, slow] = _setup(2)
    robots.change("r1", 1)
    await _turn()
    fast.take()
    return hub, robots, fast, slow


async def test_a_change_with_nothing_outstanding_goes_out_in_the_same_turn() -> None:
    hub, robots, [tablet] = _setup(1)
    robots.change("r1", 1)
    assert not tablet.queue  # not inside the robot's line handling...
    await _turn()
    assert _items(tablet) == [[{"id": "r1", "x": 1}]]  # ...but in the same turn of the loop
    robots.change("r1", 2)
    await _turn()
    assert _items(tablet) == [[{"id": "r1", "x": 2}]]
    assert hub.seq("robots") == 2


async def test_changes_in_one_turn_ride_together() -> None:
    _, robots, [tablet] = _setup(1)
    for n in range(5):
        robots.change(f"r{n}", n)
    await _turn()
    assert _items(tablet) == [[{"id": f"r{n}", "x": n} for n in range(5)]]


async def test_changes_while_a_subscriber_still_writes_the_last_frame_ride_together() -> None:
    hub, robots, fast, slow = await _one_behind()
    for x in (2, 3, 4):
        robots.change("r1", x)
        robots.change("r2", x)
        await _turn()
    assert not fast.queue and hub.seq("robots") == 1  # held
    slow.take()  # the moment it has, what gathered goes out, as one frame
    await _turn()
    assert _items(fast) == [[{"id": "r1", "x": 4}, {"id": "r2", "x": 4}]]
    assert hub.seq("robots") == 2


async def test_the_hold_is_bounded_for_a_subscriber_that_never_takes() -> None:
    hub, robots, [frozen] = _setup(1)
    robots.change("r1", 1)
    await _turn()
    loop = asyncio.get_running_loop()
    published_at = loop.time()
    robots.change("r1", 2)
    while hub.seq("robots") < 2:
        await asyncio.sleep(0.01)
    assert loop.time() - published_at >= HOLD_S * 0.9  # loop clocks round to ~1 ms
    # From now on it is behind (frame 2 queued behind frame 1): it is not waited for again.
    robots.change("r1", 3)
    await _turn()
    assert hub.seq("robots") == 3
    assert [items[0]["x"] for items in _items(frozen)] == [1, 2, 3]


async def test_a_subscriber_behind_is_not_waited_for() -> None:
    hub, robots, [fast, behind] = _setup(2)
    for x in range(2):  # `behind` still holds the first frame when the second is published
        hub.publish("robots", "upsert", [{"id": "r0", "x": x}])
        fast.take()
    robots.change("r1", 1)
    await _turn()
    fast.take()
    robots.change("r1", 2)
    await _turn()
    assert hub.seq("robots") == 4  # neither change waited for `behind`
    assert len(behind.queue) == 4


async def test_a_subscriber_leaving_while_owed_holds_nobody_up() -> None:
    hub, robots, _, leaving = await _one_behind()
    robots.change("r1", 2)
    await _turn()
    assert hub.seq("robots") == 1
    hub.unsubscribe(leaving)
    await _turn()
    assert hub.seq("robots") == 2


async def test_an_immediate_publish_cancels_the_held_one() -> None:
    hub, robots, tablet, _ = await _one_behind()
    robots.change("r1", 2)
    robots.pacer.publish()  # a session began: it goes now, with what was held
    assert hub.seq("robots") == 2
    await asyncio.sleep(HOLD_S * 1.5)
    assert hub.seq("robots") == 2  # and the held publish does not come again, empty or not
    assert _items(tablet) == [[{"id": "r1", "x": 2}]]


async def test_no_subscribers_means_no_backlog() -> None:
    hub, robots, _ = _setup(0)
    for x in range(3):
        robots.change("r1", x)
        await _turn()
    assert hub.seq("robots") == 3


class Socket:
    """A client's socket as the publish sees it (web/connection.py, Connection.write_now)."""

    def __init__(self, answer: Direct) -> None:
        self.answer = answer
        self.written: list[bytes] = []

    def offer(self, wire: bytes, length: int) -> Direct:
        if self.answer is Direct.WRITTEN:
            self.written.append(wire)
        return self.answer


async def test_a_socket_that_takes_the_frame_at_once_holds_nobody_up() -> None:
    hub, robots, [tablet] = _setup(1)
    socket = Socket(Direct.WRITTEN)
    tablet.direct = socket.offer
    for x in range(3):
        robots.change("r1", x)
        await _turn()
    assert hub.seq("robots") == 3 and not tablet.queue
    # The WebSocket frame: 0x81, the length, then the message itself.
    assert [orjson.loads(wire[2:])["data"]["items"] for wire in socket.written] == [
        [{"id": "r1", "x": x}] for x in range(3)]


async def test_a_socket_with_bytes_waiting_is_queued_and_not_waited_for() -> None:
    hub, robots, [fast, slow] = _setup(2)
    fast.direct = Socket(Direct.WRITTEN).offer
    slow.direct = Socket(Direct.BEHIND).offer
    for x in range(3):
        robots.change("r1", x)
        await _turn()
    assert hub.seq("robots") == 3  # none of them waited for the slow one...
    assert [items[0]["x"] for items in _items(slow)] == [0, 1, 2]  # ...which gets them all


async def test_a_subscriber_leaving_before_any_publish_leaves_no_debt() -> None:
    hub, _, [tablet] = _setup(1)
    hub.unsubscribe(tablet)  # seq is 0 and it owes nothing: no frame was ever counted on
    assert hub.topics["robots"].owed == 0

"""Topics, seq, history and bounded per-client queues. Publishing never awaits a client."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from . import messages
from .const import TOPICS
from .messages import Kind
from .views import OrdersView, Record, View, view_for

# A frame and the loop time it was queued at (for the publish-to-socket latency metric).
# One tuple per publish, shared by every subscriber's queue.
Queued = tuple[bytes, float]


class Subscriber:
    """One client's bounded queue of serialised frames, drained by its writer task."""

    __slots__ = ("topic", "limit", "queue", "wake", "waiting_since", "high_water", "on_overflow",
                 "overflowed")

    def __init__(self, topic: str, limit: int, on_overflow: Callable[[], None]) -> None:
        self.topic = topic
        self.limit = limit
        self.queue: deque[Queued] = deque()
        self.wake = asyncio.Event()
        # Loop time since which frames have been waiting without the socket taking any.
        self.waiting_since: float | None = None
        self.high_water = 0
        self.on_overflow = on_overflow
        self.overflowed = False

    def push(self, entry: Queued) -> None:
        queue = self.queue
        if len(queue) >= self.limit:
            if not self.overflowed:
                self.overflowed = True
                # Deferred: the callback unsubscribes, and we may be inside publish's loop.
                asyncio.get_running_loop().call_soon(self.on_overflow)
            return
        if self.waiting_since is None:
            self.waiting_since = entry[1]
        queue.append(entry)
        if len(queue) > self.high_water:
            self.high_water = len(queue)
        self.wake.set()

    def sent(self, now: float) -> None:
        """The socket accepted a frame: the clock for send_timeout_s restarts."""
        self.waiting_since = now if self.queue else None


class Topic:
    """A topic's seq counter, history ring, snapshot view and subscribers."""

    def __init__(self, name: str, history_size: int, snapshot_limit: int) -> None:
        self.name = name
        self.seq = 0
        self.history: deque[bytes] = deque(maxlen=history_size)
        self.view: View = view_for(name, snapshot_limit)
        self.subscribers: set[Subscriber] = set()
        self._snapshot: tuple[int, bytes] | None = None

    def snapshot_frame(self, epoch: str) -> bytes:
        # Serialised once per seq: a thousand tablets reconnecting share one snapshot. Orders
        # also age out of their snapshot with time, so theirs is never reused.
        if self._snapshot is None or self._snapshot[0] != self.seq or isinstance(
                self.view, OrdersView):
            self._snapshot = (self.seq, messages.update(
                self.name, self.seq, "snapshot", self.view.items(), epoch=epoch))
        return self._snapshot[1]

    def missed_since(self, since: int) -> list[bytes] | None:
        """The frames after `since`, or None when the history no longer holds them all."""
        missed = self.seq - since
        if missed < 0 or missed > len(self.history):
            return None
        return list(islice(self.history, len(self.history) - missed, None))


class Hub:
    """The one door every writer publishes through, and every subscriber listens at."""

    def __init__(self, *, history_size: int, snapshot_limit: int, queue_max: int) -> None:
        self.epoch = secrets.token_hex(6)
        self.topics = {name: Topic(name, history_size, snapshot_limit) for name in TOPICS}
        self.queue_max = queue_max
        self.queue_high_water = 0
        self._watchers: list[Callable[[str], None]] = []
        self._time = asyncio.get_running_loop().time

    def watch(self, callback: Callable[[str], None]) -> None:
        """Call `callback(topic)` after each publish and each subscriber change."""
        self._watchers.append(callback)

    def _notify(self, topic: str) -> None:
        for callback in self._watchers:
            callback(topic)

    def publish(self, topic: str, kind: Kind, items: list[Record],
                ids: list[Any] | None = None) -> int:
        """Apply one update to the topic, serialise it once and queue it for every subscriber."""
        state = self.topics[topic]
        state.seq += 1
        state.view.apply(kind, items, ids)
        frame = messages.update(topic, state.seq, kind, items, ids,
                                epoch=self.epoch if kind == "snapshot" else None)
        state.history.append(frame)
        entry = (frame, self._time())
        for subscriber in state.subscribers:
            subscriber.push(entry)
        self._notify(topic)
        return state.seq

    def prime(self, topic: str, items: list[Record]) -> None:
        """Load a topic's view from the database at start, before anyone subscribes."""
        self.topics[topic].view.apply("snapshot", items, None)

    def snapshot(self, topic: str) -> tuple[list[Record], int]:
        state = self.topics[topic]
        return state.view.items(), state.seq

    def subscribe(self, topic: str, on_overflow: Callable[[], None], *,
                  since: int | None = None, epoch: str | None = None) -> Subscriber:
        """Register a client and queue its snapshot or its missed updates, in one step.

        Nothing here awaits, so no publish can fall between what the client is given and
        what it will be sent next: the stream it sees is contiguous.
        """
        state = self.topics[topic]
        subscriber = Subscriber(topic, self.queue_max, on_overflow)
        missed = state.missed_since(since) if since is not None and epoch == self.epoch else None
        now = self._time()
        if missed is not None and len(missed) < self.queue_max:
            for frame in missed:
                subscriber.push((frame, now))
        else:
            subscriber.push((state.snapshot_frame(self.epoch), now))
        state.subscribers.add(subscriber)
        self._notify(topic)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.queue_high_water = max(self.queue_high_water, subscriber.high_water)
        state = self.topics[subscriber.topic]
        if subscriber in state.subscribers:
            state.subscribers.discard(subscriber)
            self._notify(subscriber.topic)

    @contextmanager
    def subscription(self, topic: str, on_overflow: Callable[[], None], *,
                     since: int | None = None, epoch: str | None = None) -> Iterator[Subscriber]:
        subscriber = self.subscribe(topic, on_overflow, since=since, epoch=epoch)
        try:
            yield subscriber
        finally:
            self.unsubscribe(subscriber)

    def subscribers(self) -> Iterator[Subscriber]:
        for state in self.topics.values():
            yield from state.subscribers

    def connections(self) -> dict[str, int]:
        return {name: len(state.subscribers) for name, state in self.topics.items()}

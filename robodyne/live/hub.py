"""Topics, seq, history and bounded per-client queues. Publishing never awaits a client."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from typing import Any

from ..wire import frames
from ..wire.frames import Kind
from .views import Record, View

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

    def __init__(self, name: str, history_size: int, view: View) -> None:
        self.name = name
        self.seq = 0
        self.history: deque[bytes] = deque(maxlen=history_size)
        self.view = view
        self.subscribers: set[Subscriber] = set()
        # Set after each publish and each change of subscribers, for in-process listeners.
        self.listeners: set[asyncio.Event] = set()
        self._snapshot: tuple[int, bytes] | None = None

    def changed(self) -> None:
        for listener in self.listeners:
            listener.set()

    def snapshot_frame(self, epoch: str) -> bytes:
        # Serialised once per seq: a thousand tablets reconnecting share one snapshot (unless
        # the view's items age out by themselves).
        if self._snapshot is None or self._snapshot[0] != self.seq or not self.view.cacheable:
            self._snapshot = (self.seq, frames.update(
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

    def __init__(self, views: Mapping[str, View], *, history_size: int, queue_max: int) -> None:
        """`views` names the topics, each with the view that keeps its snapshot."""
        self.epoch = secrets.token_hex(6)
        # Plain str names: they are JSON object keys (connections) and frame fields.
        self.topics = {str(name): Topic(str(name), history_size, view)
                       for name, view in views.items()}
        self.queue_max = queue_max
        self.queue_high_water = 0
        # The event loop's clock (asyncio's default loop reads the same monotonic clock).
        self._time = time.monotonic

    @contextmanager
    def listening(self, topics: Iterable[str], event: asyncio.Event) -> Iterator[None]:
        """Set `event` after every publish on `topics` and every change of their subscribers.

        For in-process readers of the views (the status item): they clear it, read, and wait.
        """
        watched = [self.topics[topic] for topic in topics]
        for state in watched:
            state.listeners.add(event)
        try:
            yield
        finally:
            for state in watched:
                state.listeners.discard(event)

    def publish(self, topic: str, kind: Kind, items: list[Record],
                ids: list[Any] | None = None) -> int:
        """Apply one update to the topic, serialise it once and queue it for every subscriber."""
        state = self.topics[topic]
        state.seq += 1
        state.view.apply(kind, items, ids)
        if kind == "snapshot":
            items = state.view.items()  # as a subscriber's would be: in the view's order
        frame = frames.update(state.name, state.seq, kind, items, ids,
                              epoch=self.epoch if kind == "snapshot" else None)
        state.history.append(frame)
        entry = (frame, self._time())
        for subscriber in state.subscribers:
            subscriber.push(entry)
        state.changed()
        return state.seq

    def prime(self, topic: str, items: list[Record]) -> None:
        """Load a topic's view from the database at start, before anyone subscribes."""
        self.topics[topic].view.apply("snapshot", items, None)

    def seq(self, topic: str) -> int:
        """The topic's last seq: a reader caching what it derived from a snapshot asks this."""
        return self.topics[topic].seq

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
        state.changed()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.queue_high_water = max(self.queue_high_water, subscriber.high_water)
        state = self.topics[subscriber.topic]
        if subscriber in state.subscribers:
            state.subscribers.discard(subscriber)
            state.changed()

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

"""Topics and keyed families of streams: seq, history and bounded per-client queues.
Publishing never awaits a client."""

from __future__ import annotations

import asyncio
import enum
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import Any, Final

from ..wire import frames
from ..wire.frames import Kind
from ..wire.rfc6455 import text_frame
from .views import KeyedView, Record, View

# A frame and the loop time it was queued at (for the publish-to-socket latency metric).
# One tuple per publish, shared by every subscriber's queue.
Queued = tuple[bytes, float]
# A family's stream nobody subscribes to is dropped after this long without a publish; its
# next subscriber gets a new stream (a new epoch, so no resume across the two).
STREAM_IDLE_S: Final = 600.0
# Told of every update of a topic, as it is applied (kind, items, ids), before publish returns:
# an in-process reader deriving its own state from a topic (domain/guest_views.py). It must not
# await or publish on the topic it taps.
Tap = Callable[[Kind, list[Record], "list[Any] | None"], None]


class Direct(enum.Enum):
    """What a client's socket did with a frame offered to it in the publish's own step."""

    WRITTEN = 1  # it took it: nothing is queued
    BUSY = 2  # its writer is at work, its socket free: queued, and soon taken (waited for)
    BEHIND = 3  # bytes already wait for its socket (slow, frozen, closing): queued, not waited for


class Subscriber:
    """One client's bounded queue of serialised frames, drained by its writer task."""

    __slots__ = ("stream", "limit", "queue", "wake", "waiting_since", "high_water", "on_overflow",
                 "overflowed", "owes", "direct")

    def __init__(self, stream: Stream, limit: int, on_overflow: Callable[[], None]) -> None:
        self.stream = stream
        self.limit = limit
        self.queue: deque[Queued] = deque()
        self.wake = asyncio.Event()
        # Loop time since which frames have been waiting without the socket taking any.
        self.waiting_since: float | None = None
        self.high_water = 0
        self.on_overflow = on_overflow
        self.overflowed = False
        # The seq of the stream's frame its pace waits for this client to take (0: none).
        self.owes = 0
        # Offers a whole WebSocket frame (wire/rfc6455.py) carrying a message of the given
        # length to the client's socket now; the socket's owner sets it. Without it, a frame
        # is queued and waited for (BUSY).
        self.direct: Callable[[bytes, int], Direct] | None = None

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

    def take(self) -> Queued:
        """The writer takes the next frame: the stream hears when it was the one it waits for."""
        entry = self.queue.popleft()
        if self.owes:
            self.settle()
        return entry

    def settle(self) -> None:
        """Its debt is over (it took a frame, or it left): paid if it was for the newest frame,
        void if seq moved on since."""
        owed, self.owes = self.owes, 0
        if owed and owed == self.stream.seq:
            self.stream.paid()

    def sent(self, now: float) -> None:
        """The socket accepted a frame: the clock for send_timeout_s restarts."""
        self.waiting_since = now if self.queue else None


class Queues:
    """What every stream's subscribers share: their bound, the clock, and the deepest queue
    of those gone (for /metrics)."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.clock = clock
        self.high_water = 0


class Stream:
    """One stream of updates (a topic, or one key of a family): its seq, history ring,
    snapshot view and subscribers. A WebSocket serves any stream the same way."""

    def __init__(self, name: str, view: View, *, epoch: str, history_size: int,
                 queues: Queues) -> None:
        self.name = name
        self.epoch = epoch
        self.seq = 0
        self.history: deque[bytes] = deque(maxlen=history_size)
        self.view = view
        self.subscribers: set[Subscriber] = set()
        # Set after each publish and each change of subscribers, for in-process listeners.
        self.listeners: set[asyncio.Event] = set()
        self.taps: list[Tap] = []
        # The backlog (live/pace.py): how many of the clients that had taken everything when
        # the last frame was published have not taken it yet, and who to tell when none is left.
        self.owed = 0
        self.on_caught_up: Callable[[], None] | None = None
        self.last_frame_bytes = 0  # what the last publish cost each subscriber (live/pace.py)
        # Loop time of the last publish or change of subscribers (a family drops idle streams).
        self.touched = queues.clock()
        self._queues = queues
        self._snapshot: tuple[int, bytes] | None = None

    def changed(self) -> None:
        for listener in self.listeners:
            listener.set()

    def publish(self, kind: Kind, items: list[Record], ids: list[Any] | None = None) -> int:
        """Apply one update, serialise it once and queue it for every subscriber."""
        self.seq += 1
        self.view.apply(kind, items, ids)
        if kind == "snapshot":
            items = self.view.items()  # as a subscriber's would be: in the view's order
        frame = frames.update(self.name, self.seq, kind, items, ids,
                              epoch=self.epoch if kind == "snapshot" else None)
        self.history.append(frame)
        self.last_frame_bytes = length = len(frame)
        entry = (frame, self._queues.clock())
        # A client with nothing waiting gets the frame now, straight into its socket, as the
        # raw limit does; one whose writer is at work is counted on to take it soon
        # (live/pace.py); one behind is not waited for (and a debt it had for an older frame is
        # void: seq moved on).
        seq = self.seq
        owed = 0
        # The same bytes for every socket written directly.
        wire = text_frame(frame) if self.subscribers else b""
        for subscriber in self.subscribers:
            if not subscriber.queue:
                direct = subscriber.direct
                handed = Direct.BUSY if direct is None else direct(wire, length)
                if handed is Direct.WRITTEN:
                    continue
                if handed is Direct.BUSY:
                    subscriber.owes = seq
                    owed += 1
            subscriber.push(entry)
        self.owed = owed
        self.changed()
        for tap in self.taps:
            tap(kind, items, ids)
        return self.seq

    def paid(self) -> None:
        """A client counted on took the newest frame; the last one tells on_caught_up."""
        self.owed -= 1
        if not self.owed and self.on_caught_up is not None:
            self.on_caught_up()

    def snapshot_frame(self) -> bytes:
        # Serialised once per seq: a thousand tablets reconnecting share one snapshot (unless
        # the view's items age out by themselves).
        if self._snapshot is None or self._snapshot[0] != self.seq or not self.view.cacheable:
            self._snapshot = (self.seq, frames.update(
                self.name, self.seq, "snapshot", self.view.items(), epoch=self.epoch))
        return self._snapshot[1]

    def missed_since(self, since: int) -> list[bytes] | None:
        """The frames after `since`, or None when the history no longer holds them all."""
        missed = self.seq - since
        if missed < 0 or missed > len(self.history):
            return None
        return list(islice(self.history, len(self.history) - missed, None))

    def subscribe(self, on_overflow: Callable[[], None], *, since: int | None = None,
                  epoch: str | None = None) -> Subscriber:
        """Register a client and queue its snapshot or its missed updates, in one step.

        Nothing here awaits, so no publish can fall between what the client is given and
        what it will be sent next: the stream it sees is contiguous.
        """
        queues = self._queues
        subscriber = Subscriber(self, queues.limit, on_overflow)
        missed = self.missed_since(since) if since is not None and epoch == self.epoch else None
        now = self.touched = queues.clock()
        if missed is not None and len(missed) < queues.limit:
            for frame in missed:
                subscriber.push((frame, now))
        else:
            subscriber.push((self.snapshot_frame(), now))
        self.subscribers.add(subscriber)
        self.changed()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        queues = self._queues
        queues.high_water = max(queues.high_water, subscriber.high_water)
        if subscriber in self.subscribers:
            self.subscribers.discard(subscriber)
            self.touched = queues.clock()
            subscriber.settle()  # a client gone holds nobody up
            self.changed()

    @contextmanager
    def subscription(self, on_overflow: Callable[[], None], *, since: int | None = None,
                     epoch: str | None = None) -> Iterator[Subscriber]:
        subscriber = self.subscribe(on_overflow, since=since, epoch=epoch)
        try:
            yield subscriber
        finally:
            self.unsubscribe(subscriber)


def _one_item(item: Record) -> Hashable:
    return 0


class Family:
    """Streams of one name, one per key (a table, a party), each with its own seq, history,
    epoch and one-item view; made when first subscribed to, dropped when long unwatched."""

    def __init__(self, name: str, initial: Callable[[Any], Record], *, epoch: str,
                 history_size: int, queues: Queues, idle_s: float) -> None:
        """`initial(key)` is the key's item as it is now, for a stream made afresh."""
        self.name = name
        self.streams: dict[Hashable, Stream] = {}
        self._initial = initial
        self._epoch = epoch
        self._history_size = history_size
        self._queues = queues
        self._idle_s = idle_s
        self._incarnations = itertools.count(1)
        self._swept_at = queues.clock()

    def stream(self, key: Hashable) -> Stream:
        """The key's stream, made now with its current item if it has none."""
        stream = self.streams.get(key)
        if stream is None:
            self._sweep()
            view = KeyedView(key=_one_item)
            view.apply("snapshot", [self._initial(key)], None)
            # Its own epoch: a client of a dropped stream resumes nothing from this one.
            stream = Stream(self.name, view, epoch=f"{self._epoch}.{next(self._incarnations)}",
                            history_size=self._history_size, queues=self._queues)
            self.streams[key] = stream
        # Asked for means about to be watched: not dropped by a sweep before its subscriber
        # comes, even if the caller awaits in between.
        stream.touched = self._queues.clock()
        return stream

    def drop(self, key: Hashable) -> None:
        """Forget the key's stream now, history and all: its next subscriber gets a new one
        (a new epoch, so nothing before can be resumed). Its subscribers, if any, hear no
        more: the caller has closed them."""
        self.streams.pop(key, None)

    def publish(self, key: Hashable, item: Record) -> int | None:
        """Upsert the key's whole item; a key with no stream has no one to tell (its next
        subscriber's stream starts from `initial`): None."""
        stream = self.streams.get(key)
        if stream is None:
            return None
        seq = stream.publish("upsert", [item])
        stream.touched = self._queues.clock()
        return seq

    def _sweep(self) -> None:
        """Drop the streams nobody watched or changed for idle_s, at most once per idle_s."""
        now = self._queues.clock()
        if now - self._swept_at < self._idle_s:
            return
        self._swept_at = now
        for key in [key for key, stream in self.streams.items()
                    if not stream.subscribers and now - stream.touched >= self._idle_s]:
            del self.streams[key]

    def subscribers(self) -> Iterator[Subscriber]:
        for stream in self.streams.values():
            yield from stream.subscribers


class Hub:
    """The one door every writer publishes through, and every subscriber listens at."""

    def __init__(self, views: Mapping[str, View], *, history_size: int, queue_max: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`views` names the topics, each with the view that keeps its snapshot; `clock` is
        the event loop's (asyncio's default loop reads the same monotonic clock)."""
        self.epoch = secrets.token_hex(6)
        self._history_size = history_size
        self._queues = Queues(queue_max, clock)
        # Plain str names: they are JSON object keys (connections) and frame fields.
        self.topics = {str(name): Stream(str(name), view, epoch=self.epoch,
                                         history_size=history_size, queues=self._queues)
                       for name, view in views.items()}
        self.families: dict[str, Family] = {}

    @property
    def queue_max(self) -> int:
        return self._queues.limit

    @property
    def queue_high_water(self) -> int:
        """The deepest queue of any client gone (those still here report their own)."""
        return self._queues.high_water

    def add_family(self, name: str, initial: Callable[[Any], Record], *,
                   idle_s: float = STREAM_IDLE_S, history_size: int | None = None) -> Family:
        """Declare a family of keyed streams; `initial(key)` builds a new stream's item. Each
        stream keeps `history_size` updates (the hub's by default)."""
        family = Family(name, initial, epoch=self.epoch,
                        history_size=min(history_size or self._history_size,
                                         self._history_size),
                        queues=self._queues, idle_s=idle_s)
        self.families[name] = family
        return family

    def family(self, name: str) -> Family:
        return self.families[name]

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

    @contextmanager
    def tapped(self, taps: Mapping[str, Tap]) -> Iterator[None]:
        """Tell each tap of every update of its topic while the block runs."""
        for topic, tap in taps.items():
            self.topics[topic].taps.append(tap)
        try:
            yield
        finally:
            for topic, tap in taps.items():
                self.topics[topic].taps.remove(tap)

    def publish(self, topic: str, kind: Kind, items: list[Record],
                ids: list[Any] | None = None) -> int:
        """Apply one update to the topic, serialise it once and queue it for every subscriber."""
        return self.topics[topic].publish(kind, items, ids)

    def prime(self, topic: str, items: list[Record]) -> None:
        """Load a topic's view from the database at start, before anyone subscribes."""
        self.topics[topic].view.apply("snapshot", items, None)

    def seq(self, topic: str) -> int:
        """The topic's last seq: a reader caching what it derived from a snapshot asks this."""
        return self.topics[topic].seq

    def snapshot(self, topic: str) -> tuple[list[Record], int]:
        state = self.topics[topic]
        return state.view.items(), state.seq

    def item(self, topic: str, key: Hashable) -> Record | None:
        """One item of a keyed topic as its view holds it now (None: not held, or a log
        topic, which has no keys)."""
        view = self.topics[topic].view
        return view.get(key) if isinstance(view, KeyedView) else None

    def subscribe(self, topic: str, on_overflow: Callable[[], None], *,
                  since: int | None = None, epoch: str | None = None) -> Subscriber:
        """Register a client of a topic (Stream.subscribe)."""
        return self.topics[topic].subscribe(on_overflow, since=since, epoch=epoch)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Undo a subscribe, of a topic or a family's stream alike."""
        subscriber.stream.unsubscribe(subscriber)

    def subscription(self, topic: str, on_overflow: Callable[[], None], *,
                     since: int | None = None,
                     epoch: str | None = None) -> AbstractContextManager[Subscriber]:
        return self.topics[topic].subscription(on_overflow, since=since, epoch=epoch)

    def subscribers(self) -> Iterator[Subscriber]:
        for state in self.topics.values():
            yield from state.subscribers
        for family in self.families.values():
            yield from family.subscribers()

    def connections(self) -> dict[str, int]:
        counts = {name: len(state.subscribers) for name, state in self.topics.items()}
        for name, family in self.families.items():
            counts[name] = sum(len(stream.subscribers) for stream in family.streams.values())
        return counts

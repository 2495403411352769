"""Batching by the backlog: when a stream's gathered changes go out.

A change goes out at once while the stream's subscribers keep up (live/hub.py writes it
straight into every idle socket); while some are still writing the previous frame, changes
gather and go out together the moment the last of them has taken it. The load itself sets the
batch: one change per frame on a quiet box, many per frame on a busy one, with no window to
wait out in between (the "smart batching" of LMAX and Aeron).

One ceiling stays: the frames a second the stream may cost all its subscribers together, kept
as a token bucket, so it engages only when the audience times the pace would pass it — past
~180 tablets watching 20 robots that report 10 times a second. The tablets' side of a frame (a
browser's parse, or the bench's Python clients at ~40 µs a frame) is the one backlog the server
cannot see until megabytes of it sit in the kernel's buffers (docs/benchmarks.md, "Batching by
the backlog").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from .hub import Stream

# The longest a change is held for subscribers whose writers are still at work on the previous
# frame. Only those with a free socket are waited for (a slow or frozen tablet, with bytes
# waiting for its socket, never is), and they take a frame within a turn or two of the loop;
# the loop's own round of 1,000 sockets takes ~20 ms, so the bound never cuts a busy round short.
MAX_HOLD_S: Final = 0.1
# Frames a second all of a stream's subscribers may be sent together, and the burst the bucket
# holds (in seconds of that rate): a restaurant's 20 tablets never meet it. A frame counts for
# more than one where each costs more: once more per AUDIENCE_SCALE subscribers (each of a
# thousand sockets costs both ends more than each of a hundred: epoll, wake-ups, caches — on
# the bench's box the tablets' stand-ins share the server's two cores) and once more per
# FRAME_BYTES it carries (a tablet parses it all). So 160 tablets can have a frame for each of
# 200 robot lines a second, 800 get ~30 a second, and 400 get 45 frames of all 50 robots (~12 KB)
# a second — the rates measured to hold on this box (docs/benchmarks.md).
FRAME_BUDGET_PER_S: Final = 40_000.0
AUDIENCE_SCALE: Final = 2000
FRAME_BYTES: Final = 12_288
BURST_S: Final = 0.05


class Pacer:
    """Runs `publish` for a stream's gathered changes, at the pace its subscribers take them."""

    def __init__(self, stream: Stream, publish: Callable[[], None], *,
                 max_hold_s: float = MAX_HOLD_S,
                 budget_per_s: float = FRAME_BUDGET_PER_S) -> None:
        self._stream = stream
        self._publish = publish
        self._max_hold_s = max_hold_s
        self._budget_per_s = budget_per_s
        self._burst = budget_per_s * BURST_S
        self._tokens = self._burst
        self._tokens_at = 0.0
        self._published_at = float("-inf")
        self._due: asyncio.Handle | None = None  # the publish to come, once something changed
        stream.on_caught_up = self._caught_up

    def request(self) -> None:
        """Something changed: publish it at once if the subscribers keep up, else soon."""
        if self._due is None:
            self._schedule()
        # else it rides with the publish to come

    def publish(self) -> None:
        """Publish now (a session's start or end, a shutdown's last frame): no hold."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        now = asyncio.get_running_loop().time()
        self._refill(now)
        stream = self._stream
        seq = stream.seq
        self._published_at = now
        self._publish()
        if stream.seq != seq:  # something was published: what it cost the audience
            audience = len(stream.subscribers)
            self._tokens -= audience * (1 + audience / AUDIENCE_SCALE
                                        + stream.last_frame_bytes / FRAME_BYTES)

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        when = now
        audience = len(self._stream.subscribers)
        if self._tokens < audience:
            when = now + (audience - self._tokens) / self._budget_per_s
        if self._stream.owed:
            when = max(when, self._published_at + self._max_hold_s)
        if when <= now:
            # Not in this step: the lines read in this turn of the loop go out together.
            self._due = loop.call_soon(self.publish)
        else:
            self._due = loop.call_at(when, self.publish)

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst,
                           self._tokens + (now - self._tokens_at) * self._budget_per_s)
        self._tokens_at = now

    def _caught_up(self) -> None:
        """Every subscriber counted on has taken the last frame: what waited goes now."""
        if isinstance(self._due, asyncio.TimerHandle):
            self._due.cancel()
            self._schedule()

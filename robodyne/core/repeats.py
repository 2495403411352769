"""The systemlogs repeat rule (docs/protocol.md, "The systemlogs topic"), without I/O or a clock.

A record with the same source, level and message as one first stored less than WINDOW_S ago is
counted on that record instead of stored again; the count is written and published at most
once every FLUSH_EVERY_S per record, so a flood costs neither inserts nor broadcasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .models import SystemLog

WINDOW_S: Final = 60.0
FLUSH_EVERY_S: Final = 1.0
# Distinct records followed at once; past it the oldest is let go (its count flushed first).
TRACKED_MAX: Final = 1000

# What makes two records the same: source, level and message (the server's messages begin
# with their logger's name).
Key = tuple[str, str, str]


def key_of(record: SystemLog) -> Key:
    return (record.source, record.level, record.message)


@dataclass
class Tracked:
    """A stored record within its window, and how far its count is written and published."""

    record: SystemLog
    first_seen: float
    flushed_at: float
    flushed_repeats: int = 1

    @property
    def dirty(self) -> bool:
        return self.record.repeats != self.flushed_repeats


@dataclass
class Repeats:
    """The records of the last WINDOW_S, by key, oldest first; counts not yet flushed."""

    tracked: dict[Key, Tracked] = field(default_factory=dict)
    # Records out of their window (or let go) whose last count is still to be flushed.
    leaving: list[Tracked] = field(default_factory=list)

    def repeat(self, key: Key, now: float) -> SystemLog | None:
        """Count a repeat of `key` on its record and return that record, or None when it is
        not a repeat (then the caller stores it and calls `stored`)."""
        self._expire(now)
        held = self.tracked.get(key)
        if held is None:
            return None
        held.record.repeats += 1
        return held.record

    def stored(self, record: SystemLog, now: float) -> None:
        """A record just stored: its repeats within WINDOW_S are counted on it."""
        self._expire(now)
        key = key_of(record)
        if key in self.tracked:  # stored twice by two writers at once: follow the newer
            self._let_go(self.tracked.pop(key))
        self.tracked[key] = Tracked(record, now, now, record.repeats)
        while len(self.tracked) > TRACKED_MAX:
            self._let_go(self.tracked.pop(next(iter(self.tracked))))

    def next_due(self) -> float | None:
        """When the next count is due to be flushed, or None when every count is written."""
        return min((held.flushed_at + FLUSH_EVERY_S
                    for held in (*self.leaving, *self.tracked.values()) if held.dirty),
                   default=None)

    def due(self, now: float) -> list[Tracked]:
        """The records whose count changed and was last flushed FLUSH_EVERY_S ago or more."""
        self._expire(now)
        return [held for held in (*self.leaving, *self.tracked.values())
                if held.dirty and now - held.flushed_at >= FLUSH_EVERY_S]

    def flushed(self, done: list[Tracked], now: float, repeats: list[int]) -> None:
        """`done` had `repeats` written and published at `now`."""
        for held, count in zip(done, repeats):
            held.flushed_at, held.flushed_repeats = now, count
        self.leaving = [held for held in self.leaving if held.dirty]

    def postpone(self, done: list[Tracked], now: float) -> None:
        """Writing `done` failed at `now`: try again FLUSH_EVERY_S later."""
        for held in done:
            held.flushed_at = now

    def pending(self) -> list[Tracked]:
        """Every record whose count is not written yet, due or not (for a last flush)."""
        return [held for held in (*self.leaving, *self.tracked.values()) if held.dirty]

    def _expire(self, now: float) -> None:
        # Insertion order is first-seen order: the expired ones are at the front.
        while self.tracked:
            oldest = next(iter(self.tracked.values()))
            if now - oldest.first_seen < WINDOW_S:
                break
            self._let_go(self.tracked.pop(key_of(oldest.record)))

    def _let_go(self, held: Tracked) -> None:
        if held.dirty:
            self.leaving.append(held)

"""The systemlogs repeat rule (core/repeats.py): counted within a minute, flushed once a second."""

from __future__ import annotations

from robodyne.core.models import LogLevel, SystemLog
from robodyne.core.repeats import FLUSH_EVERY_S, TRACKED_MAX, WINDOW_S, Repeats

KEY = ("server", LogLevel.ERROR, "aiohttp.server: boom")


def record(record_id: int = 1, message: str = "aiohttp.server: boom",
           source: str = "server") -> SystemLog:
    return SystemLog(id=record_id, ts="2026-01-01T00:00:00.000Z", level=LogLevel.ERROR,
                     source=source, message=message)


def test_a_record_seen_for_the_first_time_is_not_a_repeat() -> None:
    assert Repeats().repeat(KEY, 0.0) is None


def test_repeats_within_the_window_are_counted_on_the_stored_record() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    for n in range(2, 1002):
        counted = repeats.repeat(KEY, 0.001 * n)
        assert counted is not None and counted.id == 1 and counted.repeats == n


def test_another_level_source_or_message_is_another_record() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    assert repeats.repeat(("server", LogLevel.WARNING, KEY[2]), 1.0) is None
    assert repeats.repeat(("robot:r1", LogLevel.ERROR, KEY[2]), 1.0) is None
    assert repeats.repeat(("server", LogLevel.ERROR, "aiohttp.server: other"), 1.0) is None


def test_a_minute_after_the_first_the_same_record_is_stored_again() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    assert repeats.repeat(KEY, WINDOW_S - 0.01) is not None
    assert repeats.repeat(KEY, WINDOW_S) is None


def test_a_count_is_due_once_a_second_however_many_repeats_come() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    assert repeats.next_due() is None and repeats.due(10.0) == []
    for n in range(500):
        repeats.repeat(KEY, 0.001 * n)
    assert repeats.next_due() == FLUSH_EVERY_S
    assert repeats.due(0.9) == []
    [held] = repeats.due(1.0)
    assert held.record.repeats == 501
    repeats.flushed([held], 1.0, [501])
    assert repeats.next_due() is None
    repeats.repeat(KEY, 1.2)
    assert repeats.due(1.5) == [] and repeats.next_due() == 2.0


def test_a_repeat_while_its_count_is_written_stays_due() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    repeats.repeat(KEY, 0.5)
    [held] = repeats.due(1.0)
    repeats.repeat(KEY, 1.0)  # arrives while the count 2 is being written
    repeats.flushed([held], 1.0, [2])
    assert repeats.next_due() == 2.0 and held.record.repeats == 3


def test_a_record_leaving_its_window_still_gets_its_last_count_written() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    repeats.repeat(KEY, 59.5)
    assert repeats.repeat(KEY, 60.0) is None  # out of the window: stored anew
    [held] = repeats.due(60.0)
    assert held.record.id == 1 and held.record.repeats == 2
    repeats.flushed([held], 60.0, [2])
    assert repeats.pending() == []


def test_a_failed_write_is_tried_again_a_second_later() -> None:
    repeats = Repeats()
    repeats.stored(record(), 0.0)
    repeats.repeat(KEY, 0.1)
    due = repeats.due(1.0)
    repeats.postpone(due, 1.0)
    assert repeats.due(1.5) == [] and repeats.due(2.0) == due


def test_followed_records_are_bounded_and_the_oldest_let_go_keeps_its_count() -> None:
    repeats = Repeats()
    repeats.stored(record(0, "first"), 0.0)
    repeats.repeat(("server", LogLevel.ERROR, "first"), 0.0)
    for n in range(1, TRACKED_MAX + 1):
        repeats.stored(record(n, f"m{n}"), 0.0)
    assert len(repeats.tracked) == TRACKED_MAX
    assert repeats.repeat(("server", LogLevel.ERROR, "first"), 0.1) is None
    assert [held.record.id for held in repeats.pending()] == [0]

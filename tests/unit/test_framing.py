"""The NDJSON framer without sockets."""

from __future__ import annotations

from robodyne.wire.framing import LineFramer, LineTooLong


def test_lines_split_on_lf_and_crlf_and_across_chunks() -> None:
    framer = LineFramer(100)
    assert framer.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert framer.feed(b':2}\r\n\n{"c":3}\n') == [b'{"b":2}', b'{"c":3}']


def test_byte_at_a_time_is_the_same_as_all_at_once() -> None:
    stream = b'{"type":"heartbeat"}\r\n{"type":"bye"}\n'
    framer = LineFramer(100)
    lines = [line for byte in stream for line in framer.feed(bytes([byte]))]
    assert lines == [b'{"type":"heartbeat"}', b'{"type":"bye"}']


def test_a_line_at_the_limit_passes_and_one_over_is_dropped_alone() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"x" * 10 + b"\n") == [b"x" * 10]
    assert framer.feed(b"y" * 11 + b"\nok\n") == [LineTooLong(10), b"ok"]


def test_an_endless_line_is_reported_once_and_not_buffered() -> None:
    framer = LineFramer(16)
    events = []
    for _ in range(1000):
        events += framer.feed(b"z" * 64)
    assert events == [LineTooLong(16)]
    assert framer.buffered == 0
    assert framer.feed(b"still the long line\n" + b'{"type":"bye"}\n') == [b'{"type":"bye"}']


def test_an_over_long_line_split_over_many_chunks_ends_at_its_newline() -> None:
    framer = LineFramer(8)
    assert framer.feed(b"12345") == []
    assert framer.feed(b"6789") == [LineTooLong(8)]
    assert framer.feed(b"abc\nfine\n") == [b"fine"]

"""The robot session's state machine without sockets: bytes and a clock in, lines out."""

from __future__ import annotations

import orjson
import pytest

from robodyne.robots.protocol import HELLO_TIMEOUT_S, MAX_BAD_LINES, PRE_HELLO_BYTES, RobotProtocol
from robodyne.wire import robot as wire


def _lines(protocol: RobotProtocol) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in protocol.data_to_send().splitlines()]


def _feed(protocol: RobotProtocol, *messages: object, now: float = 0.0) -> list[wire.Message]:
    """Feed lines; carry out each parsed one as done, refuse each bad one, like the adapter."""
    data = b"".join(orjson.dumps(m) + b"\n" if not isinstance(m, bytes) else m for m in messages)
    carried = []
    for item in protocol.receive(data, now):
        try:
            message = protocol.parse(item)
        except wire.ProtocolError as err:
            protocol.refuse(err)
            continue
        if isinstance(message, wire.Hello):
            protocol.greet(message.robot_id)
        carried.append(message)
        protocol.done(message)
    return carried


def _greeted() -> RobotProtocol:
    protocol = RobotProtocol(max_line_bytes=1024, heartbeat_s=5, now=0.0)
    _feed(protocol, {"type": "hello", "token": "t", "robot_id": "r1"})
    protocol.data_to_send()
    return protocol


def test_the_first_line_must_be_hello() -> None:
    protocol = RobotProtocol(max_line_bytes=1024, heartbeat_s=5, now=0.0)
    assert _feed(protocol, {"type": "state", "battery": 5, "id": 7}) == []
    assert _lines(protocol) == [{"type": "error", "code": "not_hello",
                                 "detail": "say hello first", "id": 7}]
    [hello] = _feed(protocol, {"type": "hello", "token": "t", "robot_id": "r1"})
    [welcome] = _lines(protocol)
    assert welcome["type"] == "welcome" and welcome["robot_id"] == "r1"
    assert protocol.robot_id == "r1"


def test_an_ack_only_for_a_line_with_an_id_and_only_once_done() -> None:
    protocol = _greeted()
    state = protocol.parse(protocol.receive(b'{"type":"state","battery":9,"id":"a"}\n', 1.0)[0])
    assert protocol.data_to_send() == b""  # parsed, not yet carried out: nothing said
    protocol.done(state)
    assert _lines(protocol) == [{"type": "ack", "id": "a"}]
    _feed(protocol, {"type": "heartbeat"})
    assert protocol.data_to_send() == b""


def test_a_second_hello_and_state_without_a_robot_id_are_refused() -> None:
    protocol = _greeted()
    _feed(protocol, {"type": "hello", "token": "t", "robot_id": "r2", "id": 1})
    assert _lines(protocol)[0]["code"] == "validation_error"
    peer = RobotProtocol(max_line_bytes=1024, heartbeat_s=5, now=0.0)
    _feed(peer, {"type": "hello", "token": "t"})  # an integration peer: no robot_id
    peer.data_to_send()
    _feed(peer, {"type": "state", "battery": 1})
    assert _lines(peer)[0]["detail"] == "state: say hello with a robot_id first"


def test_an_over_long_line_costs_only_itself() -> None:
    protocol = _greeted()
    carried = _feed(protocol, b'{"type":"log","level":"INFO","message":"' + b"x" * 2000 + b'"}\n',
                    {"type": "heartbeat", "id": 2})
    assert [m.type for m in carried] == ["heartbeat"]
    assert [line.get("code", line["type"]) for line in _lines(protocol)] == ["line_too_long",
                                                                             "ack"]


def test_bad_lines_in_a_row_end_the_session_and_a_good_one_resets_the_count() -> None:
    protocol = _greeted()
    _feed(protocol, *([b"nope\n"] * (MAX_BAD_LINES - 1)), {"type": "heartbeat"})
    assert protocol.ended is None and protocol.bad_in_row == 0
    _feed(protocol, *([b"nope\n"] * MAX_BAD_LINES))
    assert protocol.ended == f"{MAX_BAD_LINES} bad lines in a row"


def test_unavailable_is_no_ack_and_no_bad_line() -> None:
    protocol = _greeted()
    message = protocol.parse(protocol.receive(b'{"type":"log","level":"INFO","message":"m",'
                                              b'"id":5}\n', 1.0)[0])
    protocol.unavailable(message, "disk full")
    assert _lines(protocol) == [{"type": "error", "code": "unavailable", "detail": "disk full",
                                 "id": 5}]
    assert protocol.bad_in_row == 0


@pytest.mark.parametrize(("greeted", "silent_for", "expected"), [
    (False, HELLO_TIMEOUT_S - 0.1, None), (False, HELLO_TIMEOUT_S + 0.1, "no hello"),
    (True, 3 * 5 - 0.1, None), (True, 3 * 5 + 0.1, "silent")])
def test_overdue_for_want_of_a_hello_or_of_any_line(
    greeted: bool, silent_for: float, expected: str | None
) -> None:
    protocol = _greeted() if greeted else RobotProtocol(max_line_bytes=1024, heartbeat_s=5,
                                                        now=0.0)
    assert protocol.overdue(silent_for) == expected
    protocol.receive(b"\n", silent_for)  # any bytes are a sign of life, but not a hello
    assert protocol.overdue(silent_for + 1) == (None if greeted else "no hello")


def test_the_end_is_said_once_with_the_protocols_last_words() -> None:
    protocol = _greeted()
    protocol.end("replaced")
    protocol.end("shutdown")
    assert protocol.ended == "replaced"
    assert [line["code"] for line in _lines(protocol)] == ["replaced"]
    ending = _greeted()
    ending.end("shutdown")
    assert _lines(ending) == [{"type": "shutdown"}]


def test_more_than_4096_bytes_before_the_welcome_is_line_too_long_and_the_end() -> None:
    protocol = RobotProtocol(max_line_bytes=65536, heartbeat_s=5, now=0.0)
    assert _feed(protocol, b"x" * PRE_HELLO_BYTES) == []  # no newline yet: held, within bounds
    assert protocol.ended is None
    assert _feed(protocol, b"x") == []
    assert protocol.ended == "too much before hello"
    assert _lines(protocol) == [{"type": "error", "code": "line_too_long",
                                 "detail": f"more than {PRE_HELLO_BYTES} bytes before the welcome"}]


def test_lines_before_the_hello_count_toward_the_4096_bytes_too() -> None:
    protocol = RobotProtocol(max_line_bytes=65536, heartbeat_s=5, now=0.0)
    blank = b" " * 1000 + b"\n"
    for _ in range(4):
        _feed(protocol, blank)
    assert protocol.ended is None
    _feed(protocol, blank)
    assert protocol.ended == "too much before hello"


def test_after_the_welcome_only_max_line_bytes_bounds_a_line() -> None:
    protocol = _greeted()
    [state] = _feed(protocol, {"type": "state", "battery": 5, "pad": "p" * 900})
    assert isinstance(state, wire.State) and protocol.ended is None


def test_a_rate_limited_line_is_not_a_bad_line() -> None:
    protocol = _greeted()
    [log] = _feed(protocol, {"type": "log", "level": "INFO", "message": "m"})
    for _ in range(MAX_BAD_LINES + 5):
        protocol.rate_limited(log, 600)
    assert protocol.ended is None and protocol.bad_in_row == 0
    assert _lines(protocol)[0]["code"] == "rate_limited"


@pytest.mark.parametrize(("line", "where"), [
    ({"type": "event", "event": "bump", "data": {"x": "d" * wire.MAX_DATA_BYTES}}, "data"),
    ({"type": "event", "event": "bump", "message": "m" * (wire.MAX_TEXT_CHARS + 1)}, "message"),
    ({"type": "log", "level": "INFO", "message": "가" * (wire.MAX_LOG_BYTES // 3 + 1)},
     "message"),
    ({"type": "command_result", "command_id": "c" * (wire.MAX_TEXT_CHARS + 1),
      "status": "done"}, "command_id"),
    ({"type": "command_result", "command_id": "c", "status": "done",
      "detail": "d" * (wire.MAX_TEXT_CHARS + 1)}, "detail"),
])
def test_robot_written_text_and_data_past_their_size_are_validation_errors(
        line: dict[str, object], where: str) -> None:
    with pytest.raises(wire.ProtocolError) as refused:
        wire.parse(orjson.dumps(line))
    assert refused.value.code == "validation_error" and where in refused.value.detail


def test_robot_written_text_and_data_at_their_size_are_taken() -> None:
    overhead = len(orjson.dumps({"x": ""}))
    event = wire.parse(orjson.dumps({
        "type": "event", "event": "bump", "message": "m" * wire.MAX_TEXT_CHARS,
        "data": {"x": "d" * (wire.MAX_DATA_BYTES - overhead)}}))
    assert isinstance(event, wire.RobotEvent)
    log = wire.parse(orjson.dumps({"type": "log", "level": "INFO",
                                   "message": "가" * (wire.MAX_LOG_BYTES // 3)}))
    assert isinstance(log, wire.Log)

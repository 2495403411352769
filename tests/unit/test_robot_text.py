"""What a robot may write (SPEC §4): the staff's rule for text (core/text.py) on every field a
robot writes, tabs and newlines in a log's message only, and event types folded to lower case
before the server-owned check (core/events.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from robodyne.core.events import server_owned
from robodyne.wire import robot as wire

# NUL, ESC, a newline, a C1 control, and the bidi overrides and isolates.
BAD = ["\x00", "\x1b", "\n", "\x85", "\u202e", "\u202d", "\u2066", "\u2069"]


def parse(message: dict[str, Any]) -> wire.Message:
    return wire.parse(orjson.dumps(message))


def refused(message: dict[str, Any]) -> wire.ProtocolError:
    with pytest.raises(wire.ProtocolError) as caught:
        parse(message)
    assert caught.value.code == "validation_error", caught.value.detail
    return caught.value


def lines_with(text: str) -> list[dict[str, Any]]:
    """A line of each kind, with `text` in each field a robot writes as text."""
    return [
        {"type": "event", "event": "bumped", "message": f"storage_fail{text}ed"},
        {"type": "command_result", "command_id": "c1", "status": "done", "detail": text},
        {"type": "command_result", "command_id": f"c{text}1", "status": "done"},
        {"type": "hello", "token": "t", "robot_id": "r1", "name": f"Robo{text}"},
        {"type": "state", "pose": {"x": 1, "y": 2, "map": f"floor{text}"}},
        {"type": "state", "issues": [{"category": "lidar", "detail": f"dirty{text}"}]},
        {"type": "state", "issues": [{"category": f"lidar{text}"}]},
        {"type": "heartbeat", "id": f"h{text}"},
    ]


@pytest.mark.parametrize("char", BAD)
def test_robot_written_text_refuses_control_and_bidi_characters(char: str) -> None:
    for message in lines_with(char):
        assert f"U+{ord(char):04X}" in refused(message).detail, message


def test_a_log_message_keeps_tabs_and_newlines_but_no_other_control() -> None:
    log = parse({"type": "log", "level": "ERROR", "message": "trace:\n\tat motor.c:12"})
    assert isinstance(log, wire.Log) and log.message == "trace:\n\tat motor.c:12"
    for char in ("\x00", "\x1b", "\r", "\u202e"):
        refused({"type": "log", "level": "ERROR", "message": f"trace{char}"})


def test_plain_text_in_any_script_is_taken() -> None:
    for message in lines_with(" 비빔밥 شاورما é"):
        parse(message)


@pytest.mark.parametrize("written,stored", [("Bumped", "bumped"), ("DOOR.Open-2", "door.open-2"),
                                            ("a" * 64, "a" * 64)])
def test_an_event_type_is_folded_to_lower_case(written: str, stored: str) -> None:
    event = parse({"type": "event", "event": written})
    assert isinstance(event, wire.RobotEvent) and event.event == stored


@pytest.mark.parametrize("written", ["", "a" * 65, "door open", "tür", "bumped\u202e", "a/b",
                                     "\u0130nfo"])
def test_an_event_type_outside_its_alphabet_is_refused(written: str) -> None:
    refused({"type": "event", "event": written})


@pytest.mark.parametrize("written", ["Storage_Failed", "STORAGE_RECOVERED", "Order_Served",
                                     "Command_Result"])
def test_a_server_owned_type_in_any_case_is_the_servers(written: str) -> None:
    event = parse({"type": "event", "event": written})
    assert isinstance(event, wire.RobotEvent) and server_owned(event.event)
    assert server_owned(written)

"""Fuzzing with Hypothesis (reliability issue): the framer, the robot protocol, and a real server.

Every input surface is fed random and hostile input: the NDJSON framer and the robot message
parser directly, then a real server through a real TCP connection, real WebSocket frames and real
HTTP requests. The server must never crash, never send a traceback, always answer with the
documented error, and the next valid message must still work.

How many examples each test runs is a setting, chosen by the environment variable
``HYPOTHESIS_PROFILE`` (see tests/conftest_hypothesis.py):

- ``ci`` (default): 100 examples per test (the cheap direct ones run 5x, the costly ones
  fewer), the whole module in about 10 seconds;
- ``nightly``: 5,000 examples per test, same scaling, about 6 minutes::

      HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_fuzz.py

The network tests start one server per test function and reuse it, and its connections, across
all of that test's examples (the fixture lives for the whole Hypothesis run).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from robodyne.core.events import server_owned
from robodyne.core.topics import Topic
from robodyne.robots import protocol as tcp
from robodyne.wire import robot as wire
from robodyne.wire.frames import ClientMessage
from robodyne.wire.framing import LineFramer, LineTooLong
from robodyne.wire.robot import SQLITE_MAX_INT

from ..support.hypothesis import fuzz_settings
from ..support.images import encoded, halves, jpeg
from ..support.robot_client import RobotClient
from ..support.server import ADMIN, MakeServer, receive_json, ws_url

TOPICS = tuple(Topic)

# docs/protocol.md, "Robot TCP protocol": the codes an error line may carry.
TCP_CODES = {"invalid_json", "unknown_type", "validation_error", "line_too_long", "not_hello",
             "unauthorized", "forbidden"}
# What parse itself may raise; the other codes come from the session.
PARSE_CODES = {"invalid_json", "unknown_type", "validation_error"}
# docs/api.md: every status the fuzzed endpoints may answer, and each error status' code.
REST_ERRORS = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               409: "conflict", 413: "too_large", 415: "unsupported_media_type"}
REST_STATUSES = {200, 201, 204, *REST_ERRORS}
TRACEBACK = re.compile(rb'Traceback|File "')


def no_traceback(raw: bytes | str) -> None:
    data = raw.encode() if isinstance(raw, str) else raw
    assert not TRACEBACK.search(data), f"a traceback reached the client: {data[:500]!r}"


# ---- strategies ----

JSON_SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

# JSON text that no Python value serialises to: numbers past every range, and deep nesting.
HUGE_NUMBERS = ["1e400", "-1e400", "1e-400", "1" + "0" * 400, "-" + "9" * 400, "1E+99999",
                "9223372036854775808", "-9223372036854775809", "18446744073709551615",
                "18446744073709551616", "-0", "0.0000000000000000000000000001", "NaN",
                "Infinity", "-Infinity", "01", "1.", ".5", "+1", "0x10"]


def nested(depth: int, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


DEEP_LITERALS = [nested(n, kind) for n in (30, 33, 200, 254, 255, 1023, 1024, 1025, 5000)
                 for kind in ("list", "object")]
RAW_LITERALS = st.sampled_from(HUGE_NUMBERS + DEEP_LITERALS)

VALID: dict[str, dict[str, Any]] = {
    "hello": {"type": "hello", "token": "robot-token-test", "robot_id": "fuzz", "name": "F",
              "model": "M"},
    "state": {"type": "state", "status": "idle", "battery": 50.5,
              "pose": {"x": 1.0, "y": 2.0, "yaw": 0.1, "map": "floor"}, "order_id": 1,
              "table_id": 2, "issues": [{"category": "wheel", "detail": "slip"}]},
    "event": {"type": "event", "event": "bump", "severity": "warning", "message": "m",
              "data": {"k": [1, {"v": 2}]}, "order_id": 1, "table_id": 2},
    "log": {"type": "log", "level": "INFO", "message": "fine"},
    "heartbeat": {"type": "heartbeat"},
    "command_result": {"type": "command_result", "command_id": "c1", "status": "done",
                       "detail": "ok"},
    "notify": {"type": "notify", "entity": "table", "entity_id": 1},
    "video": {"type": "video", "url": "http://cam.local:8080/stream.mjpg", "name": "tray",
              "status": "active"},
    "bye": {"type": "bye"},
}
# Every field of every message type, read from the message models themselves.
MODELS: dict[str, type[wire.Inbound]] = {
    get_args(cls.model_fields["type"].annotation)[0]: cls for cls in get_args(wire.Message)
}
FIELDS = sorted((kind, name) for kind, model in MODELS.items() for name in model.model_fields)
RAW = "\u2603raw\u2603"  # a placeholder value, swapped for a raw JSON literal after dumping


def dump(message: Any, raw: str | None = None) -> bytes:
    text = json.dumps(message, ensure_ascii=False)
    if raw is not None:
        text = text.replace(json.dumps(RAW, ensure_ascii=False), raw)
    return text.encode()


@st.composite
def wrong_field(draw: st.DrawFn) -> bytes:
    """A valid message of some type with one of its fields given a wrong value, or dropped."""
    kind, name = draw(st.sampled_from(FIELDS))
    message = dict(VALID[kind])
    choice = draw(st.integers(0, 3))
    raw = None
    if choice == 0:
        message.pop(name, None)
    elif choice == 1:
        message[name], raw = RAW, draw(RAW_LITERALS)
    else:
        message[name] = draw(JSON_VALUES)
    return dump(message, raw)


def cut_utf8(data: bytes, at: int) -> bytes:
    return data[: at % (len(data) + 1)]


@st.composite
def cut_message(draw: st.DrawFn) -> bytes:
    """A valid message with non-ASCII text, cut at a random byte (often inside a character)."""
    kind = draw(st.sampled_from(sorted(VALID)))
    message = dict(VALID[kind], id=draw(st.text(min_size=1, max_size=10)),
                   note="h\u00e9llo \u2603 \U0001f916")
    return cut_utf8(dump(message), draw(st.integers(0, 10_000)))


LINES = st.one_of(
    st.binary(max_size=200),
    wrong_field(),
    cut_message(),
    JSON_VALUES.map(dump),
    st.builds(lambda kind, junk: dump({"type": kind, **junk}),
              st.sampled_from(sorted(VALID)) | st.text(max_size=12),
              st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4)),
)


# ---- the framer ----

def model_framing(stream: bytes, limit: int) -> list[bytes | LineTooLong]:
    """What LineFramer must produce for `stream`, however it is split."""
    *complete, rest = stream.split(b"\n")
    out: list[bytes | LineTooLong] = []
    for line in complete:
        if len(line) > limit:
            out.append(LineTooLong(limit))
            continue
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip():
            out.append(line)
    if len(rest) > limit:
        out.append(LineTooLong(limit))
    return out


FRAMER_BYTES = st.lists(st.sampled_from([b"\n", b"\r\n", b"\r", b" ", b"x", b"{}", b"\xff",
                                         b"ab", b"\n\n"]) | st.binary(max_size=40),
                        max_size=40).map(b"".join)


@fuzz_settings(scale=5)
@given(stream=FRAMER_BYTES, limit=st.integers(1, 64), cuts=st.lists(st.integers(0, 2000)))
def test_framer_any_split_gives_the_same_lines_and_never_more_than_the_limit(
    stream: bytes, limit: int, cuts: list[int]
) -> None:
    expected = model_framing(stream, limit)

    whole = LineFramer(limit)
    assert whole.feed(stream) == expected
    assert whole.buffered <= limit

    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    split, got_split = LineFramer(limit), []
    for start, end in zip(points, points[1:]):
        got_split += split.feed(stream[start:end])
        assert split.buffered <= limit
    assert got_split == expected

    byte, got_bytes = LineFramer(limit), []
    for i in range(len(stream)):
        got_bytes += byte.feed(stream[i:i + 1])
        assert byte.buffered <= limit
    assert got_bytes == expected

    for line in expected:
        if isinstance(line, bytes):
            assert len(line) <= limit and b"\n" not in line


@fuzz_settings(scale=0.5)
@given(chunk=st.integers(1, 70_000), size=st.integers(100_000, 3_000_000),
       limit=st.sampled_from([2, 1024, 65536]))
def test_framer_memory_stays_bounded_on_an_endless_line(chunk: int, size: int, limit: int) -> None:
    framer = LineFramer(limit)
    out: list[bytes | LineTooLong] = []
    block = b"x" * chunk
    # megabytes in at most 20,000 reads, and always past the limit
    for _ in range(max(-(-(limit + 1) // chunk), min(-(-size // chunk), 20_000))):
        out += framer.feed(block)
        assert framer.buffered <= limit
    assert out == [LineTooLong(limit)], "one error for the whole line, however long"
    assert framer.feed(b"tail\n" + b"{}\n") == [b"{}"]


# ---- the parser ----

def check_parse(line: bytes) -> wire.Message | wire.ProtocolError:
    """parse() gives a message or a ProtocolError with a documented code, and nothing else."""
    try:
        message = wire.parse(line)
    except wire.ProtocolError as err:
        assert err.code in PARSE_CODES, err.code
        assert err.detail and isinstance(err.detail, str)
        assert err.message_id is None or type(err.message_id) in (int, str)
        no_traceback(err.detail)
        return err
    # What parses must be usable downstream: writable as JSON, ids that fit SQLite.
    assert message.type in MODELS and isinstance(message, MODELS[message.type])
    orjson.dumps(message.model_dump(mode="json"))
    assert message.id is None or type(message.id) in (int, str)
    for name in ("order_id", "table_id", "entity_id"):
        value = getattr(message, name, None)
        if isinstance(value, int):
            assert -SQLITE_MAX_INT - 1 <= value <= SQLITE_MAX_INT
    return message


@fuzz_settings(scale=5)
@given(line=LINES)
def test_parse_gives_a_message_or_a_protocol_error(line: bytes) -> None:
    check_parse(line)


@fuzz_settings(scale=2)
@given(line=wrong_field())
def test_every_field_of_every_message_type_refuses_wrong_types_cleanly(line: bytes) -> None:
    check_parse(line)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_valid_messages_the_fuzzer_starts_from_do_parse(kind: str) -> None:
    assert isinstance(wire.parse(dump(VALID[kind])), MODELS[kind])


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("where", ["top", "data", "pose", "id", "type"])
def test_parse_survives_100k_deep_nesting(kind: str, where: str) -> None:
    """100,000 levels: 100k nested objects crashed orjson 3.8.3 (a segfault, CVE-2024-27454)."""
    deep = nested(100_000, kind)
    line: bytes = {
        "top": deep.encode(),
        "data": dump(dict(VALID["event"], data=RAW), raw='{"x":' + deep + "}"),
        "pose": dump(dict(VALID["state"], pose=RAW), raw=deep),
        "id": dump(dict(VALID["heartbeat"], id=RAW), raw=deep),
        "type": dump({"type": RAW}, raw=deep),
    }[where]
    result = check_parse(line)
    assert isinstance(result, wire.ProtocolError) and result.code == "invalid_json"


def test_nesting_up_to_the_limit_still_parses() -> None:
    deep = nested(wire.MAX_JSON_DEPTH - 2, "object")  # + the message and data objects
    message = check_parse(dump(dict(VALID["heartbeat"], extra=RAW), raw=deep))
    assert isinstance(message, wire.Heartbeat)
    deep_string = dump(dict(VALID["log"], message="[{" * 3000))  # brackets in a string: fine
    assert isinstance(check_parse(deep_string), wire.Log)


@pytest.mark.parametrize("literal", HUGE_NUMBERS)
@pytest.mark.parametrize("kind,name", [("state", "battery"), ("state", "order_id"),
                                       ("event", "table_id"), ("notify", "entity_id"),
                                       ("heartbeat", "id"), ("command_result", "command_id")])
def test_parse_survives_huge_numbers(literal: str, kind: str, name: str) -> None:
    check_parse(dump(dict(VALID[kind], **{name: RAW}), raw=literal))


FOUND = [
    # ids past SQLite's 64 bits reached SQL: OverflowError ended the session, and the robot's
    # record kept the bad id, so every later save of it (and its reconnects) failed too
    b'{"type":"state","order_id":18446744073709551615,"id":1}',
    b'{"type":"state","table_id":9223372036854775808}',
    b'{"type":"event","event":"delivered","order_id":9223372036854775808}',
    b'{"type":"notify","entity":"order","entity_id":18446744073709551615}',
    b'{"type":"notify","entity":"order","entity_id":"99999999999999999999"}',
    # a digit string that int() refuses ("\u00b2" is a digit to str.isdigit)
    b'{"type":"notify","entity":"table","entity_id":"\xc2\xb2"}',
    # event data that parses but is too deep for orjson.dumps when stored and broadcast
    b'{"type":"event","event":"x","data":{"a":' + nested(300).encode() + b"}}",
    # a type that is not hashable (TypeError), or too deep to repr (RecursionError)
    b'{"type":[]}', b'{"type":{}}', b'{"type":' + nested(5000).encode() + b"}",
    # true is not the id 1
    b'{"type":"heartbeat","id":true}',
]


@pytest.mark.parametrize("line", FOUND, ids=[f"found-{n}" for n in range(len(FOUND))])
def test_lines_the_fuzzer_found_are_refused_cleanly(line: bytes) -> None:
    assert isinstance(check_parse(line), wire.ProtocolError), line


def test_robots_are_named_by_strings_so_a_long_digit_string_is_a_robot_id() -> None:
    robot = b'{"type":"notify","entity":"robot","entity_id":"99999999999999999999"}'
    assert isinstance(check_parse(robot), wire.Notify)


async def test_found_lines_over_tcp_cost_only_themselves(make_server: MakeServer) -> None:
    server = await make_server()
    robot = await RobotClient.hello(server, robot_id="found")
    for n, line in enumerate(FOUND):
        await robot.send_raw(line + b"\n")
        error = await robot.receive()
        assert error["type"] == "error" and error["code"] in TCP_CODES, error
        await robot.send({"type": "state", "battery": n, "id": n})
        assert await robot.receive() == {"type": "ack", "id": n}
    await robot.close()
    again = await RobotClient.hello(server, robot_id="found")  # its record is not poisoned
    await again.send({"type": "state", "battery": 99, "id": "again"})
    assert await again.receive() == {"type": "ack", "id": "again"}
    await again.close()


# ---- a real TCP connection ----

@dataclass
class TcpPeer:
    server: TestServer
    robot: RobotClient | None = None
    sent: int = 0

    async def connected(self) -> RobotClient:
        if self.robot is None:
            self.robot = await RobotClient.hello(self.server, robot_id="fuzz")
        return self.robot

    async def read_until_ack(self, ack_id: str) -> list[dict[str, Any]]:
        """Every reply line up to the ack of `ack_id`, checked for tracebacks on the way."""
        robot = await self.connected()
        replies: list[dict[str, Any]] = []
        while True:
            raw = await asyncio.wait_for(robot.reader.readline(), 5)
            assert raw, "the server closed the connection"
            no_traceback(raw)
            reply = orjson.loads(raw)
            assert isinstance(reply, dict), raw
            if reply == {"type": "ack", "id": ack_id}:
                return replies
            replies.append(reply)


TCP_LIMIT = 4096


@pytest.fixture
async def tcp_peer(make_server: MakeServer) -> AsyncIterator[TcpPeer]:
    peer = TcpPeer(await make_server(tcp={"max_line_bytes": TCP_LIMIT}))
    yield peer
    if peer.robot is not None:
        await peer.robot.close()


def expected_replies(payload: bytes, greeted: bool) -> list[tuple[str, Any]] | None:
    """What the session must answer to `payload`: ("error", code) or ("ack", id) per line.

    None when the payload holds a line that ends the connection on purpose (bye, or a hello).
    """
    out: list[tuple[str, Any]] = []
    for item in LineFramer(TCP_LIMIT).feed(payload):
        if isinstance(item, LineTooLong):
            out.append(("error", "line_too_long"))
            continue
        try:
            message = wire.parse(item)
        except wire.ProtocolError as err:
            out.append(("error", err.code))
            continue
        if isinstance(message, wire.Bye) or (isinstance(message, wire.Hello) and not greeted):
            return None
        if not greeted:
            out.append(("error", "not_hello"))
        elif isinstance(message, wire.Hello):
            out.append(("error", "validation_error"))
        elif _forbidden_to_a_robot(message):
            out.append(("error", "forbidden"))
        elif message.id is not None:
            out.append(("ack", message.id))
    return out


def _forbidden_to_a_robot(message: wire.Inbound) -> bool:
    """docs/protocol.md: a robot's session may not notify, raise a server-owned event, or say
    it delivered an order it does not carry (no fuzzed order is on the fuzzing robot)."""
    if isinstance(message, wire.Notify):
        return True
    return isinstance(message, wire.RobotEvent) and (
        server_owned(message.event) or (message.event == "delivered"
                                        and message.order_id is not None))


TCP_PAYLOADS = st.one_of(
    LINES,
    st.lists(LINES, min_size=1, max_size=8).map(b"\n".join),
    st.builds(lambda n, c: c * n, st.integers(TCP_LIMIT - 2, TCP_LIMIT * 3), st.sampled_from(
        [b"x", b"\xff", b"["])),
    st.sampled_from([nested(n).encode() for n in (1000, 1025, 2000)]),
)


def check_replies(replies: list[dict[str, Any]], expected: list[tuple[str, Any]]) -> None:
    got: list[tuple[str, Any]] = []
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] in TCP_CODES and isinstance(reply["detail"], str), reply
            got.append(("error", reply["code"]))
        else:
            assert reply["type"] == "ack", reply
            got.append(("ack", reply["id"]))
    assert got == expected


@fuzz_settings()
@given(payload=TCP_PAYLOADS)
async def test_tcp_bad_lines_get_documented_errors_and_the_next_line_works(
    tcp_peer: TcpPeer, payload: bytes
) -> None:
    expected = expected_replies(payload + b"\n", greeted=True)
    assume(expected is not None and len(expected) < tcp.MAX_BAD_LINES)  # 100 bad lines close
    assert expected is not None
    tcp_peer.sent += 1
    ack_id = f"\u2603hb-{tcp_peer.sent}"
    robot = await tcp_peer.connected()
    try:
        await robot.send_raw(payload + b"\n")
        await robot.send({"type": "heartbeat", "id": ack_id})
        check_replies(await tcp_peer.read_until_ack(ack_id), expected)
    except BaseException:
        tcp_peer.robot = None  # a failing example must not leave a broken connection behind
        await robot.close()
        raise


@fuzz_settings(scale=0.5)
@given(payload=TCP_PAYLOADS)
async def test_tcp_bad_lines_before_hello_then_hello_works(
    tcp_peer: TcpPeer, payload: bytes
) -> None:
    expected = expected_replies(payload + b"\n", greeted=False)
    assume(expected is not None and len(expected) < tcp.MAX_BAD_LINES)
    # Past 4,096 bytes before the welcome the connection ends (SPEC §4; test_robot_limits.py).
    assume(len(payload) + 200 <= tcp.PRE_HELLO_BYTES)
    assert expected is not None
    robot = await RobotClient.connect(tcp_peer.server)
    try:
        await robot.send_raw(payload + b"\n")
        await robot.send({"type": "hello", "token": "robot-token-test", "robot_id": "early",
                          "id": "h"})
        replies = []
        while True:
            raw = await asyncio.wait_for(robot.reader.readline(), 5)
            assert raw, "the server closed the connection"
            no_traceback(raw)
            reply = orjson.loads(raw)
            if reply["type"] == "welcome":
                break
            replies.append(reply)
        check_replies(replies, expected)
        assert await robot.receive() == {"type": "ack", "id": "h"}
    finally:
        await robot.close()


# ---- WebSocket frames ----

@dataclass
class WsPeer:
    server: TestServer
    session: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse | None = None
    frames: int = 0  # sent on this connection, to stay inside the rate limit
    probes: int = 0

    async def connected(self) -> aiohttp.ClientWebSocketResponse:
        # The limit allows a burst of 100 frames, then 50 a second: reconnect well before.
        if self.ws is not None and (self.frames > 80 or self.ws.closed):
            await self.ws.close()
            self.ws = None
        if self.ws is None:
            self.ws = await self.session.ws_connect(ws_url(self.server, "tables"))
            snapshot = await receive_json(self.ws)
            assert snapshot["data"]["kind"] == "snapshot"
            self.frames = 0
        return self.ws

    async def receive(self) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            msg = await self.ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.TEXT, f"connection lost: {msg.type} {msg.data!r}"
            no_traceback(msg.data)
            frame: dict[str, Any] = orjson.loads(msg.data)
            if frame["type"] in ("update", "ping"):  # the server's own traffic: not ours
                continue
            return frame


@pytest.fixture
async def ws_peer(make_server: MakeServer) -> AsyncIterator[WsPeer]:
    async with aiohttp.ClientSession() as session:
        peer = WsPeer(await make_server(), session)
        yield peer
        if peer.ws is not None:
            await peer.ws.close()


def expected_ws_reply(frame: str | bytes) -> tuple[str, Any] | None:
    """("error", code), ("pong", data) or None (a pong from the client needs no answer)."""
    if isinstance(frame, bytes):
        return ("error", "bad_message")
    try:
        parsed = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return ("error", "invalid_json")
    try:
        message = ClientMessage.model_validate(parsed)
    except ValidationError:
        return ("error", "bad_message")
    return ("pong", message.data) if message.type == "ping" else None


# Deep data in a ping is kept shallow here: see test_ws_deeply_nested_ping_data_is_an_error.
WS_FRAMES = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v)),
    st.builds(lambda kind, extra: json.dumps({"type": kind, **extra}),
              st.sampled_from(["ping", "pong", "update", "subscribe", ""]) | st.text(max_size=8),
              st.dictionaries(st.sampled_from(["topic", "data", "seq", "x"]), JSON_VALUES,
                              max_size=3)),
    st.builds(lambda raw: json.dumps({"type": "ping", "data": RAW}).replace(json.dumps(RAW), raw),
              st.sampled_from(HUGE_NUMBERS + [nested(n, k) for n in (30, 200) for k in
                                              ("list", "object")])),
    st.builds(lambda raw: json.dumps({"type": "pong", "data": RAW}).replace(json.dumps(RAW), raw),
              st.sampled_from(HUGE_NUMBERS + DEEP_LITERALS)),
    # as deep as fits in max_message_bytes (64 KiB)
    st.sampled_from([nested(30_000), nested(10_000, "object")]),
)


@fuzz_settings()
@given(frame=WS_FRAMES)
async def test_ws_bad_frames_get_error_frames_and_the_connection_stays(
    ws_peer: WsPeer, frame: str | bytes
) -> None:
    try:
        await ws_exchange(ws_peer, frame)
    except BaseException:
        ws_peer.ws = None  # a failing example must not leave a broken connection to the next
        raise


async def ws_exchange(ws_peer: WsPeer, frame: str | bytes) -> None:
    expected = expected_ws_reply(frame)
    ws = await ws_peer.connected()
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    else:
        await ws.send_str(frame)
    ws_peer.probes += 1
    probe = f"probe-{ws_peer.probes}"
    await ws.send_str(json.dumps({"type": "ping", "data": probe}))
    ws_peer.frames += 2
    if expected is not None:
        reply = await ws_peer.receive()
        assert reply["topic"] == "tables"
        if expected[0] == "error":
            assert reply["type"] == "error", reply
            assert reply["data"]["code"] == expected[1] and isinstance(reply["data"]["detail"], str)
        else:
            assert reply == {"type": "pong", "topic": "tables", "data": expected[1]}
    assert await ws_peer.receive() == {"type": "pong", "topic": "tables", "data": probe}


async def test_ws_deeply_nested_ping_data_is_an_error(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    server = await make_server()
    ws = await session.ws_connect(ws_url(server, "tables"))
    await receive_json(ws)
    await ws.send_str('{"type": "ping", "data": ' + nested(300) + "}")
    reply = await receive_json(ws)
    assert reply["type"] == "error" and reply["data"]["code"] == "bad_message"
    await ws.send_str('{"type": "ping", "data": 1}')
    assert (await receive_json(ws))["type"] == "pong"
    await ws.close()


async def test_ws_invalid_utf8_text_frame_closes_1007_and_others_are_served(
    make_server: MakeServer, session: aiohttp.ClientSession
) -> None:
    """Not JSON-level bad input but a broken frame: aiohttp closes it 1007 (RFC 6455 §8.1)."""
    server = await make_server()
    ws = await session.ws_connect(ws_url(server, "tables"))
    await receive_json(ws)
    await ws._writer.send_frame(b"\xff\xfe{", aiohttp.WSMsgType.TEXT)  # what send_str cannot
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 1007
    other = await session.ws_connect(ws_url(server, "tables"))
    await receive_json(other)
    await other.send_str('{"type": "ping", "data": 1}')
    assert (await receive_json(other))["type"] == "pong"
    await other.close()


# ---- REST bodies and query strings ----

@dataclass
class RestPeer:
    server: TestServer
    session: aiohttp.ClientSession
    ids: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    async def healthy(self) -> None:
        async with self.session.get(self.server.make_url("/healthz")) as resp:
            assert resp.status == 200 and await resp.json() == {"status": "ok"}


@pytest.fixture
async def rest_peer(make_server: MakeServer) -> AsyncIterator[RestPeer]:
    async with aiohttp.ClientSession() as session:
        peer = RestPeer(await make_server(), session)
        auth = {"Authorization": f"Bearer {ADMIN}"}
        for kind, body in (("tables", {"label": "T1", "seats": 4}),
                           ("customers", {"name": "Ada", "party_size": 2}),
                           ("inventory", {"sku": "rice", "name": "Rice", "quantity": 10}),
                           ("menu", {"name": "Kimbap", "price": 5000,
                                     "options": [{"name": "Extra egg", "price": 1000}]})):
            async with session.post(peer.server.make_url(f"/api/{kind}"), json=body,
                                    headers=auth) as resp:
                assert resp.status == 201, await resp.text()
                peer.ids[kind] = (await resp.json())["id"]
        async with session.post(peer.server.make_url("/api/orders"), headers=auth, json={
                "table_id": peer.ids["tables"], "items": [{"name": "Soup", "qty": 1}]}) as resp:
            assert resp.status == 201
            peer.ids["orders"] = (await resp.json())["id"]
        yield peer
        await peer.healthy()


VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "orders"): {"table_id": 1, "items": [{"name": "Soup", "qty": 2, "note": "hot",
                                                   "modifiers": ["no salt"], "price": 500},
                                                  {"menu_id": 1, "options": ["Extra egg"]}],
                         "note": "n"},
    ("POST", "menu"): {"name": "Bibimbap", "category": "mains", "price": 11000,
                       "names": {"ko": "비빔밥"}, "descriptions": {"en": "Rice"},
                       "allergens": ["eggs"], "options": [{"name": "Large", "price": 3000}],
                       "position": 2},
    ("PATCH", "menu"): {"price": 12000, "names": {"en": "Bowl"}, "allergens": ["sesame"],
                        "options": [{"name": "Extra egg", "names": {"en": "Egg"}, "price": 0}],
                        "position": -1, "available": False},
    ("PATCH", "orders"): {"status": "preparing", "items": [{"index": 0, "done": True}],
                          "robot_id": None},
    ("PATCH", "inventory"): {"quantity": 5, "delta": -1, "low_threshold": 2, "name": "Rice",
                             "unit": "kg"},
    ("POST", "customers"): {"name": "Bo", "phone": "123", "party_size": 2, "status": "waiting",
                            "table_id": None},
}
ENDPOINTS = sorted(VALID_BODIES)
ID_TEXT = st.one_of(
    st.just("{known}"), st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "-1", "1e3", "0x1", " 1", "1 ", "\u0663", "\u00b2", "%", "%00",
                     "9223372036854775808", "-9223372036854775809", "1" * 400]),
    st.text(min_size=1, max_size=20),
).filter(lambda s: s not in (".", ".."))


@st.composite
def rest_body(draw: st.DrawFn, endpoint: tuple[str, str]) -> bytes:
    valid = VALID_BODIES[endpoint]
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return draw(st.binary(max_size=200))
    if choice == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    if choice == 2:  # one field dropped, given a wrong value or a raw hostile literal
        body = dict(valid)
        name = draw(st.sampled_from(sorted(body) + ["unknown_field"]))
        how = draw(st.integers(0, 2))
        if how == 0:
            body.pop(name, None)
            return json.dumps(body).encode()
        if how == 1:
            body[name] = draw(JSON_VALUES)
            return json.dumps(body).encode()
        body[name] = RAW
        return dump(body, draw(RAW_LITERALS))
    if choice == 3:  # a nested item with a wrong field
        body = json.loads(json.dumps(valid))
        lists = [k for k, v in body.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if lists:
            key = draw(st.sampled_from(lists))
            item = body[key][0]
            item[draw(st.sampled_from(sorted(item) + ["extra"]))] = draw(JSON_VALUES)
        return json.dumps(body).encode()
    if choice == 4:
        return cut_utf8(json.dumps(valid, ensure_ascii=False).encode(), draw(st.integers(0, 500)))
    if choice == 5:
        return b"x" * draw(st.sampled_from([64 * 1024 + 1, 200_000]))
    return json.dumps(valid).encode()


QUERY = st.lists(st.tuples(st.sampled_from(["token", "since", "epoch", "limit", "x"])
                           | st.text(max_size=8), st.text(max_size=20)), max_size=4)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8",
                                 "text/plain", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "", None])
TOKENS = st.sampled_from([ADMIN, ADMIN, ADMIN, "kitchen-token-test", "robot-token-test", "nope",
                          "", None])


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


async def check_rest_answer(resp: aiohttp.ClientResponse) -> None:
    body = await resp.read()
    no_traceback(body)
    assert resp.status in REST_STATUSES, (resp.status, body[:300])
    if resp.status == 204:
        return
    decoded = orjson.loads(body)
    if resp.status >= 400:
        assert set(decoded) == {"error"} and set(decoded["error"]) == {"code", "message"}, decoded
        assert decoded["error"]["code"] == REST_ERRORS[resp.status], decoded
        assert isinstance(decoded["error"]["message"], str)


@fuzz_settings()
@given(data=st.data())
async def test_rest_bodies_get_documented_statuses_and_never_500(
    rest_peer: RestPeer, data: st.DataObject
) -> None:
    method, kind = data.draw(st.sampled_from(ENDPOINTS), label="endpoint")
    path = f"/api/{kind}"
    if method == "PATCH":
        row = data.draw(ID_TEXT, label="id").replace("{known}", str(rest_peer.ids[kind]))
        path += "/" + quote(row, safe="")
    body = data.draw(rest_body((method, kind)), label="body")
    content_type = data.draw(CONTENT_TYPES, label="content_type")
    token = data.draw(TOKENS, label="token")
    query = data.draw(QUERY, label="query")
    chunked = data.draw(st.booleans(), label="chunked")
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = rest_peer.server.make_url("/").with_path(path, encoded=True)
    if query:
        url = url.with_query(query_string(query))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start:start + 16 * 1024]

    async with rest_peer.session.request(method, url, headers=headers,
                                         data=chunks() if chunked else body) as resp:
        await check_rest_answer(resp)
    rest_peer.requests += 1
    if rest_peer.requests % 10 == 0:
        await rest_peer.healthy()


# Small real pictures the photo fuzzer starts from, one of each type it takes.
PHOTOS = {"image/jpeg": jpeg((48, 32), orientation=6),
          "image/png": encoded(halves((48, 32)), "PNG"),
          "image/webp": encoded(halves((48, 32)), "WEBP")}


@st.composite
def photo_body(draw: st.DrawFn) -> bytes:
    """A real picture with some bytes changed, cut short, or random bytes."""
    data = bytearray(PHOTOS[draw(st.sampled_from(sorted(PHOTOS)))])
    how = draw(st.integers(0, 2))
    if how == 0:
        for at, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1),
                                                 st.integers(0, 255)), max_size=8)):
            data[at] = value
        return bytes(data)
    if how == 1:
        return bytes(data[:draw(st.integers(0, len(data)))])
    return draw(st.binary(max_size=300))


@fuzz_settings()
@given(data=st.data())
async def test_photo_uploads_get_documented_statuses_and_never_500(
    rest_peer: RestPeer, data: st.DataObject
) -> None:
    body = data.draw(photo_body(), label="body")
    content_type = data.draw(st.sampled_from([*PHOTOS, "image/gif", "text/plain", None]),
                             label="content_type")
    token = data.draw(TOKENS, label="token")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = rest_peer.server.make_url(f"/api/menu/{rest_peer.ids['menu']}/image")
    async with rest_peer.session.post(url, headers=headers, data=body) as resp:
        await check_rest_answer(resp)
    rest_peer.requests += 1
    if rest_peer.requests % 10 == 0:
        await rest_peer.healthy()


@fuzz_settings()
@given(topic=st.sampled_from(TOPICS) | st.text(min_size=1, max_size=20),
       query=QUERY, token=TOKENS)
async def test_rest_topic_reads_with_random_query_strings(
    rest_peer: RestPeer, topic: str, query: list[tuple[str, str]], token: str | None
) -> None:
    assume(topic not in (".", ".."))
    url = rest_peer.server.make_url("/").with_path(f"/api/{quote(topic, safe='')}", encoded=True)
    if query:
        url = url.with_query(query_string(query))
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with rest_peer.session.get(url, headers=headers) as resp:
        await check_rest_answer(resp)
        if resp.status == 200:
            answer = await resp.json()
            assert set(answer) >= {"items", "seq", "epoch"} or topic == "me"
    await rest_peer.healthy()

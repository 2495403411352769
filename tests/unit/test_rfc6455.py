"""The text frame a publish writes straight to an idle socket is, byte for byte, the one
aiohttp's own writer sends (RFC 6455 §5.2: the 7-bit, 16-bit and 64-bit lengths)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp._websocket.writer import WebSocketWriter

from robodyne.wire.rfc6455 import text_frame


class Wire:
    """A transport that keeps what is written."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False


class Protocol:
    _paused = False


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
async def test_the_frame_is_aiohttps_for_every_length_class(length: int) -> None:
    wire = Wire()
    protocol: Any = Protocol()
    writer = WebSocketWriter(protocol, wire, use_mask=False, compress=0)  # type: ignore[arg-type]
    payload = b"x" * length
    await writer.send_frame(payload, WSMsgType.TEXT)
    assert text_frame(payload) == wire.written

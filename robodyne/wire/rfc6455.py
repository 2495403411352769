"""RFC 6455 §5.2: the bytes of a server's text frame (FIN, unmasked, uncompressed) — what
aiohttp's writer sends for one, built here so a publish can hand a frame to an idle socket in
the same step (web/connection.py, Connection.write_now)."""

from __future__ import annotations

from typing import Final

_TEXT_FIN: Final = 0x81
_LEN_16: Final = 126
_LEN_64: Final = 127


def text_frame(payload: bytes) -> bytes:
    """The whole frame carrying `payload` as one text message."""
    length = len(payload)
    if length < _LEN_16:
        header = bytes((_TEXT_FIN, length))
    elif length < 1 << 16:
        header = bytes((_TEXT_FIN, _LEN_16)) + length.to_bytes(2, "big")
    else:
        header = bytes((_TEXT_FIN, _LEN_64)) + length.to_bytes(8, "big")
    return header + payload

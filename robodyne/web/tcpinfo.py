"""What the kernel knows about a TCP socket's progress (Linux TCP_INFO), for frozen-peer checks.

On loopback the kernel accepts megabytes for a peer that reads nothing, so "the socket took
the bytes" says little; "the peer acknowledged bytes" is what shows a tablet is alive.
"""

from __future__ import annotations

import socket
from typing import Final, NamedTuple

# Offsets in struct tcp_info (linux/tcp.h), stable since Linux 4.6.
_BYTES_ACKED: Final = slice(120, 128)
_NOTSENT_BYTES: Final = slice(144, 148)
_SIZE: Final = 160


class Progress(NamedTuple):
    acked: int  # bytes the peer has acknowledged, ever
    unsent: int  # bytes waiting in our kernel buffer for the peer's window to open


def progress(sock: socket.socket | None) -> Progress | None:
    """The socket's progress, or None where TCP_INFO is not available."""
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _SIZE)
    except OSError:
        return None
    if len(info) < _SIZE:
        return None
    return Progress(int.from_bytes(info[_BYTES_ACKED], "little"),
                    int.from_bytes(info[_NOTSENT_BYTES], "little"))

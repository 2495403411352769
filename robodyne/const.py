"""Protocol constants shared by the WebSocket, TCP and REST sides."""

from enum import IntEnum
from typing import Final

STATE_TOPICS: Final = ("robots", "tables", "orders", "customers", "inventory", "video_streams")
LOG_TOPICS: Final = ("events", "systemlogs")
TOPICS: Final = (*STATE_TOPICS, *LOG_TOPICS, "status")

TOKEN_COOKIE: Final = "robodyne_token"

# Orders closed longer ago than this drop out of the orders snapshot (SPEC §3.3).
CLOSED_ORDER_WINDOW_S: Final = 3600

# A client may burst this many frames, then sustain RATE_LIMIT_PER_S (SPEC §3.6).
RATE_LIMIT_PER_S: Final = 50
RATE_LIMIT_BURST: Final = 100

# How long a close handshake may take before the socket is closed under the client.
CLOSE_TIMEOUT_S: Final = 3.0
# A client closed as slow gets longer: a tablet that wakes up within this reads what was
# buffered, then its 4008, and knows to resume. Nothing more is queued for it meanwhile.
SLOW_CLOSE_TIMEOUT_S: Final = 30.0

# Clients are told to wait this long, plus jitter, before reconnecting after a shutdown.
RECONNECT_AFTER_MS: Final = (1000, 5000)


class Close(IntEnum):
    """WebSocket close codes of SPEC §3.1, §3.5 and §3.6."""

    GOING_AWAY = 1001
    UNSUPPORTED = 1003
    POLICY = 1008
    TOO_BIG = 1009
    PONG_TIMEOUT = 4000
    SLOW = 4008
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403

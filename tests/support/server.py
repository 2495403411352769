"""A real server's settings, URLs and frames, and reads of its SQLite file from outside."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from robodyne.app import PARTS, Parts
from robodyne.live.hub import Hub
from robodyne.settings import Settings
from robodyne.store.store import Store

TOKENS = {
    "admin-token-test": "admin",
    "kitchen-token-test": "kitchen",
    "floor-token-test": "floor",
    "maintenance-token-test": "maintenance",
    "robot-token-test": "robot",
}
ADMIN = "admin-token-test"

MakeServer = Callable[..., Awaitable[TestServer]]


def make_settings(db_path: Path, **sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "database": {"path": db_path},
        "auth": {"tokens": TOKENS},
        "server": {"port": 0},
        "tcp": {"port": 0, "host": "127.0.0.1"},
        # Tests of the order API move orders by hand, and robots of the protocol tests report
        # any battery without being sent to charge; the dispatch tests turn both back on.
        "dispatch": {"auto_deliver": False, "charge_below": 0},
        # No scheduled backup (tests/integration/test_backup.py has its own), and none in the
        # working directory.
        "backup": {"dir": db_path.parent / "backups", "interval_h": 0},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return Settings.model_validate(raw)


def ws_url(server: TestServer, topic: str, token: str | None = ADMIN, **query: Any) -> str:
    params = {"token": token, **query} if token else query
    url = server.make_url(f"/ws/{topic}")
    return str(url.with_query({k: str(v) for k, v in params.items()}))


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type} {msg.data!r}"
    decoded: dict[str, Any] = orjson.loads(msg.data)
    return decoded


async def receive_close(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> int | None:
    """Read past any data frames until the server's close; return its code."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.CLOSING):
            return ws.close_code
        if msg.type is aiohttp.WSMsgType.ERROR:
            return ws.close_code


def parts_of(server: TestServer) -> Parts:
    return server.app[PARTS]


def hub_of(server: TestServer) -> Hub:
    return parts_of(server).hub


def store_of(server: TestServer) -> Store:
    return parts_of(server).store


def db_path(where: TestServer | Path) -> Path:
    """The SQLite file of a test server, or the file itself."""
    return parts_of(where).settings.database.path if isinstance(where, TestServer) else where


def db_rows(where: TestServer | Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    """Read through a separate SQLite connection, as an operator would: only committed data
    is visible there (WAL lets a reader in beside the server)."""
    with closing(sqlite3.connect(db_path(where), timeout=10)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


def db_write(where: TestServer | Path, sql: str, *params: Any) -> int | None:
    """A write from outside the server, as another program would make it; its lastrowid."""
    with closing(sqlite3.connect(db_path(where), timeout=10)) as db, db:
        return db.execute(sql, params).lastrowid


def events_of(server: TestServer, type_: str) -> list[sqlite3.Row]:
    return db_rows(server, "SELECT * FROM events WHERE type = ? ORDER BY id", type_)

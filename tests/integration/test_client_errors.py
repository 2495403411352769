"""Requests aiohttp cannot parse are the client's fault: no systemlogs record, no traceback;
an exception in a request handler is the server's, and still is one."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from robodyne.app import create_app

from ..support.server import db_rows, make_settings
from ..support.wait import until

MALFORMED = (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
             b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n")


async def send_raw(server: TestServer, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(payload)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a handler")


async def test_malformed_requests_write_nothing_but_a_handler_exception_is_an_error(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(tmp_path / "robodyne.db"))
    app.router.add_get("/test-boom", boom)  # the one handler here that fails
    server: TestServer = await aiohttp_server(app)
    for n in range(200):
        assert await send_raw(server, MALFORMED[n % len(MALFORMED)]) == (
            b"HTTP/1.0 400 Bad Request")
    assert await send_raw(server, b"GET /test-boom HTTP/1.1\r\nHost: x\r\n\r\n") == (
        b"HTTP/1.1 500 Internal Server Error")
    await until(lambda: db_rows(server, "SELECT 1 FROM systemlogs"))
    await asyncio.sleep(0.3)  # anything else on its way would be stored by now
    rows = [tuple(r) for r in db_rows(
        server, "SELECT level, source, message, repeats FROM systemlogs")]
    assert rows == [
        ("ERROR", "server", "aiohttp.server: Error handling request from 127.0.0.1", 1)]
    parsed = [r for r in caplog.records if r.name == "aiohttp.server"]
    errors = [r for r in parsed if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.exc_info and type(r.exc_info[1])) for r in errors] == [
        ("ERROR", RuntimeError)]
    # The 200 refused requests: one INFO line that counts them as they start, no traceback.
    infos = [r for r in parsed if r.levelno == logging.INFO]
    assert len(infos) == 1 and not infos[0].exc_info
    assert "malformed HTTP request(s) refused with 400" in infos[0].getMessage()

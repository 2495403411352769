"""Refused tokens from many addresses (SPEC §5, docs/operations.md "What the server refuses")
through real sockets from 300 source addresses (127.0.0.0/8 is all this host's): one WARNING
with the first address and, with the next refusal after that minute, one count of the rest;
never a systemlogs row per address."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from ..support.server import db_rows, parts_of
from ..support.wait import until

ADDRESSES = [f"127.0.{n // 200 + 1}.{n % 200 + 1}" for n in range(300)]


async def hello_from(server: TestServer, address: str) -> None:
    """A robot hello with a guessed token from `address`, read until the server closes."""
    port = parts_of(server).robot_server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    writer.write(orjson.dumps({"type": "hello", "token": f"guess-{address}",
                               "robot_id": "r1"}) + b"\n")
    await writer.drain()
    assert b"unauthorized" in await reader.readline()
    writer.close()
    await writer.wait_closed()


def auth_rows(server: TestServer) -> list[str]:
    return [row["message"] for row in db_rows(
        server, "SELECT message FROM systemlogs WHERE message LIKE 'robodyne.auth:%' ORDER BY id")]


async def test_refusals_from_300_addresses_are_one_row_not_300(
        server: TestServer, session: aiohttp.ClientSession,
        monkeypatch: pytest.MonkeyPatch) -> None:
    refusals = parts_of(server).auth.refusals
    for batch in range(0, len(ADDRESSES), 50):
        await asyncio.gather(*(hello_from(server, a) for a in ADDRESSES[batch:batch + 50]))
    async with session.get(server.make_url("/api/orders"),
                           headers={"Authorization": "Bearer guess-http"}) as response:
        assert response.status == 401
    assert refusals.count == 301
    await until(lambda: auth_rows(server))
    [first] = auth_rows(server)
    assert first.split(" from ")[1].split(":")[0] in ADDRESSES, first
    assert "gues…" in first and "guess" not in first, first

    # The next minute's first refusal brings the count of the one before.
    monkeypatch.setattr(refusals, "EVERY_S", 0.0)
    await hello_from(server, "127.0.9.9")
    await until(lambda: len(auth_rows(server)) == 3)
    count, latest = auth_rows(server)[1:]
    assert "300 more request(s) from 300 address(es)" in count, count
    assert "127.0.9.9" in latest, latest

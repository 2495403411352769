"""No response names the server's software or version, not even the 400 aiohttp writes for a
request too malformed to reach the application (docs/operations.md, "What the server refuses")."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer


async def test_a_malformed_request_gets_a_400_that_names_no_software(server: TestServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GARBAGE\r\n\r\n")
    await writer.drain()
    head = (await asyncio.wait_for(reader.read(4096), 5)).decode(errors="replace")
    writer.close()
    status, *headers = head.split("\r\n\r\n")[0].split("\r\n")
    assert status.endswith("400 Bad Request"), head
    named = [h for h in headers if h.lower().startswith("server:")]
    assert all(h.split(":", 1)[1].strip() == "" for h in named), named
    assert "aiohttp" not in head and "Python" not in head

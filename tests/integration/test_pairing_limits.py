"""Pairing that a stranger cannot turn against a real tablet (SPEC §7; docs/operations.md,
"Pairing a tablet"): wrong codes limited per address, tried from distinct loopback addresses
through real sockets, and a code never spent by a redeem that fails."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne import tokenfile
from robodyne.core.pairing import MAX_MISSES_PER_PEER

from ..support.api_client import Api
from ..support.server import parts_of

Tablet = Callable[[int], Awaitable[aiohttp.ClientSession]]


@pytest.fixture
async def from_address() -> AsyncIterator[Tablet]:
    """A client whose connections come from 127.0.0.N (every 127/8 address is this host)."""
    made: list[aiohttp.ClientSession] = []

    async def make(n: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{n}", 0))
        made.append(aiohttp.ClientSession(connector=connector))
        return made[-1]
    yield make
    for client in made:
        await client.close()


async def _code(api: Api) -> str:
    made = await api.ok("POST", "/api/pairing", {"role": "kitchen", "label": "grill"}, 201)
    return str(made["code"])


async def _login(client: aiohttp.ClientSession, server: TestServer,
                 secret: str) -> tuple[int, str | None]:
    """The status of POST /login and the token cookie it set, if any."""
    async with client.post(server.make_url("/login"), data={"secret": secret, "next": "/"},
                           allow_redirects=False) as response:
        await response.read()
        cookie = response.cookies.get("robodyne_token")
        return response.status, cookie.value if cookie is not None else None


def _wrong(code: str, n: int) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


async def test_a_hundred_wrong_codes_from_ten_addresses_lock_only_those_ten(
        server: TestServer, api: Api, from_address: Tablet) -> None:
    code = await _code(api)
    strangers = [await from_address(n) for n in range(2, 12)]
    for k, stranger in enumerate(strangers):
        for n in range(MAX_MISSES_PER_PEER):
            assert await _login(stranger, server, _wrong(code, 1 + k * 10 + n)) == (303, None)
    for stranger in strangers:
        assert (await _login(stranger, server, code))[0] == 429
    # The eleventh address: the code made before the guessing still works from there.
    tablet = await from_address(12)
    status, token = await _login(tablet, server, code)
    assert status == 303 and token is not None
    assert token in tokenfile.read_tokens(parts_of(server).tokens.path)


async def test_a_new_code_works_at_once_from_an_address_that_never_guessed_wrong(
        server: TestServer, api: Api, from_address: Tablet) -> None:
    stranger, tablet = await from_address(2), await from_address(3)
    old = await _code(api)
    for n in range(MAX_MISSES_PER_PEER):
        await _login(stranger, server, _wrong(old, n + 1))
    assert (await _login(stranger, server, old))[0] == 429
    new = await _code(api)
    status, token = await _login(tablet, server, new)
    assert status == 303 and token is not None
    # The address that guessed stays refused, the right code or not.
    assert (await _login(stranger, server, await _code(api)))[0] == 429


@pytest.mark.parametrize("content", ["[tokens\n", "", "tokens = 3\n"])
async def test_a_redeem_that_cannot_write_the_file_answers_503_and_spends_no_code(
        server: TestServer, api: Api, from_address: Tablet, tmp_path: Path,
        content: str) -> None:
    tablet = await from_address(2)
    code = await _code(api)
    path = tmp_path / "tokens.toml"
    path.write_text(content)
    assert await _login(tablet, server, code) == (503, None)
    assert path.read_text() == content
    assert parts_of(server).login.codes.live == 1
    path.unlink()  # the operator puts a good file back (here: none, as before the start)
    status, token = await _login(tablet, server, code)
    assert status == 303 and token is not None and token in tokenfile.read_tokens(path)
    # Spent now, and a failed redeem was no wrong guess.
    assert await _login(tablet, server, code) == (303, None)


async def test_a_redeem_waits_for_the_command_line_s_lock_and_the_server_goes_on_serving(
        server: TestServer, api: Api, from_address: Tablet, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tablet = await from_address(2)
    code = await _code(api)
    held = os.open(tokenfile.lock_path(tmp_path / "tokens.toml"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as `robodyne tokens` holds it, from another file
        monkeypatch.setattr(tokenfile, "LOCK_WAIT_S", 0.5)
        assert await _login(tablet, server, code) == (503, None)
        monkeypatch.setattr(tokenfile, "LOCK_WAIT_S", 30.0)
        waiting = asyncio.ensure_future(_login(tablet, server, code))
        # While the redeem waits for the lock, the loop serves everyone else.
        for _ in range(5):
            assert (await api.call("GET", "/api/orders")).status == 200
        assert not waiting.done()
    finally:
        os.close(held)
    status, token = await waiting
    assert status == 303 and token in tokenfile.read_tokens(tmp_path / "tokens.toml")

"""tokens.toml changed at once by `robodyne tokens revoke` processes and by tablets pairing
through a real server (docs/operations.md, "Tokens"): no change is lost to another, and a
token the command line said it revoked answers 401 for good."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant

from ..support.api_client import Api
from ..support.process import clean_env
from ..support.server import MakeServer, parts_of
from ..support.wait import until

CONCURRENT_REVOKES = 4
PAIR_EVERY_S = 0.03


async def _revoke(tmp_path: Path, token: str) -> str:
    """`robodyne tokens revoke` in a process of its own; what it printed."""
    config = tmp_path / "cli.toml"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robodyne", "--config", str(config),
        "--db", str(tmp_path / "robodyne.db"), "tokens", "revoke", token[:16],
        env=clean_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def _pair(api: Api, session: aiohttp.ClientSession, server: TestServer) -> str:
    """A tablet paired through /login with a code the admin made: its new token."""
    code = (await api.ok("POST", "/api/pairing", {"role": "kitchen", "label": "tablet"},
                         201))["code"]
    async with session.post(server.make_url("/login"), data={"secret": code, "next": "/"},
                            allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        return response.cookies["robodyne_token"].value


async def _answers(session: aiohttp.ClientSession, server: TestServer, token: str) -> int:
    async with session.get(server.make_url("/api/orders"),
                           headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def _race(make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    monkeypatch.setattr(tokenfile, "WATCH_EVERY_S", 0.2)
    (tmp_path / "cli.toml").write_text("")
    path = tmp_path / "tokens.toml"
    doomed = {tokenfile.new_token(): Grant(Role.KITCHEN, None, "doomed") for _ in range(rounds)}
    tokenfile.write_tokens(path, doomed)
    server = await make_server()
    api = Api(session, server)
    limit = asyncio.Semaphore(CONCURRENT_REVOKES)

    async def revoke(token: str) -> None:
        async with limit:
            assert (await _revoke(tmp_path, token)).startswith("revoked "), token

    revoking = asyncio.gather(*(revoke(token) for token in doomed))
    paired: list[str] = []
    while not revoking.done():
        paired.append(await _pair(api, session, server))
        await asyncio.sleep(PAIR_EVERY_S)
    await revoking

    stored = tokenfile.read_tokens(path)
    assert not set(doomed) & set(stored), "a revoked token came back into the file"
    assert set(paired) <= set(stored), "a paired token was lost from the file"
    book = parts_of(server).tokens.book
    await until(lambda: all(book.grant(token) is None for token in doomed), timeout=10.0,
                what="every revoked token dropped by the server")
    assert {await _answers(session, server, token) for token in doomed} == {401}
    assert {await _answers(session, server, token) for token in paired} == {200}


async def test_revocations_and_pairings_at_once_lose_nothing_and_undo_nothing(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await _race(make_server, session, tmp_path, monkeypatch, rounds=16)


@pytest.mark.slow
async def test_hundreds_of_revocations_among_pairings_lose_nothing_and_undo_nothing(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await _race(make_server, session, tmp_path, monkeypatch, rounds=300)

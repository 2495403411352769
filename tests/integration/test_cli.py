"""`python -m robodyne tokens list|add|revoke` on a real tokens.toml, and a running server
process that picks its changes up within 5 s (docs/operations.md, "Tokens")."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, token_id
from robodyne.tokenfile import write_tokens

from ..support.process import ServerProcess, clean_env
from ..support.wait import until

ADMIN = "cli-test-admin-token-0123456789"
CONFIG = f'[websocket]\nping_interval_s = 300\n[auth.tokens]\n"{ADMIN}" = "admin"\n'


def robodyne(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "cli.toml"
    if not config.exists():
        config.write_text(CONFIG)
    return subprocess.run(
        [sys.executable, "-m", "robodyne", "--config", str(config),
         "--db", str(tmp_path / "data" / "robodyne.db"), *args],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=30)


def stored(tmp_path: Path) -> dict[str, Any]:
    with (tmp_path / "data" / "tokens.toml").open("rb") as file:
        tokens: dict[str, Any] = tomllib.load(file)["tokens"]
    return tokens


def test_add_prints_a_new_token_once_and_list_never_prints_one(tmp_path: Path) -> None:
    added = robodyne(tmp_path, "tokens", "add", "--role", "kitchen", "--label", "grill tablet")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert len(token) >= 16 and "\n" not in token
    bound = robodyne(tmp_path, "tokens", "add", "--role", "robot", "--robot-id", "bot-7")
    robot_token = bound.stdout.strip()
    path = tmp_path / "data" / "tokens.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    made = stored(tmp_path)
    created = [made[t].pop("created_at") for t in (token, robot_token)]
    assert made == {token: {"role": "kitchen", "label": "grill tablet"},
                    robot_token: {"role": "robot:bot-7"}}
    assert all(abs(datetime.now(timezone.utc) - at) < timedelta(minutes=1) for at in created)

    listed = robodyne(tmp_path, "tokens", "list")
    assert listed.returncode == 0, listed.stderr
    for whole in (token, robot_token, ADMIN):
        assert whole not in listed.stdout
    lines = listed.stdout.splitlines()
    assert any(line.startswith(token[:4] + "…") and "kitchen" in line and "grill tablet" in line
               and token_id(token) in line for line in lines), lines
    assert any(line.startswith(robot_token[:4] + "…") and "robot:bot-7" in line
               for line in lines), lines
    assert any(line.startswith(ADMIN[:4] + "…") and "config" in line for line in lines), lines


@pytest.mark.parametrize(("args", "says"), [
    (["add", "--role", "superuser"], "invalid choice"),
    (["add", "--role", "kitchen", "--robot-id", "bot-1"], "--role robot"),
    (["add", "--role", "robot", "--robot-id", "bad id"], "robot id"),
    (["revoke", "ab"], "at least 4"),
    (["revoke", "zzzzzz"], "no token"),
    (["revoke", ADMIN[:6]], "config"),
])
def test_a_wrong_tokens_command_says_why_and_changes_nothing(
        tmp_path: Path, args: list[str], says: str) -> None:
    first = robodyne(tmp_path, "tokens", "add", "--role", "floor").stdout.strip()
    result = robodyne(tmp_path, "tokens", *args)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert list(stored(tmp_path)) == [first]


def test_revoke_takes_a_prefix_and_refuses_an_ambiguous_one(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    twins = ["same-prefix-token-one-0123", "same-prefix-token-two-0123"]
    write_tokens(tmp_path / "data" / "tokens.toml", {t: Grant(Role.FLOOR) for t in twins})
    ambiguous = robodyne(tmp_path, "tokens", "revoke", "same-prefix")
    assert ambiguous.returncode == 2 and "2 tokens start with" in ambiguous.stderr
    assert list(stored(tmp_path)) == twins
    revoked = robodyne(tmp_path, "tokens", "revoke", "same-prefix-token-one")
    assert revoked.returncode == 0, revoked.stderr
    assert twins[0] not in revoked.stdout and "same…" in revoked.stdout
    assert list(stored(tmp_path)) == [twins[1]]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(tmp_path, CONFIG)
    await process.start()
    yield process
    process.kill()


async def _until_accepted(session: aiohttp.ClientSession, url: str, deadline_s: float) -> float:
    """Seconds until the server lets this token read the topic."""
    async def accepted() -> bool:
        async with session.ws_connect(url) as ws:
            return (await ws.receive(timeout=5)).type is WSMsgType.TEXT
    started = time.monotonic()
    await until(accepted, deadline_s, "the token accepted", every=0.2)
    return time.monotonic() - started


async def test_a_running_server_takes_an_added_token_and_drops_a_revoked_one_within_5_s(
        tmp_path: Path, server: ServerProcess) -> None:
    token = robodyne(tmp_path, "tokens", "add", "--role", "kitchen", "--label", "pass").stdout
    token = token.strip()
    async with aiohttp.ClientSession() as session:
        taken_after = await _until_accepted(session, server.ws_url("orders", token), 5.0)
        ws = await session.ws_connect(server.ws_url("orders", token))
        assert (await ws.receive(timeout=5)).type is WSMsgType.TEXT
        started = time.monotonic()
        assert robodyne(tmp_path, "tokens", "revoke", token[:10]).returncode == 0
        closing = await ws.receive(timeout=6)
        dropped_after = time.monotonic() - started
        assert (closing.type, closing.data) == (WSMsgType.CLOSE, 4401)
        async with session.ws_connect(server.ws_url("orders", token)) as again:
            refused = await again.receive(timeout=5)
            assert (refused.type, refused.data) == (WSMsgType.CLOSE, 4401)
    assert taken_after < 5 and dropped_after < 5
    assert token not in server.stderr()

"""The devices' tokens through a real server, real sockets and a real tokens.toml (SPEC §13
"Devices", docs/api.md "Devices"): GET /api/tokens lists every token by id and never the token;
DELETE /api/tokens/{id} revokes a file token as `robodyne tokens revoke` does, at once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, token_id

from ..support.api_client import Api, assert_error
from ..support.robot_client import RobotClient
from ..support.server import (ADMIN, TOKENS, MakeServer, db_rows, parts_of, receive_close,
                              receive_json, ws_url)

TABLET = "paired-kitchen-tablet-token-01"
HOST = "floor-host-stand-token-0001"
BOT = "bound-robot-token-for-bot-7"
OWNER = "second-admin-owner-token-01"
FILE_TOKENS = {TABLET: Grant(Role.KITCHEN, None, "grill tablet"),
               HOST: Grant(Role.FLOOR, None, "host stand"),
               BOT: Grant(Role.ROBOT, "bot-7", "runner"),
               OWNER: Grant(Role.ADMIN, None, "owner's phone")}
EVERY_TOKEN = [*TOKENS, *FILE_TOKENS]


@pytest.fixture
async def server(make_server: MakeServer, tmp_path: Path) -> TestServer:
    tokenfile.add_token(tmp_path / "tokens.toml", TABLET, FILE_TOKENS[TABLET])
    tokenfile.add_token(tmp_path / "tokens.toml", HOST, FILE_TOKENS[HOST])
    tokenfile.add_token(tmp_path / "tokens.toml", BOT, FILE_TOKENS[BOT])
    tokenfile.add_token(tmp_path / "tokens.toml", OWNER, FILE_TOKENS[OWNER])
    return await make_server()


async def listed(api: Api, token: str = ADMIN) -> dict[str, dict[str, Any]]:
    """GET /api/tokens by id; the body holds no token, whole."""
    reply = await api.call("GET", "/api/tokens", token=token)
    assert reply.status == 200, reply
    async with api.session.get(api.server.make_url("/api/tokens"),
                               headers={"Authorization": f"Bearer {token}"}) as response:
        raw = await response.text()
    assert not [whole for whole in EVERY_TOKEN if whole in raw], raw
    return {row["id"]: row for row in reply.body["items"]}


async def close_frame(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    """The server's close frame, past any data frames: its code and reason as sent (the
    client's own close_code may read 1006 when the server has gone before its reply)."""
    while (message := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
        pass
    assert message.type is aiohttp.WSMsgType.CLOSE, message
    return message.data, message.extra


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_list_shows_config_and_file_tokens_by_id_and_never_a_token(api: Api) -> None:
    reply = await api.call("GET", "/api/tokens")
    rows = reply.body["items"]
    assert [row["source"] for row in rows] == ["config"] * len(TOKENS) + ["file"] * 4
    by_id = await listed(api)
    assert set(by_id) == {token_id(token) for token in EVERY_TOKEN}
    assert by_id[token_id("kitchen-token-test")] == {
        "id": token_id("kitchen-token-test"), "role": "kitchen", "label": "", "robot_id": None,
        "source": "config", "created_at": None, "last_seen_at": None}
    bot = by_id[token_id(BOT)]
    assert (bot["role"], bot["label"], bot["robot_id"], bot["source"]) == (
        "robot", "runner", "bot-7", "file")
    tablet = by_id[token_id(TABLET)]
    assert (tablet["role"], tablet["label"], tablet["source"]) == (
        "kitchen", "grill tablet", "file")
    assert tablet["created_at"].endswith("Z") and tablet["last_seen_at"] is None
    # The request that lists them is the admin token's use.
    assert by_id[token_id(ADMIN)]["last_seen_at"] is not None


async def test_a_tokens_last_use_is_an_http_request_a_websocket_or_a_robot_hello(
        server: TestServer, api: Api, session: aiohttp.ClientSession) -> None:
    rows = await listed(api)
    assert [rows[token_id(t)]["last_seen_at"] for t in (TABLET, HOST, BOT)] == [None] * 3

    assert (await api.call("GET", "/api/orders", token=TABLET)).status == 200
    rows = await listed(api)
    assert rows[token_id(TABLET)]["last_seen_at"] is not None
    assert rows[token_id(HOST)]["last_seen_at"] is None

    async with session.ws_connect(ws_url(server, "tables", HOST)) as ws:
        assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    assert (await listed(api))[token_id(HOST)]["last_seen_at"] is not None

    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": BOT, "robot_id": "bot-7"})
    assert (await robot.receive())["type"] == "welcome"
    assert (await listed(api))[token_id(BOT)]["last_seen_at"] is not None
    await robot.close()

    # Later uses move it on; a refused one (403) is a use too: the token opened a request.
    before = (await listed(api))[token_id(TABLET)]["last_seen_at"]
    assert (await api.call("GET", "/api/customers", token=TABLET)).status == 403
    assert (await listed(api))[token_id(TABLET)]["last_seen_at"] > before


async def test_noting_a_use_writes_and_logs_nothing(
        server: TestServer, api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="robodyne")
    commits: list[float] = []
    parts_of(server).store.on_commit.append(commits.append)
    for _ in range(20):
        assert (await api.call("GET", "/api/orders", token=TABLET)).status == 200
    assert [r.getMessage() for r in caplog.records if r.name.startswith("robodyne")] == []
    assert commits == []
    assert (await listed(api))[token_id(TABLET)]["last_seen_at"] is not None


async def test_a_revoked_token_is_refused_at_once_its_sockets_close_and_it_stays_revoked(
        make_server: MakeServer, server: TestServer, api: Api,
        session: aiohttp.ClientSession, tmp_path: Path) -> None:
    ws = await session.ws_connect(ws_url(server, "orders", TABLET))
    assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    robot = await RobotClient.connect(server)
    await robot.send({"type": "hello", "token": BOT, "robot_id": "bot-7"})
    assert (await robot.receive())["type"] == "welcome"

    reply = await api.call("DELETE", f"/api/tokens/{token_id(TABLET)}")
    assert (reply.status, reply.body) == (204, b"")
    assert_error(await api.call("GET", "/api/orders", token=TABLET), 401, "unauthorized")
    assert await close_frame(ws) == (4401, "token revoked")
    assert TABLET not in tokenfile.read_tokens(tmp_path / "tokens.toml")
    assert token_id(TABLET) not in await listed(api)

    assert (await api.call("DELETE", f"/api/tokens/{token_id(BOT)}")).status == 204
    ended = await robot.closed_by_server()
    assert [line["code"] for line in ended if line["type"] == "error"] == ["unauthorized"]

    # A restart reads the file: the revoked tokens are not back.
    await server.close()
    again = await make_server()
    api = Api(session, again)
    assert_error(await api.call("GET", "/api/orders", token=TABLET), 401, "unauthorized")
    async with session.ws_connect(ws_url(again, "orders", TABLET)) as refused:
        assert await receive_close(refused) == 4401
    rows = await listed(api)
    assert token_id(TABLET) not in rows and token_id(BOT) not in rows
    assert token_id(HOST) in rows
    assert (await api.call("GET", "/api/orders", token=HOST)).status == 200


async def test_an_admin_may_revoke_their_own_token_and_is_out_at_once(
        server: TestServer, api: Api, session: aiohttp.ClientSession) -> None:
    ws = await session.ws_connect(ws_url(server, "systemlogs", OWNER))
    assert (await receive_json(ws))["data"]["kind"] == "snapshot"
    reply = await api.call("DELETE", f"/api/tokens/{token_id(OWNER)}", token=OWNER)
    assert reply.status == 204
    assert await close_frame(ws) == (4401, "token revoked")
    assert_error(await api.call("GET", "/api/tokens", token=OWNER), 401, "unauthorized")
    assert token_id(OWNER) not in await listed(api)


async def test_a_config_token_is_changed_only_in_the_config_file(
        api: Api, tmp_path: Path) -> None:
    before = (tmp_path / "tokens.toml").read_text()
    for token in (ADMIN, "robot-token-test"):
        message = assert_error(await api.call("DELETE", f"/api/tokens/{token_id(token)}"),
                               409, "config_token")
        assert "[auth.tokens]" in message and token not in message
    assert (tmp_path / "tokens.toml").read_text() == before
    assert (await api.call("GET", "/api/orders", token=ADMIN)).status == 200


@pytest.mark.parametrize("wanted", ["0123456789ab", "nothing", token_id(TABLET)[:6],
                                    token_id(TABLET) + "0"])
async def test_an_id_no_file_token_has_is_not_found(
        api: Api, tmp_path: Path, wanted: str) -> None:
    assert_error(await api.call("DELETE", f"/api/tokens/{wanted}"), 404, "not_found")
    assert set(tokenfile.read_tokens(tmp_path / "tokens.toml")) == set(FILE_TOKENS)


@pytest.mark.parametrize("token", ["kitchen-token-test", "floor-token-test",
                                   "maintenance-token-test", "robot-token-test", HOST, BOT])
async def test_only_an_admin_lists_or_revokes_tokens(api: Api, tmp_path: Path,
                                                     token: str) -> None:
    assert_error(await api.call("GET", "/api/tokens", token=token), 403, "forbidden")
    assert_error(await api.call("DELETE", f"/api/tokens/{token_id(TABLET)}", token=token),
                 403, "forbidden")
    assert TABLET in tokenfile.read_tokens(tmp_path / "tokens.toml")


@pytest.mark.parametrize("headers", [{}, bearer("not-a-token-anyone-issued")])
async def test_without_a_known_token_nothing_is_listed_or_revoked(
        api: Api, tmp_path: Path, headers: dict[str, str]) -> None:
    assert_error(await api.call("GET", "/api/tokens", token=None, headers=headers),
                 401, "unauthorized")
    assert_error(await api.call("DELETE", f"/api/tokens/{token_id(TABLET)}", token=None,
                                headers=headers), 401, "unauthorized")
    assert TABLET in tokenfile.read_tokens(tmp_path / "tokens.toml")


async def test_a_browser_revocation_from_another_site_is_refused(
        server: TestServer, api: Api, tmp_path: Path) -> None:
    reply = await api.call("DELETE", f"/api/tokens/{token_id(TABLET)}",
                           headers={"Origin": "http://evil.example"})
    assert_error(reply, 403, "forbidden")
    assert TABLET in tokenfile.read_tokens(tmp_path / "tokens.toml")


async def test_a_delete_with_an_idempotency_key_runs_once_and_keeps_no_key(
        server: TestServer, api: Api) -> None:
    headers = {"Idempotency-Key": "revoke-the-grill-tablet"}
    path = f"/api/tokens/{token_id(TABLET)}"
    assert (await api.call("DELETE", path, headers=headers)).status == 204
    # A DELETE is not a POST: the key is not read, and the token is gone for a retry too.
    assert_error(await api.call("DELETE", path, headers=headers), 404, "not_found")
    assert db_rows(server, "SELECT 1 FROM idempotency_keys") == []


async def test_a_token_file_that_cannot_be_read_revokes_nothing(
        server: TestServer, api: Api, tmp_path: Path) -> None:
    (tmp_path / "tokens.toml").write_text("[tokens\n")
    assert_error(await api.call("DELETE", f"/api/tokens/{token_id(TABLET)}"),
                 503, "unavailable")
    assert (tmp_path / "tokens.toml").read_text() == "[tokens\n"
    assert (await api.call("GET", "/api/orders", token=TABLET)).status == 200


async def test_a_paired_tablet_appears_in_the_list_with_its_role_and_label(
        server: TestServer, api: Api, session: aiohttp.ClientSession) -> None:
    before = set(await listed(api))
    code = (await api.ok("POST", "/api/pairing", {"role": "floor", "label": "patio tablet"},
                         201))["code"]
    async with session.post(server.make_url("/login"), data={"secret": code, "next": "/"},
                            allow_redirects=False) as response:
        assert response.status == 303
        paired = response.cookies["robodyne_token"].value
    rows = await listed(api)
    [new] = set(rows) - before
    assert new == token_id(paired) and paired not in str(rows)
    row = rows[new]
    assert (row["role"], row["label"], row["robot_id"], row["source"]) == (
        "floor", "patio tablet", None, "file")
    assert row["created_at"] is not None
    assert parts_of(server).tokens.book.grant(paired) == Grant(Role.FLOOR, None, "patio tablet")

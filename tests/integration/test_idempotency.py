"""Idempotency-Key (docs/api.md, "Idempotency") through the real REST API and SQLite file:
a retried POST gets the first answer again and changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.web.idempotency import Idempotency

from ..support.api_client import Api, Reply, assert_error
from ..support.robot_client import RobotClient
from ..support.server import MakeServer, db_rows, db_write, events_of, parts_of, store_of

KITCHEN = "kitchen-token-test"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def count(server: TestServer, table: str) -> int:
    [row] = db_rows(server, f"SELECT count(*) AS n FROM {table}")
    return int(row["n"])


def order_body(table_id: int, note: str = "") -> dict[str, Any]:
    return {"table_id": table_id, "note": note, "items": [{"name": "Soup", "qty": 2}]}


def replayed(reply: Reply, first: Reply, headers: dict[str, str]) -> None:
    assert (reply.status, reply.body, reply.content_type) == (
        first.status, first.body, first.content_type)
    assert headers.get("Idempotent-Replayed") == "true"


async def post(api: Api, path: str, body: Any, key: str, token: str = "admin-token-test"
               ) -> tuple[Reply, dict[str, str]]:
    """A POST with the key, and the answer's headers."""
    reply = await api.call("POST", path, body, token=token, headers=keyed(key))
    return reply, reply.headers


async def test_the_same_key_and_body_twice_make_one_order_and_get_the_first_answer(
        server: TestServer, api: Api) -> None:
    table = await api.table()
    first, first_headers = await post(api, "/api/orders", order_body(table["id"]), "k-1")
    assert first.status == 201 and "Idempotent-Replayed" not in first_headers
    again, headers = await post(api, "/api/orders", order_body(table["id"]), "k-1")
    replayed(again, first, headers)
    assert count(server, "orders") == 1
    assert len(events_of(server, "order_placed")) == 1


async def test_the_same_key_with_another_body_or_path_is_409_and_changes_nothing(
        server: TestServer, api: Api) -> None:
    table = await api.table()
    first, _ = await post(api, "/api/orders", order_body(table["id"], "one"), "k-2")
    assert first.status == 201
    other, _ = await post(api, "/api/orders", order_body(table["id"], "two"), "k-2")
    assert_error(other, 409, "conflict", "k-2")
    elsewhere, _ = await post(api, "/api/tables", {"label": "T2", "seats": 2}, "k-2")
    assert_error(elsewhere, 409, "conflict")
    assert count(server, "orders") == 1 and count(server, "dining_tables") == 1
    # The first body still gets its first answer.
    again, headers = await post(api, "/api/orders", order_body(table["id"], "one"), "k-2")
    replayed(again, first, headers)


async def test_a_key_of_another_token_does_not_collide(server: TestServer, api: Api) -> None:
    table = await api.table()
    mine, _ = await post(api, "/api/orders", order_body(table["id"]), "shared")
    theirs, headers = await post(api, "/api/orders", order_body(table["id"]), "shared",
                                 token=KITCHEN)
    assert mine.status == theirs.status == 201 and "Idempotent-Replayed" not in headers
    assert mine.body["id"] != theirs.body["id"]
    assert count(server, "orders") == 2
    # Only a hash of each token is stored, never the token.
    scopes = {row["scope"] for row in db_rows(server, "SELECT scope FROM idempotency_keys")}
    assert len(scopes) == 2 and not scopes & {"admin-token-test", KITCHEN}


async def test_a_key_survives_a_restart_on_the_same_file(make_server: MakeServer,
                                                         session: aiohttp.ClientSession) -> None:
    server = await make_server()
    api = Api(session, server)
    table = await api.table()
    first, _ = await post(api, "/api/orders", order_body(table["id"]), "k-restart")
    await server.close()

    server = await make_server()
    again, headers = await post(Api(session, server), "/api/orders", order_body(table["id"]),
                                "k-restart")
    replayed(again, first, headers)
    assert count(server, "orders") == 1


async def _ordered_then_stopped(make_server: MakeServer, session: aiohttp.ClientSession,
                                key: str) -> tuple[dict[str, Any], Reply]:
    """A table and one order posted under `key` on a server then stopped: the table, and the
    order's answer."""
    server = await make_server()
    api = Api(session, server)
    table = await api.table()
    first, _ = await post(api, "/api/orders", order_body(table["id"]), key)
    await server.close()
    return table, first


async def test_a_retry_after_a_crash_between_commit_and_answer_gets_the_committed_order(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    table, first = await _ordered_then_stopped(make_server, session, "k-crash")
    # What a kill -9 after the order's commit and before the answer was kept leaves: the
    # record knows the order it created (same transaction), not the answer.
    db_write(tmp_path / "robodyne.db",
             "UPDATE idempotency_keys SET status = NULL, content_type = NULL, body = NULL")

    server = await make_server()
    api = Api(session, server)
    again, headers = await post(api, "/api/orders", order_body(table["id"]), "k-crash")
    replayed(again, first, headers)
    assert count(server, "orders") == 1
    # ... and that answer is now kept.
    third, headers = await post(api, "/api/orders", order_body(table["id"]), "k-crash")
    replayed(third, first, headers)


async def test_a_retry_after_a_crash_before_anything_was_created_runs_again(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    table, _ = await _ordered_then_stopped(make_server, session, "k-early")
    # Cut before the order's transaction: neither the order nor an answer.
    db_write(tmp_path / "robodyne.db", "DELETE FROM orders")
    db_write(tmp_path / "robodyne.db", "UPDATE idempotency_keys SET status = NULL,"
             " content_type = NULL, body = NULL, created_topic = NULL, created_id = NULL")

    server = await make_server()
    again, _ = await post(Api(session, server), "/api/orders", order_body(table["id"]),
                          "k-early")
    assert again.status == 201 and count(server, "orders") == 1


async def test_a_cancel_cut_after_its_commit_answers_the_cancelled_task_not_409(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    server = await make_server()
    api = Api(session, server)
    table = await api.table()
    task = await api.ok("POST", "/api/tasks", {"kind": "summon", "table_id": table["id"]}, 201)
    first, _ = await post(api, f"/api/tasks/{task['id']}/cancel", None, "k-cancel")
    assert first.status == 200 and first.body["status"] == "cancelled"
    [row] = db_rows(server, "SELECT created_topic, created_id FROM idempotency_keys"
                    " WHERE key = 'k-cancel'")
    assert (row["created_topic"], row["created_id"]) == ("tasks", task["id"])
    await server.close()
    db_write(tmp_path / "robodyne.db",
             "UPDATE idempotency_keys SET status = NULL, content_type = NULL, body = NULL")

    server = await make_server()
    api = Api(session, server)
    again, headers = await post(api, f"/api/tasks/{task['id']}/cancel", None, "k-cancel")
    assert (again.status, again.body["id"]) == (200, task["id"])
    assert again.body["status"] == "cancelled"
    assert headers.get("Idempotent-Replayed") == "true"
    # Without the key the same cancel is refused: the task is finished.
    assert_error(await api.call("POST", f"/api/tasks/{task['id']}/cancel"), 409, "conflict")


async def test_concurrent_retries_wait_for_the_first_and_get_its_answer(
        server: TestServer, api: Api) -> None:
    table = await api.table()
    replies = await asyncio.gather(*(post(api, "/api/orders", order_body(table["id"]), "k-race")
                                     for _ in range(5)))
    assert len({(r.status, str(r.body)) for r, _ in replies}) == 1
    assert sum(h.get("Idempotent-Replayed") == "true" for _, h in replies) == 4
    assert count(server, "orders") == 1


# Every POST of the API: path, body, the table whose rows it must not add twice.
ROUTES = [
    ("/api/orders", {"table_id": "{table}", "items": [{"name": "Soup"}]}, "orders"),
    ("/api/tables", {"label": "T9", "seats": 2}, "dining_tables"),
    ("/api/customers", {"name": "Ada", "party_size": 2}, "customers"),
    ("/api/inventory", {"sku": "NEW", "name": "New", "quantity": 1}, "inventory"),
    ("/api/menu", {"name": "Bibimbap", "station": "kitchen"}, "menu"),
    ("/api/video_streams", {"name": "Cam", "url": "rtsp://cam/1"}, "video_streams"),
    ("/api/tasks", {"kind": "go_to", "table_id": "{table}"}, "tasks"),
    ("/api/robots/r1/commands", {"command": "go_to", "table_id": "{table}"}, None),
    ("/api/events/{event}/ack", None, None),
    # Not /api/pairing: its answer is a code, which no key keeps (the last test below).
]


def fill(template: Any, ids: dict[str, int]) -> Any:
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}"):
            return ids[template[1:-1]]
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    return template


@pytest.mark.parametrize(("path", "body", "table"), ROUTES,
                         ids=[route[0] for route in ROUTES])
async def test_every_post_route_honours_the_key(server: TestServer, api: Api, path: str,
                                                body: Any, table: str | None) -> None:
    robot = await RobotClient.hello(server, "r1")
    seated = await api.table()
    await api.order(seated["id"])
    [event] = events_of(server, "order_placed")
    ids = {"table": seated["id"], "event": event["id"]}
    path, body = fill(path, ids), fill(body, ids)
    before = count(server, table) if table else 0

    first, _ = await post(api, path, body, "k-route")
    assert 200 <= first.status < 300, first
    again, headers = await post(api, path, body, "k-route")
    replayed(again, first, headers)
    if table:
        assert count(server, table) == before + 1
    if path.endswith("/commands"):  # the robot was told once
        assert (await robot.receive())["id"] == first.body["id"]
        with pytest.raises(asyncio.TimeoutError):
            await robot.receive(timeout=0.3)
    await robot.close()


async def test_a_refusal_is_not_the_keys_answer_the_retry_runs_again(
    server: TestServer, api: Api
) -> None:
    """SPEC §5: only a success is kept; a refusal put right lets the same key through."""
    first, _ = await post(api, "/api/orders", order_body(1), "k-invalid")
    assert_error(first, 400, "validation_error")
    assert count(server, "idempotency_keys") == 0
    await api.table()  # table 1 exists now: the same request, with its key, places the order
    again, headers = await post(api, "/api/orders", order_body(1), "k-invalid")
    assert again.status == 201 and "Idempotent-Replayed" not in headers
    third, headers = await post(api, "/api/orders", order_body(1), "k-invalid")
    replayed(third, again, headers)
    assert count(server, "orders") == 1


async def test_a_refused_token_or_role_is_not_kept(server: TestServer, api: Api) -> None:
    refused, _ = await post(api, "/api/menu", {"name": "Kimchi"}, "k-role",
                            token="floor-token-test")
    assert_error(refused, 403, "forbidden")
    again, headers = await post(api, "/api/menu", {"name": "Kimchi"}, "k-role",
                                token="floor-token-test")
    assert_error(again, 403, "forbidden")
    assert "Idempotent-Replayed" not in headers
    unknown, _ = await post(api, "/api/menu", {"name": "Kimchi"}, "k-role", token="x" * 20)
    assert_error(unknown, 401, "unauthorized")
    assert count(server, "idempotency_keys") == 0 and count(server, "menu") == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
async def test_a_bad_key_is_refused_400(server: TestServer, api: Api, key: str) -> None:
    table = await api.table()
    reply, _ = await post(api, "/api/orders", order_body(table["id"]), key)
    assert_error(reply, 400, "validation_error", "Idempotency-Key")
    assert count(server, "orders") == 0


async def test_a_key_older_than_24_hours_is_forgotten_and_pruned(
        server: TestServer, api: Api) -> None:
    table = await api.table()
    first, _ = await post(api, "/api/orders", order_body(table["id"]), "k-old")
    kept, _ = await post(api, "/api/orders", order_body(table["id"], "new"), "k-new")
    db = store_of(server).path
    db_write(db, "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'"
             " WHERE key = 'k-old'")

    again, headers = await post(api, "/api/orders", order_body(table["id"]), "k-old")
    assert again.status == 201 and "Idempotent-Replayed" not in headers
    assert again.body["id"] != first.body["id"] and count(server, "orders") == 3

    db_write(db, "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'"
             " WHERE key = 'k-old'")
    parts = parts_of(server)
    assert await Idempotency(parts.store, parts.auth).prune() == 1
    assert [row["key"] for row in db_rows(server, "SELECT key FROM idempotency_keys")] == [
        "k-new"]
    assert kept.status == 201


async def test_a_key_under_403_405_or_an_unknown_api_path_leaves_no_row(
        server: TestServer, api: Api) -> None:
    """SPEC §5: a key is kept only for a write that was authorised and answered; a refused
    request does not even write one for a while (no commit at all)."""
    table = await api.table()
    commits: list[float] = []
    store_of(server).on_commit.append(commits.append)
    forbidden, _ = await post(api, "/api/orders", order_body(table["id"]), "k-403",
                              token="robot-token-test")
    assert_error(forbidden, 403, "forbidden")
    not_allowed, _ = await post(api, "/api/robots", {}, "k-405")
    assert not_allowed.status == 405
    unknown, _ = await post(api, "/api/nothing/" + "p" * 7000, {}, "k-404")
    assert unknown.status == 404
    invalid, _ = await post(api, "/api/orders", {"table_id": table["id"]}, "k-400")
    assert_error(invalid, 400, "validation_error")
    assert count(server, "idempotency_keys") == 0 and commits == []


async def test_a_token_keeps_at_most_1000_keys_the_oldest_dropped_first(
        server: TestServer, api: Api) -> None:
    robot = await RobotClient.hello(server)
    await robot.send({"type": "event", "event": "bump", "id": 1})
    assert (await robot.receive())["type"] == "ack"
    [event] = db_rows(server, "SELECT id FROM events WHERE type = 'bump'")
    path = f"/api/events/{event['id']}/ack"
    for n in range(1001):
        reply, _ = await post(api, path, {}, f"k-{n:04d}")
        assert reply.status == 200, reply
    keys = [row["key"] for row in db_rows(server, "SELECT key FROM idempotency_keys")]
    assert len(keys) == 1000 and "k-0000" not in keys and "k-1000" in keys
    # Another token's keys are counted apart.
    other, _ = await post(api, path, {}, "k-0000", token=KITCHEN)
    assert other.status == 200 and count(server, "idempotency_keys") == 1001
    await robot.close()


async def test_a_pairing_code_made_with_a_key_is_never_kept(server: TestServer, api: Api) -> None:
    first, _ = await post(api, "/api/pairing", {"role": "kitchen"}, "k-pair")
    again, headers = await post(api, "/api/pairing", {"role": "kitchen"}, "k-pair")
    assert first.status == again.status == 201 and "Idempotent-Replayed" not in headers
    assert again.body["code"] != first.body["code"]  # a retry makes another code
    assert count(server, "idempotency_keys") == 0

"""/metrics, the systemlogs bridge, tokens kept out of the logs, and the status topic."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from robodyne.app import create_app

from ..support.server import make_settings, receive_close, receive_json, ws_url, parts_of
from ..support.robot_client import RobotClient
from ..support.server import ADMIN, db_rows
from ..support.api_client import Api, assert_error
from ..support.wait import until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(api: Api, token: str = "maintenance-token-test") -> Samples:
    """Every sample of /metrics, parsed by prometheus_client's own parser."""
    reply = await api.call("GET", "/metrics", token=token)
    assert reply.status == 200, reply
    assert reply.content_type == "text/plain"
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- /metrics ----


@pytest.mark.parametrize("token,status", [
    ("admin-token-test", 200), ("maintenance-token-test", 200), ("kitchen-token-test", 403),
    ("floor-token-test", 403), ("robot-token-test", 403), (None, 401), ("nobody", 401)])
async def test_metrics_are_for_admin_and_maintenance(
    api: Api, token: str | None, status: int
) -> None:
    reply = await api.call("GET", "/metrics", token=token)
    if status == 200:
        assert reply.status == 200 and reply.content_type == "text/plain", reply
        names = {f.name for f in text_string_to_metric_families(reply.body.decode())}
        assert {"robodyne_ws_connections", "robodyne_ws_messages_sent", "robodyne_ws_bytes_sent",
                "robodyne_ws_clients_closed", "robodyne_ws_send_queue_high_water",
                "robodyne_robot_connections", "robodyne_tcp_lines", "robodyne_tcp_errors",
                "robodyne_db_write_seconds", "robodyne_publish_to_socket_seconds"} <= names
    else:
        assert_error(reply, status, "forbidden" if status == 403 else "unauthorized")


async def test_metrics_move_with_traffic(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    before = await scrape(api)
    async with session.ws_connect(ws_url(server, "orders")) as orders:
        await receive_json(orders)
        table = await api.table()
        await api.order(table["id"])
        update = await receive_json(orders)
        assert update["data"]["kind"] == "upsert"

        robot = await RobotClient.hello(server, "r1")
        await robot.send({"type": "state", "battery": 80, "id": 1})
        assert await robot.receive() == {"type": "ack", "id": 1}
        await robot.send({"type": "heartbeat", "id": 2})
        assert await robot.receive() == {"type": "ack", "id": 2}
        await robot.send_raw(b"this is not json\n")
        assert (await robot.receive())["code"] == "invalid_json"
        await robot.send({"type": "teleport", "id": 3})
        assert (await robot.receive())["code"] == "unknown_type"
        await robot.send({"type": "log", "level": "INFO", "message": "hi", "id": 4})
        assert await robot.receive() == {"type": "ack", "id": 4}

        async with session.ws_connect(ws_url(server, "orders", token="stolen")) as refused:
            assert await receive_close(refused) == 4401
        async with session.ws_connect(
                ws_url(server, "systemlogs", token="kitchen-token-test")) as no:
            assert await receive_close(no) == 4403

        during = await scrape(api)
        assert value(during, "robodyne_ws_connections", topic="orders") == 1
        assert value(during, "robodyne_robot_connections") == 1

    def moved(name: str, **labels: str) -> float:
        return value(during, name, **labels) - value(before, name, **labels)

    assert moved("robodyne_ws_messages_sent_total", topic="orders") == 2  # snapshot + upsert
    assert moved("robodyne_ws_bytes_sent_total", topic="orders") > 100
    assert moved("robodyne_ws_clients_closed_total", reason="auth") == 2
    for kind in ("hello", "state", "heartbeat", "log"):
        assert moved("robodyne_tcp_lines_total", type=kind) == 1, kind
    assert moved("robodyne_tcp_errors_total", code="invalid_json") == 1
    assert moved("robodyne_tcp_errors_total", code="unknown_type") == 1
    # The table, the order, its event, the robot's hello, state and log are each a commit.
    assert moved("robodyne_db_write_seconds_count") >= 6
    assert moved("robodyne_db_write_seconds_sum") > 0
    assert moved("robodyne_publish_to_socket_seconds_count") >= 2
    assert value(during, "robodyne_publish_to_socket_seconds_bucket", le="+Inf") == value(
        during, "robodyne_publish_to_socket_seconds_count")

    await robot.close()
    after = await until_scraped(api, lambda s: value(s, "robodyne_robot_connections") == 0)
    assert value(after, "robodyne_ws_connections", topic="orders") == 0


async def until_scraped(api: Api, condition: Callable[[Samples], bool]) -> Samples:
    async def scraped() -> Samples | None:
        samples = await scrape(api)
        return samples if condition(samples) else None
    found: Samples = await until(scraped, what="the metrics")
    return found


# ---- the server's own warnings on systemlogs ----


async def test_a_server_warning_appears_once_on_systemlogs(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "systemlogs", "maintenance-token-test")) as logs:
        await receive_json(logs)
        # An integration peer may report any delivery; one of no open order is only a warning.
        robot = await RobotClient.hello(server, None, token=ADMIN)
        await robot.send({"type": "event", "event": "delivered", "order_id": 999, "id": 1})
        assert await robot.receive() == {"type": "ack", "id": 1}
        update = await receive_json(logs, timeout=3)
        [record] = update["data"]["items"]
        assert update["data"]["kind"] == "append"
        assert (record["level"], record["source"]) == ("WARNING", "server")
        assert "delivered order 999" in record["message"]
        assert record["message"].startswith("robodyne.domain.restaurant: ")
        # Journaling that record logs nothing that comes back: the topic stays quiet.
        with pytest.raises(asyncio.TimeoutError):
            await logs.receive(timeout=0.5)
    rows = db_rows(server, "SELECT level, source, message FROM systemlogs")
    assert [(r["level"], r["source"]) for r in rows] == [("WARNING", "server")]
    await robot.close()


async def test_a_record_logged_while_the_bridge_writes_does_not_feed_back(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    """The database refuses a write (CRITICAL); the bridge's own write of that record is the
    first to succeed again, which logs "database writes succeed again" inside the bridge:
    that record must not come back into systemlogs."""
    path = parts_of(server).settings.database.path
    async with session.ws_connect(ws_url(server, "systemlogs")) as logs:
        await receive_json(logs)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock: the server's writes time out
        try:
            refused = await api.call("POST", "/api/tables", {"label": "T", "seats": 2})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert_error(refused, 503, "unavailable")
        update = await receive_json(logs, timeout=10)
        [record] = update["data"]["items"]
        assert (record["level"], record["source"]) == ("CRITICAL", "server")
        assert "database write failed" in record["message"]
        with pytest.raises(asyncio.TimeoutError):
            await logs.receive(timeout=0.5)
    await until(lambda: parts_of(server).store.healthy)
    await api.ok("POST", "/api/tables", {"label": "T", "seats": 2}, 201)
    rows = db_rows(server, "SELECT level, message FROM systemlogs")
    assert [r["level"] for r in rows] == ["CRITICAL"], [tuple(r) for r in rows]


# ---- no token in the logs ----


async def test_no_token_appears_in_the_servers_log_output(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    session: aiohttp.ClientSession
) -> None:
    caplog.set_level(logging.DEBUG, logger="robodyne")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    # Run as main() runs it: web.run_app(..., access_log=None).
    server = await aiohttp_server(create_app(make_settings(tmp_path / "robodyne.db")),
                                  access_log=None)
    api = Api(session, server)
    await api.ok("GET", "/api/orders?token=admin-token-test", token=None)
    await api.ok("POST", "/api/tables?token=admin-token-test", {"label": "T", "seats": 2}, 201,
                 token=None)
    assert (await api.call("POST", "/api/orders?token=admin-token-test", {"table_id": 1},
                           token=None)).status == 400
    assert (await api.call("GET", "/metrics?token=admin-token-test", token=None)).status == 200
    assert (await api.call("GET", "/api/orders?token=kitchen-token-test&x=admin-token-test",
                           token=None)).status == 200
    async with session.ws_connect(ws_url(server, "orders", "admin-token-test")) as ws:
        await receive_json(ws)
    async with session.ws_connect(ws_url(server, "systemlogs", "kitchen-token-test")) as ws:
        assert await receive_close(ws) == 4403
    async with session.ws_connect(ws_url(server, "systemlogs", "admin-token-typo")) as ws:
        assert await receive_close(ws) == 4401
    robot = await RobotClient.hello(server, "r1")
    await robot.close()
    stranger = await RobotClient.connect(server)
    await stranger.send({"type": "hello", "token": "guessed-robot-token", "robot_id": "r9"})
    await stranger.closed_by_server()
    await until(lambda: any("closed" in r.getMessage() and "tcp#" in r.getMessage()
                            for r in caplog.records if r.name == "robodyne.robots.session"))
    await asyncio.sleep(0.1)

    messages = [record.getMessage() for record in caplog.records]
    assert any("open" in m and "orders" in m for m in messages), "the log was captured"
    for secret in ("admin-token-test", "kitchen-token-test", "robot-token-test",
                   "guessed-robot-token"):
        leaked = [m for m in messages if secret in m]
        assert not leaked, leaked
    assert all(secret not in caplog.text for secret in ("admin-token-test", "robot-token-test"))


# ---- the status topic ----

async def next_matching(ws: aiohttp.ClientWebSocketResponse,
                        condition: Callable[[dict[str, Any]], bool], what: str,
                        timeout: float = 3.0) -> dict[str, Any]:
    """The first update whose first item meets `condition`, within `timeout`."""
    started = time.perf_counter()
    while True:
        left = timeout - (time.perf_counter() - started)
        if left <= 0:
            raise TimeoutError(f"no update where {what} within {timeout} s")
        update = await receive_json(ws, timeout=left)
        if update["type"] == "update" and update["data"]["items"] and condition(
                update["data"]["items"][0]):
            return update


async def test_the_status_item_follows_orders(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    table = await api.table()
    async with session.ws_connect(ws_url(server, "status")) as status:
        snapshot = await receive_json(status)
        [item] = snapshot["data"]["items"]
        assert item["orders"]["open"] == 0 and item["health"] == "ok"
        assert item["epoch"] == snapshot["data"]["epoch"]
        first = await api.order(table["id"])
        await next_matching(status, lambda s: s["orders"]["open"] == 1, "status after an order")
        await api.order(table["id"])
        await api.move(first["id"], "preparing")
        await next_matching(status, lambda s: s["orders"]["by_status"] == {
            "placed": 1, "preparing": 1}, "status after a second order and a bump")
        await api.move(first["id"], "cancelled")
        await next_matching(status, lambda s: s["orders"] == {"open": 1,
                                                              "by_status": {"placed": 1}},
                            "status after a cancel")
    current = (await api.ok("GET", "/api/status"))["items"][0]
    assert current["orders"] == {"open": 1, "by_status": {"placed": 1}}


async def test_the_status_item_follows_robots(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "status")) as status:
        [item] = (await receive_json(status))["data"]["items"]
        assert item["robots"] == {"total": 0, "online": 0, "items": []}
        robot = await RobotClient.hello(server, "r1", name="Rosie")
        update = await next_matching(status, lambda s: s["robots"]["online"] == 1,
                                     "status after a robot connected")
        assert [(r["id"], r["name"]) for r in update["data"]["items"][0]["robots"]["items"]] == [
            ("r1", "Rosie")]
        await robot.close()
        await next_matching(status, lambda s: s["robots"]["online"] == 0,
                            "status after the robot dropped")


async def test_the_robots_topic_shows_a_robot_come_online_and_drop_off(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "robots")) as robots:
        await receive_json(robots)
        robot = await RobotClient.hello(server, "r1")
        await next_matching(robots, lambda r: r["id"] == "r1" and r["connected"],
                            "robots after hello")
        await robot.close()
        await next_matching(robots, lambda r: r["id"] == "r1" and not r["connected"],
                            "robots after the socket dropped")


async def test_the_status_item_counts_a_robot_once_it_has_sent_a_line(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(ws_url(server, "status")) as status:
        await receive_json(status)
        robot = await RobotClient.hello(server, "r1", name="Rosie")
        await robot.send({"type": "state", "battery": 64, "id": 1})
        assert await robot.receive() == {"type": "ack", "id": 1}
        update = await next_matching(status, lambda s: s["robots"]["online"] == 1,
                                     "status after a robot's first line")
        [rosie] = update["data"]["items"][0]["robots"]["items"]
        assert (rosie["id"], rosie["name"], rosie["battery"], rosie["status"]) == (
            "r1", "Rosie", 64, "idle")
        await robot.close()

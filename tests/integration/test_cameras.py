"""Cameras (SPEC §13, docs/protocol.md "video", docs/api.md "Video streams") through a real
server: a robot's `video` line over TCP, the REST API's url rule, and the pages' policy."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.streams import MAX_URL_CHARS
from robodyne.store.schema import MIGRATIONS
from robodyne.store.store import Store
from robodyne.web.auth import TOKEN_COOKIE

from ..support.api_client import Api, already_sent, assert_error, subscribed
from ..support.guest_client import Phone, table_code
from ..support.robot_client import RobotClient
from ..support.server import db_rows, db_write

POLICY = "default-src 'self'; frame-ancestors 'none'"
BAD_URLS = ["javascript:alert(document.cookie)", "file:///etc/passwd",
            "data:image/png;base64,AAAA", "ws://cam/x", "rtsp://admin:secret@cam/1",
            "http://x;script-src*/", "http://cam/" + "x" * (MAX_URL_CHARS - 10)]


async def test_a_video_line_upserts_the_robots_stream_acked_after_commit_and_publish(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    robot = await RobotClient.hello(server, "r1")
    async with subscribed(session, server, "video_streams") as (streams,):
        await robot.send({"type": "video", "url": "http://r1.local:8080/mjpeg", "id": 1})
        assert await robot.receive() == {"type": "ack", "id": 1}
        # The ack came after the commit and the publish: both are there already.
        [row] = db_rows(server, "SELECT * FROM video_streams")
        assert (row["robot_id"], row["name"], row["url"], row["status"]) == (
            "r1", "camera", "http://r1.local:8080/mjpeg", "active")
        [item] = (await already_sent(streams))["data"]["items"]
        assert item == {"id": row["id"], "name": "camera", "robot_id": "r1",
                        "url": "http://r1.local:8080/mjpeg", "status": "active",
                        "updated_at": row["updated_at"]}
        assert (await api.ok("GET", "/api/video_streams"))["items"] == [item]

        await robot.send({"type": "video", "url": "rtsp://r1.local/main", "status": "error",
                          "id": 2})
        assert await robot.receive() == {"type": "ack", "id": 2}
        [again] = (await already_sent(streams))["data"]["items"]
        assert (again["id"], again["url"], again["status"]) == (
            item["id"], "rtsp://r1.local/main", "error")
        assert len(db_rows(server, "SELECT * FROM video_streams")) == 1

        # Another name is another stream; another robot's "camera" is its own.
        await robot.send({"type": "video", "url": "http://r1.local/rear", "name": "rear",
                          "id": 3})
        assert await robot.receive() == {"type": "ack", "id": 3}
        other = await RobotClient.hello(server, "r2")
        await other.send({"type": "video", "url": "http://r2.local/cam", "id": 4})
        assert await other.receive() == {"type": "ack", "id": 4}
        rows = db_rows(server, "SELECT robot_id, name FROM video_streams ORDER BY id")
        assert [tuple(r) for r in rows] == [("r1", "camera"), ("r1", "rear"), ("r2", "camera")]
    await robot.close()
    await other.close()


@pytest.mark.parametrize("line,where", [
    *[({"url": url}, "url") for url in BAD_URLS],
    ({"url": "http://cam/x", "status": "broken"}, "status"),
    ({"url": "http://cam/x", "name": "n" * 65}, "name"),
    ({"url": "http://cam/x", "name": ""}, "name"),
    ({}, "url"),
])
async def test_a_bad_video_line_is_refused_alone_and_the_connection_stays(
    server: TestServer, line: dict[str, object], where: str
) -> None:
    robot = await RobotClient.hello(server, "r1")
    await robot.send({"type": "video", **line, "id": "v"})
    refused = await robot.receive()
    assert (refused["type"], refused["code"], refused["id"]) == ("error", "validation_error", "v")
    assert refused["detail"].startswith(f"{where}:")
    assert db_rows(server, "SELECT * FROM video_streams") == []
    await robot.send({"type": "video", "url": "http://cam/x", "id": "w"})
    assert await robot.receive() == {"type": "ack", "id": "w"}
    await robot.close()


async def test_an_integration_peer_without_a_robot_id_has_no_camera_to_announce(
    server: TestServer,
) -> None:
    peer = await RobotClient.connect(server)
    await peer.send({"type": "hello", "token": "admin-token-test"})
    assert (await peer.receive())["robot_id"] is None
    await peer.send({"type": "video", "url": "http://cam/x", "id": 1})
    assert await peer.receive() == {"type": "error", "code": "validation_error", "id": 1,
                                    "detail": "video: say hello with a robot_id first"}
    await peer.send({"type": "heartbeat", "id": 2})
    assert await peer.receive() == {"type": "ack", "id": 2}
    assert db_rows(server, "SELECT * FROM video_streams") == []
    await peer.close()


async def test_a_robots_video_line_takes_over_the_stream_staff_gave_it_of_that_name(
    server: TestServer, api: Api
) -> None:
    made = await api.ok("POST", "/api/video_streams",
                        {"name": "camera", "url": "rtsp://old/1", "robot_id": "r1"}, 201)
    robot = await RobotClient.hello(server, "r1")
    await robot.send({"type": "video", "url": "https://r1.local/live", "id": 1})
    assert await robot.receive() == {"type": "ack", "id": 1}
    [row] = db_rows(server, "SELECT id, url, status FROM video_streams")
    assert tuple(row) == (made["id"], "https://r1.local/live", "active")
    await robot.close()


async def test_two_streams_of_one_name_for_one_robot_are_a_conflict(api: Api) -> None:
    first = await api.ok("POST", "/api/video_streams",
                         {"name": "front", "url": "http://a/1", "robot_id": "r1"}, 201)
    assert_error(await api.call("POST", "/api/video_streams",
                                {"name": "front", "url": "http://a/2", "robot_id": "r1"}),
                 409, "conflict", "front")
    other = await api.ok("POST", "/api/video_streams",
                         {"name": "rear", "url": "http://a/3", "robot_id": "r1"}, 201)
    assert_error(await api.call("PATCH", f"/api/video_streams/{other['id']}",
                                {"name": "front"}), 409, "conflict")
    # Streams of no robot may share a name, and a name may be another robot's too.
    for robot_id in (None, None, "r2"):
        await api.ok("POST", "/api/video_streams",
                     {"name": "front", "url": "http://a/4", "robot_id": robot_id}, 201)
    assert (await api.ok("GET", "/api/video_streams"))["items"][0] == first


async def _policy(session: aiohttp.ClientSession, server: TestServer, path: str,
                  token: str | None = None) -> str:
    cookies = {TOKEN_COOKIE: token} if token else {}
    async with session.get(server.make_url(path), cookies=cookies) as response:
        assert response.status == 200 and response.content_type == "text/html", path
        return response.headers["Content-Security-Policy"]


async def test_the_pages_that_show_cameras_allow_images_from_their_http_origins_only(
    server: TestServer, api: Api, session: aiohttp.ClientSession
) -> None:
    assert await _policy(session, server, "/dashboard", "admin-token-test") == POLICY
    for name, url in [("a", "http://cam-a.local:8081/mjpeg"), ("b", "https://cam-b.local/x.jpg"),
                      ("c", "http://cam-a.local:8081/other"), ("d", "rtsp://cam-d.local/1")]:
        await api.ok("POST", "/api/video_streams", {"name": name, "url": url}, 201)
    robot = await RobotClient.hello(server, "r1")
    await robot.send({"type": "video", "url": "http://10.0.0.9:8080/", "status": "inactive",
                      "id": 1})
    assert await robot.receive() == {"type": "ack", "id": 1}
    # Another program's row with a URL no check saw: nothing of it reaches the header.
    db_write(server, "INSERT INTO video_streams (name, url, updated_at)"
             " VALUES ('x', 'http://evil;script-src *', '2026-01-01T00:00:00.000Z')")
    peer = await RobotClient.connect(server)
    await peer.send({"type": "hello", "token": "admin-token-test"})
    await peer.receive()
    await peer.send({"type": "notify", "entity": "video_stream", "id": 1})
    assert await peer.receive() == {"type": "ack", "id": 1}
    await peer.close()
    assert len((await api.ok("GET", "/api/video_streams"))["items"]) == 6

    expected = ("default-src 'self'; img-src 'self' http://10.0.0.9:8080 http://cam-a.local:8081"
                " https://cam-b.local; frame-ancestors 'none'")
    assert await _policy(session, server, "/dashboard", "admin-token-test") == expected
    assert await _policy(session, server, "/console?lang=ko", "maintenance-token-test") == expected
    # Streams are staff's: the other pages, and the guests' above all, allow none of them.
    assert await _policy(session, server, "/kitchen", "kitchen-token-test") == POLICY
    assert await _policy(session, server, "/") == POLICY
    table = await api.table()
    phone = Phone(server)
    try:
        async with phone.session.get(phone.url(
                f"/t/{await table_code(session, server, table['id'])}")) as response:
            assert response.status == 200 and response.content_type == "text/html"
            assert response.headers["Content-Security-Policy"] == POLICY
    finally:
        await phone.close()

    # A stream deleted is no longer allowed on the next load.
    streams = (await api.ok("GET", "/api/video_streams"))["items"]
    for stream in streams:
        if stream["url"].startswith("https:"):
            assert (await api.call("DELETE", f"/api/video_streams/{stream['id']}")).status == 204
    assert "cam-b" not in await _policy(session, server, "/dashboard", "admin-token-test")
    await robot.close()


async def test_a_robots_streams_of_one_name_from_before_are_all_kept_the_later_renamed(
    tmp_path: Path,
) -> None:
    """The migration that makes (robot_id, name) unique keeps every row of an older file."""
    path = tmp_path / "old.db"
    ours = next(n for n, script in enumerate(MIGRATIONS) if "video_streams_by_robot" in script)
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER)")
        for version, script in enumerate(MIGRATIONS[:ours], start=1):
            db.executescript(f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version});"
                             " COMMIT;")
        db.executemany("INSERT INTO video_streams (name, robot_id, url, updated_at)"
                       " VALUES (?, ?, 'rtsp://cam/1', '2026-01-01T00:00:00.000Z')",
                       [("camera", "r1"), ("camera", "r1"), ("camera", "r2"), ("door", None),
                        ("door", None)])
        db.commit()
    store = Store(path)
    await store.open()
    try:
        streams = await store.video_streams()
    finally:
        await store.close()
    assert [(s.id, s.name, s.robot_id) for s in streams] == [
        (1, "camera", "r1"), (2, "camera #2", "r1"), (3, "camera", "r2"), (4, "door", None),
        (5, "door", None)]

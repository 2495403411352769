"""Camera streams' URLs (core/streams.py), the robot's `video` line (wire/robot.py) and the
page policy that lets a page show them (web/guard.py), without sockets."""

from __future__ import annotations

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from robodyne.core.streams import MAX_URL_CHARS, StreamUrl, image_origin, image_origins
from robodyne.robots.protocol import RobotProtocol
from robodyne.web.guard import PAGE_POLICY, page_policy
from robodyne.wire import robot as wire


class Sample(BaseModel):
    url: StreamUrl


@pytest.mark.parametrize("url", ["http://cam-1.local/live.m3u8", "https://10.0.0.5:8443/x",
                                 "rtsp://camera-1.local/stream", "RTSPS://cam/s",
                                 "http://[fd00::7]:8080/mjpeg", "http://cam.local./x?a=1&b=2",
                                 "http://cam/" + "x" * (MAX_URL_CHARS - 11)])
def test_stream_urls_of_the_video_schemes_with_a_host_are_accepted(url: str) -> None:
    assert Sample(url=url).url == url


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript://cam/%0aalert(1)",
                                 "data:text/html,hi", "file:///etc/passwd", "ftp://cam/x",
                                 "ws://robot-7:9000/video", "wss://cams.example/1",
                                 "http://", "http:///path", "rtsp:cam", "camera-1.local/stream",
                                 "http://cam:port/x", "http://cam/a b", "http://cam/\x00",
                                 "http://[::1/x", "", "http://cam/" + "x" * (MAX_URL_CHARS - 10),
                                 "rtsp://admin:secret@cam/1", "rtsp://admin@cam/1",
                                 "http://x;script-src*/", "http://cam_1.local/x",
                                 "http://cam'/x", "http://-cam/x", "http://[fe80::1%25eth0]/x"])
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        Sample(url=url)


@pytest.mark.parametrize("url,origin", [
    ("http://cam-1.local/live.mjpg", "http://cam-1.local"),
    ("HTTPS://Cam.Example:8443/snap.jpg?x=1", "https://cam.example:8443"),
    ("http://10.0.0.5:80/", "http://10.0.0.5:80"),
    ("http://[fd00::7]:8080/mjpeg", "http://[fd00::7]:8080"),
    ("rtsp://cam/1", None), ("rtsps://cam/1", None),
    # A row another program wrote is not trusted: nothing of it reaches a header.
    ("http://x;script-src*/", None), ("javascript:alert(1)", None),
    ("http://user:pw@cam/", None),
])
def test_the_image_origin_of_a_url_is_its_scheme_host_and_port_when_it_shows_in_an_image(
    url: str, origin: str | None
) -> None:
    assert image_origin(url) == origin


def test_image_origins_are_each_said_once_in_order() -> None:
    assert image_origins(["http://b/1", "rtsp://a/1", "http://b/2", "https://a:8443/x"]) == [
        "http://b", "https://a:8443"]


def test_a_page_policy_allows_images_from_the_cameras_only_when_there_are_some() -> None:
    assert page_policy() == PAGE_POLICY == "default-src 'self'; frame-ancestors 'none'"
    assert page_policy(["http://cam:8080", "https://b"]) == (
        "default-src 'self'; img-src 'self' http://cam:8080 https://b; frame-ancestors 'none'")


def _parsed(line: dict[str, object]) -> wire.Message:
    return wire.parse(orjson.dumps(line))


def test_a_video_line_names_its_camera_and_is_active_unless_it_says_otherwise() -> None:
    video = _parsed({"type": "video", "url": "http://r1.local:8080/mjpeg"})
    assert isinstance(video, wire.Video)
    assert (video.name, video.status, video.url) == ("camera", "active",
                                                     "http://r1.local:8080/mjpeg")
    video = _parsed({"type": "video", "url": "rtsp://r1/rear", "name": "rear",
                     "status": "inactive", "id": 3})
    assert isinstance(video, wire.Video)
    assert (video.name, video.status, video.id) == ("rear", "inactive", 3)


@pytest.mark.parametrize("line,where", [
    ({"type": "video", "url": "javascript:alert(1)"}, "url"),
    ({"type": "video"}, "url"),
    ({"type": "video", "url": "http://cam/x", "name": ""}, "name"),
    ({"type": "video", "url": "http://cam/x", "name": "x" * 65}, "name"),
    ({"type": "video", "url": "http://cam/x", "name": "front\u202ecam"}, "name"),
    ({"type": "video", "url": "http://cam/x", "status": "broken"}, "status"),
    ({"type": "video", "url": ["http://cam/x"]}, "url"),
])
def test_a_bad_video_line_is_a_validation_error_naming_its_field(
    line: dict[str, object], where: str
) -> None:
    with pytest.raises(wire.ProtocolError) as refused:
        _parsed(line)
    assert refused.value.code == "validation_error"
    assert refused.value.detail.startswith(f"{where}:")


def test_an_integration_peer_has_no_camera_of_its_own() -> None:
    peer = RobotProtocol(max_line_bytes=4096, heartbeat_s=5, now=0.0)
    peer.greet(None)  # an admin hello without a robot_id
    peer.data_to_send()
    [line] = peer.receive(b'{"type": "video", "url": "http://cam/x", "id": 9}\n', 1.0)
    with pytest.raises(wire.ProtocolError) as refused:
        peer.parse(line)
    assert (refused.value.code, refused.value.detail, refused.value.message_id) == (
        "validation_error", "video: say hello with a robot_id first", 9)

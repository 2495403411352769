"""Cameras on the pages (SPEC §13 "Cameras", docs/pages.md) in a real Chromium: a robot announces
its cameras over TCP, a local camera serves a real MJPEG stream (JPEG frames made with Pillow),
and the dashboard's robot card plays it in an image; a camera that answers 404 shows "no
signal" with its link, an rtsp stream is a link; the console's Cameras panel shows every stream."""

from __future__ import annotations

import asyncio
import io
import os
from dataclasses import dataclass
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from ..support.browser import Pages, Watched, browser, catalogue, pages, rest, until_true
from ..support.robot_client import RobotClient
from ..support.server import MakeServer

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FRAMES = 2
BOUNDARY = "frame"


def jpeg(n: int) -> bytes:
    """One 320×240 camera frame, numbered."""
    image = Image.new("RGB", (320, 240), (22 + 40 * n, 70, 110))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 150, 300, 220), fill=(210, 160, 60))  # the pass, seen from the robot
    draw.text((24, 20), f"front camera - frame {n}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def mjpeg(request: web.Request) -> web.StreamResponse:
    """A camera's MJPEG stream: a few frames, each replacing the one before."""
    response = web.StreamResponse(
        headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"})
    await response.prepare(request)
    for n in range(FRAMES):
        frame = jpeg(n)
        await response.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                             f"Content-Length: {len(frame)}\r\n\r\n".encode() + frame + b"\r\n")
        await asyncio.sleep(0.05)
    return response


async def snapshot(request: web.Request) -> web.Response:
    return web.Response(body=jpeg(1), content_type="image/jpeg")


@pytest.fixture
async def camera(aiohttp_server: Any) -> TestServer:
    """A camera on its own origin: /mjpeg streams, /snap.jpg is one still, the rest is 404."""
    app = web.Application()
    app.router.add_get("/mjpeg", mjpeg)
    app.router.add_get("/snap.jpg", snapshot)
    server: TestServer = await aiohttp_server(app)
    return server


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(pages: Pages) -> AsyncIterator[OpenPage]:
    """Opens a page signed in, live; when the test ends, no page had a script error or a CSP
    refusal, unless the test said it expects some."""
    opened: list[tuple[Watched, bool]] = []

    async def open_(server: TestServer, path: str, token: str, refusals: bool = False) -> Page:
        watched = await pages.watched(server, token, viewport={"width": 1280, "height": 800})
        opened.append((watched, refusals))
        await watched.page.goto(str(server.make_url(path)))
        await watched.page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
        return watched.page
    yield open_
    for watched, refusals in opened:
        assert watched.errors == []
        if not refusals:
            assert await watched.page.evaluate("window.cspViolations") == []


@dataclass
class Floor:
    server: TestServer
    camera: TestServer
    robot: RobotClient


@pytest.fixture
async def floor(make_server: MakeServer, camera: TestServer,
                session: aiohttp.ClientSession) -> AsyncIterator[Floor]:
    """A server with robot r1, which announces three cameras: MJPEG, one that is not there,
    rtsp; and two streams staff added: r1's "spare" (status error), "door" of no robot."""
    server = await make_server()
    for name, robot_id, status in (("spare", "r1", "error"), ("door", None, "active")):
        await rest(session, server, "POST", "/api/video_streams",
                   {"name": name, "url": str(camera.make_url("/snap.jpg")),
                    "robot_id": robot_id, "status": status}, expect=201)
    robot = await robot_with_cameras(server, camera)
    yield Floor(server, camera, robot)
    await robot.close()


async def robot_with_cameras(server: TestServer, camera: TestServer) -> RobotClient:
    robot = await RobotClient.hello(server, "r1", name="Robo One", model="S1")
    await robot.send({"type": "state", "status": "idle", "battery": 82,
                      "pose": {"x": 3.0, "y": 4.0, "yaw": 0.0}})
    for n, (name, url) in enumerate([("front", str(camera.make_url("/mjpeg"))),
                                     ("rear", str(camera.make_url("/gone"))),
                                     ("arm", "rtsp://r1.local:8554/arm")]):
        await robot.send({"type": "video", "name": name, "url": url, "id": n})
        assert await robot.receive() == {"type": "ack", "id": n}
    return robot


def stream(scope: str, name: str) -> str:
    return f'{scope} figure.stream[data-name="{name}"]'


async def played(page: Page, selector: str) -> None:
    """The image under `selector` has drawn a frame."""
    await until_true(page, "(s) => document.querySelector(s)?.naturalWidth > 0",
                     arg=f"{selector} img.stream-image")


async def test_a_robot_card_plays_its_mjpeg_camera_and_says_no_signal_or_links_the_others(
    floor: Floor, open_page: OpenPage
) -> None:
    server, camera, robot = floor.server, floor.camera, floor.robot
    # Not on the robot's card: its stream in error, and the stream of no robot.
    page = await open_page(server, "/dashboard", "admin-token-test")
    card = '.robot-card[data-robot-id="r1"]'
    await expect(page.locator(f"{card} figure.stream")).to_have_count(3)
    front = stream(card, "front")
    await played(page, front)
    assert await page.locator(f"{front} img").get_attribute("src") == str(camera.make_url("/mjpeg"))

    rear = stream(card, "rear")
    await expect(page.locator(rear)).to_have_attribute("data-state", "no-signal")
    await expect(page.locator(f"{rear} .no-signal")).to_have_text("no signal")
    await expect(page.locator(f"{rear} a.stream-link")).to_have_attribute(
        "href", str(camera.make_url("/gone")))

    arm = stream(card, "arm")
    await expect(page.locator(arm)).to_have_attribute("data-state", "link")
    await expect(page.locator(f"{arm} a.stream-link")).to_have_attribute(
        "href", "rtsp://r1.local:8554/arm")
    assert await page.locator(f"{arm} img").count() == 0

    # Telemetry redraws the card; the playing image is the same element, not a new request.
    await page.evaluate(f"document.querySelector('{front} img').dataset.mark = 'kept'")
    await robot.send({"type": "state", "battery": 81, "id": "b"})
    assert await robot.receive() == {"type": "ack", "id": "b"}
    await expect(page.locator(f"{card} .battery")).to_have_text("81%")
    assert await page.locator(f"{front} img").get_attribute("data-mark") == "kept"

    # The camera goes off: its image leaves the card at once.
    await robot.send({"type": "video", "name": "front", "url": str(camera.make_url("/mjpeg")),
                      "status": "inactive", "id": "off"})
    assert await robot.receive() == {"type": "ack", "id": "off"}
    await expect(page.locator(f"{card} figure.stream")).to_have_count(2)

    shot = Path(__file__).resolve().parents[1] / "test-artifacts"
    shot.mkdir(exist_ok=True)
    await robot.send({"type": "video", "name": "front", "url": str(camera.make_url("/mjpeg")),
                      "id": "on"})
    assert await robot.receive() == {"type": "ack", "id": "on"}
    await played(page, front)
    await page.locator(card).screenshot(path=str(shot / "dashboard-cameras.png"))
    if os.environ.get("ROBODYNE_UPDATE_SCREENSHOTS") == "1":
        await page.locator(card).screenshot(path=str(SCREENSHOTS / "dashboard-cameras.png"))


async def test_the_consoles_cameras_panel_shows_every_stream_in_korean_too(
    floor: Floor, open_page: OpenPage, session: aiohttp.ClientSession
) -> None:
    server, camera = floor.server, floor.camera
    ko = catalogue("ko")
    page = await open_page(server, "/console?lang=ko", "maintenance-token-test",
                           refusals=True)
    panel = "#cameras"
    await expect(page.locator("#no-cameras")).to_be_hidden()
    names = page.locator(f"{panel} .stream-name")
    await expect(names).to_have_text(["r1 · arm", "r1 · front", "r1 · rear", "r1 · spare",
                                      "door"])
    await played(page, stream(panel, "front"))
    await played(page, stream(panel, "door"))
    await expect(page.locator(f"{stream(panel, 'rear')} .no-signal")).to_have_text(
        ko["stream.no_signal"])
    spare = stream(panel, "spare")
    await expect(page.locator(f"{spare} .stream-status")).to_have_text(ko["stream.status.error"])
    await expect(page.locator(spare)).to_have_attribute("data-state", "link")
    assert await page.evaluate("window.cspViolations") == []

    # A camera on an origin the page's policy did not name shows after a reload, not before.
    elsewhere = str(camera.make_url("/mjpeg")).replace("127.0.0.1", "localhost")
    await rest(session, server, "POST", "/api/video_streams",
               {"name": "new", "url": elsewhere, "status": "active"}, expect=201)
    await expect(page.locator(stream(panel, "new"))).to_have_attribute("data-state", "no-signal")
    violations = await page.evaluate("window.cspViolations")
    assert violations and all("img-src" in str(v) for v in violations), violations
    await page.reload()
    await page.wait_for_selector('#conn[data-state="live"]', timeout=5000)
    await played(page, stream(panel, "new"))
    assert await page.evaluate("window.cspViolations") == []

    # A stream deleted leaves the panel; with none left, the panel says so.
    for item in (await rest(session, server, "GET", "/api/video_streams"))["items"]:
        async with session.delete(server.make_url(f"/api/video_streams/{item['id']}"),
                                  headers={"Authorization": "Bearer admin-token-test"}) as gone:
            assert gone.status == 204
    await expect(page.locator(f"{panel} figure.stream")).to_have_count(0)
    await expect(page.locator("#no-cameras")).to_have_text(ko["cameras.none"])

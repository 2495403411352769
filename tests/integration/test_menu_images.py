"""A dish's photo through the real REST API (docs/api.md, "Menu photos"): the upload, the file
in the media dir beside the database, the menu topic, GET /media/… with no token, and every
refusal."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.core.photos import MAX_UPLOAD_BYTES

from ..support.api_client import Api, Reply, already_sent, assert_error, subscribed
from ..support.browser import Pages, browser, pages, until_true
from ..support.guest_client import Phone, table_code
from ..support.images import BLUE, RED, encoded, halves, jpeg, opened, png
from ..support.server import MakeServer, db_rows, parts_of
from .test_guest_page import PHONE, dish, open_guest

__all__ = ["browser", "pages"]  # fixtures, imported so pytest finds them here

IMAGE = re.compile(r"/media/menu/(\d+)-[0-9a-f]{16}\.webp")
YEAR = "public, max-age=31536000, immutable"


async def _dish(api: Api, name: str = "Bibimbap") -> dict[str, Any]:
    dish: dict[str, Any] = await api.ok("POST", "/api/menu", {"name": name}, 201)
    return dish


async def _upload(api: Api, dish_id: int | str, data: Any, content_type: str = "image/jpeg",
                  **kwargs: Any) -> Reply:
    headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
    return await api.call("POST", f"/api/menu/{dish_id}/image", data=data, headers=headers,
                          **kwargs)


async def _photo(api: Api, dish_id: int, data: bytes, content_type: str = "image/jpeg"
                 ) -> dict[str, Any]:
    reply = await _upload(api, dish_id, data, content_type)
    assert reply.status == 200, reply
    dish: dict[str, Any] = reply.body
    return dish


def _media(server: TestServer) -> Path:
    return parts_of(server).settings.media_dir()


def _file(server: TestServer, image: str) -> Path:
    return _media(server) / image.removeprefix("/media/")


def _files(server: TestServer) -> list[str]:
    folder = _media(server) / "menu"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


async def test_an_upload_becomes_the_dishs_upright_webp_on_the_menu_topic(
        api: Api, server: TestServer, session: aiohttp.ClientSession) -> None:
    dish = await _dish(api)
    async with subscribed(session, server, "menu") as (menu,):
        changed = await _photo(api, dish["id"], jpeg((1200, 600), orientation=6))
        data = (await already_sent(menu))["data"]
    assert data["kind"] == "upsert" and data["items"] == [changed]
    assert changed == {**dish, "image": changed["image"]}
    assert (match := IMAGE.fullmatch(changed["image"])) and match[1] == str(dish["id"])
    [row] = db_rows(server, "SELECT image FROM menu")
    assert row["image"] == changed["image"]
    assert (await api.ok("GET", "/api/menu"))["items"] == [changed]

    # Anyone loads it, a guest's phone with no token: upright (turned by its EXIF), within
    # 800 × 800, no metadata, kept by browsers for a year.
    reply = await api.call("GET", changed["image"], token=None)
    assert reply.status == 200 and reply.content_type == "image/webp"
    assert reply.headers["Cache-Control"] == YEAR
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    stored = opened(reply.body)
    assert stored.size == (400, 800) and not {"exif", "icc_profile", "xmp"} & set(stored.info)
    assert stored.getpixel((200, 100))[:3] == pytest.approx(RED, abs=8)
    assert stored.getpixel((200, 700))[:3] == pytest.approx(BLUE, abs=8)
    assert reply.body == _file(server, changed["image"]).read_bytes()


@pytest.mark.parametrize("picture,kind,content_type,size,mode", [
    (halves((4000, 3000)), "JPEG", "image/jpeg", (800, 600), "RGB"),
    (halves((200, 100)), "PNG", "image/png", (200, 100), "RGB"),
    (halves((300, 100), "RGBA", right=(0, 0, 0, 0)), "PNG", "image/png", (300, 100), "RGBA"),
    (halves((900, 900)), "WEBP", "image/webp", (800, 800), "RGB"),
])
async def test_each_type_is_taken_and_scaled_down_never_up(
        api: Api, server: TestServer, picture: Any, kind: str, content_type: str,
        size: tuple[int, int], mode: str) -> None:
    dish = await _dish(api)
    changed = await _photo(api, dish["id"], encoded(picture, kind), content_type)
    stored = opened(_file(server, changed["image"]).read_bytes())
    assert (stored.format, stored.size, stored.mode) == ("WEBP", size, mode)


async def test_a_new_photo_replaces_the_old_file_and_the_same_photo_keeps_it(
        api: Api, server: TestServer) -> None:
    dish = await _dish(api)
    first = await _photo(api, dish["id"], jpeg())
    again = await _photo(api, dish["id"], jpeg())
    assert again["image"] == first["image"] and _file(server, first["image"]).exists()
    second = await _photo(api, dish["id"], jpeg((300, 300)))
    assert second["image"] != first["image"]
    assert _files(server) == [second["image"].rsplit("/", 1)[1]]
    assert (await api.call("GET", first["image"], token=None)).status == 404


async def test_deleting_the_photo_clears_the_dish_and_removes_the_file(
        api: Api, server: TestServer, session: aiohttp.ClientSession) -> None:
    dish = await _dish(api)
    image = (await _photo(api, dish["id"], jpeg()))["image"]
    async with subscribed(session, server, "menu") as (menu,):
        cleared = await api.ok("DELETE", f"/api/menu/{dish['id']}/image")
        data = (await already_sent(menu))["data"]
    assert cleared == {**dish, "image": None} and data["items"] == [cleared]
    assert _files(server) == [] and (await api.call("GET", image, token=None)).status == 404
    # Again: nothing to remove, the same answer.
    assert await api.ok("DELETE", f"/api/menu/{dish['id']}/image") == cleared


async def test_deleting_the_dish_removes_its_photo(api: Api, server: TestServer) -> None:
    kept, gone = await _dish(api, "Kept"), await _dish(api, "Gone")
    kept_image = (await _photo(api, kept["id"], jpeg((100, 100))))["image"]
    await _photo(api, gone["id"], jpeg())
    await api.ok("DELETE", f"/api/menu/{gone['id']}", status=204)
    assert _files(server) == [kept_image.rsplit("/", 1)[1]]


async def test_a_retried_upload_gets_the_first_answer(api: Api, server: TestServer) -> None:
    dish = await _dish(api)
    photo = encoded(halves((1000, 1000)), "PNG", compress_level=0)  # well over 64 KiB
    assert len(photo) > 64 * 1024
    key = {"Idempotency-Key": "photo-1"}
    first = await _upload(api, dish["id"], photo, "image/png", headers=key)
    retry = await _upload(api, dish["id"], photo, "image/png", headers=key)
    assert first.status == retry.status == 200 and retry.body == first.body
    assert retry.headers["Idempotent-Replayed"] == "true"
    other = await _upload(api, dish["id"], jpeg(), headers=key)
    assert_error(other, 409, "conflict")


@pytest.mark.parametrize("content_type", ["text/plain", "image/gif", "application/json",
                                          "image/svg+xml", "application/octet-stream"])
async def test_a_body_of_another_type_is_unsupported(api: Api, server: TestServer,
                                                     content_type: str) -> None:
    dish = await _dish(api)
    assert_error(await _upload(api, dish["id"], jpeg(), content_type), 415,
                 "unsupported_media_type", names="image/jpeg")
    assert db_rows(server, "SELECT image FROM menu")[0]["image"] is None


async def test_a_body_over_5_mib_is_too_large_by_its_length_or_while_read(
        api: Api, server: TestServer) -> None:
    dish = await _dish(api)
    too_big = b"\xff" * (MAX_UPLOAD_BYTES + 1)
    assert_error(await _upload(api, dish["id"], too_big), 413, "too_large", names="5 MiB")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while read
        for _ in range(6):
            yield b"\xff" * (1024 * 1024)

    # Connection: close, as a client that stops sending does: the server reads and drops the
    # rest of a refused body for up to 10 s, on a connection a test's pool would keep open.
    assert_error(await _upload(api, dish["id"], chunks(), headers={"Connection": "close"}),
                 413, "too_large")
    # With an Idempotency-Key, whose check reads the body first: the same limit.
    assert_error(await _upload(api, dish["id"], too_big, headers={"Idempotency-Key": "k"}),
                 413, "too_large")
    assert db_rows(server, "SELECT image FROM menu")[0]["image"] is None


@pytest.mark.parametrize("data,content_type,says", [
    (b"definitely not a picture", "image/jpeg", "not a JPEG image"),
    (encoded(halves((20, 20)), "PNG"), "image/jpeg", "not a JPEG image"),
    (jpeg()[:2000], "image/jpeg", "not a readable JPEG image"),
    (b"", "image/png", "not a PNG image"),
    (png(20_000, 20_000), "image/png", "40 megapixels"),
    (png(8000, 5001), "image/png", "40 megapixels"),
])
async def test_bytes_that_are_not_that_image_are_refused(
        api: Api, server: TestServer, data: bytes, content_type: str, says: str) -> None:
    dish = await _dish(api)
    assert_error(await _upload(api, dish["id"], data, content_type), 400, "validation_error",
                 names=says)
    assert db_rows(server, "SELECT image FROM menu")[0]["image"] is None
    assert _files(server) == []


async def test_a_media_dir_that_cannot_be_written_is_unavailable_and_changes_nothing(
        make_server: MakeServer, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the media dir should be")
    server = await make_server(media={"dir": str(tmp_path / "not-a-dir")})
    api = Api(session, server)
    dish = await _dish(api)
    assert_error(await _upload(api, dish["id"], jpeg()), 503, "unavailable")
    assert db_rows(server, "SELECT image FROM menu")[0]["image"] is None


async def test_an_unknown_dish_is_not_found(api: Api) -> None:
    for dish_id in ("999", "x", "99999999999999999999"):
        assert_error(await _upload(api, dish_id, jpeg()), 404, "not_found")
        assert_error(await api.call("DELETE", f"/api/menu/{dish_id}/image"), 404, "not_found")


async def test_only_the_admin_may_set_or_delete_a_photo(
        api: Api, server: TestServer, session: aiohttp.ClientSession) -> None:
    dish = await _dish(api)
    image = (await _photo(api, dish["id"], jpeg()))["image"]
    for token in ("kitchen-token-test", "floor-token-test", "maintenance-token-test"):
        assert_error(await _upload(api, dish["id"], jpeg((50, 50)), token=token), 403,
                     "forbidden")
        assert_error(await api.call("DELETE", f"/api/menu/{dish['id']}/image", token=token),
                     403, "forbidden")
    for token in (None, "robot-token-test", "no-such-token-at-all"):
        expected = (403, "forbidden") if token == "robot-token-test" else (401, "unauthorized")
        assert_error(await _upload(api, dish["id"], jpeg((50, 50)), token=token), *expected)
    # A guest at a table: a session cookie, no token.
    table = await api.table()
    phone = Phone(server)
    try:
        assert await phone.open(await table_code(session, server, table["id"])) == 200
        for method in ("POST", "DELETE"):
            async with phone.session.request(
                    method, phone.url(f"/api/menu/{dish['id']}/image"), data=jpeg((50, 50)),
                    headers={"Content-Type": "image/jpeg", "Origin": phone.origin}) as reply:
                assert reply.status == 401, await reply.text()
    finally:
        await phone.close()
    assert db_rows(server, "SELECT image FROM menu")[0]["image"] == image


async def test_media_serves_only_our_photos_from_the_media_dir(
        api: Api, server: TestServer) -> None:
    dish = await _dish(api)
    image = (await _photo(api, dish["id"], jpeg()))["image"]
    media = _media(server)
    (media / "menu" / "notes.txt").write_text("not a photo")
    (media.parent / "outside.webp").write_bytes(_file(server, image).read_bytes())
    (media / "menu" / "link.webp").symlink_to(media.parent / "outside.webp")
    name = image.rsplit("/", 1)[1]
    refused = [
        "/media/menu/notes.txt", "/media/menu/link.webp", "/media/menu/missing.webp",
        "/media/../robodyne.db", "/media/%2e%2e/robodyne.db", "/media/%2E%2E/outside.webp",
        "/media/menu/..%2f..%2foutside.webp", "/media/menu%2f..%2f..%2foutside.webp",
        "/media//etc/passwd", "/media/%2fetc%2fpasswd", "/media/menu/%2e" + name,
        "/media/menu", "/media/", "/media/menu/" + name + "%00", "/media/menu\\" + name,
    ]
    assert media == parts_of(server).settings.database.path.parent / "media"
    for path in refused:
        assert await _status_of(server, path) == 404, path
    assert await _status_of(server, image) == 200
    head = await api.call("HEAD", image, token=None)
    assert head.status == 200 and head.headers["Cache-Control"] == YEAR


@pytest.mark.browser
async def test_a_guests_phone_shows_the_photo_live_under_the_pages_policy(
        api: Api, server: TestServer, session: aiohttp.ClientSession, pages: Pages) -> None:
    bibimbap = await _dish(api)
    table = await api.table()
    page = await open_guest(pages, server, session, table["id"], "en")
    await until_true(page, "document.querySelectorAll('img.dish-image').length === 0")
    changed = await _photo(api, bibimbap["id"], jpeg((1200, 900)))
    image = page.locator(f"{dish(bibimbap['id'])} img.dish-image")
    await until_true(page, "(src) => { const i = document.querySelector('img.dish-image');"
                     " return i && i.complete && i.naturalWidth === 800"
                     " && i.getAttribute('src') === src; }", changed["image"])
    assert await image.count() == 1
    assert await page.evaluate("window.cspViolations") == []
    assert PHONE["width"] >= await page.evaluate("document.documentElement.scrollWidth")


async def _status_of(server: TestServer, path: str) -> int:
    """GET the path exactly as written (a client library would tidy its dots and slashes)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n\r\n"
                     .encode())
        status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()
        await writer.wait_closed()

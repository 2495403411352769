"""Table links over HTTP (SPEC §11.2, docs/api.md "Table links"): who may read and rotate a
link, the url's base, Idempotency-Key on a rotation, the code kept out of every topic and
table read, and the QR codes and the printed sheet's refusals."""

from __future__ import annotations

import asyncio
import io
import logging
import xml.etree.ElementTree as ElementTree
from typing import Any

import aiohttp
import pytest
import segno
from aiohttp.test_utils import TestServer

from robodyne.domain.polling import poll_once
from robodyne.web.auth import TOKEN_COOKIE

from ..support.api_client import Api, assert_error, subscribed
from ..support.server import ADMIN, TOKENS, MakeServer, db_write, parts_of

ROLE_TOKEN = {role: token for token, role in TOKENS.items()}
SVG = "{http://www.w3.org/2000/svg}svg"


def link_path(table_id: int | str) -> str:
    return f"/api/tables/{table_id}/link"


def base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def rotated_away(server: TestServer, code: str) -> bool:
    return await parts_of(server).links.table_for(code) is None


async def opened(server: TestServer, code: str) -> int | None:
    table = await parts_of(server).links.table_for(code)
    return table.id if table is not None else None


async def test_admin_and_floor_read_a_link_and_every_other_caller_is_refused(api: Api) -> None:
    table = await api.table()
    answer = await api.call("GET", link_path(table["id"]))
    assert answer.status == 200 and set(answer.body) == {"code", "url"}
    code = answer.body["code"]
    assert answer.body["url"] == f"{base(api.server)}/t/{code}"
    assert await opened(api.server, code) == table["id"]
    floor = await api.call("GET", link_path(table["id"]), token=ROLE_TOKEN["floor"])
    assert floor.status == 200 and floor.body == answer.body
    for role in ("kitchen", "maintenance", "robot"):
        assert_error(await api.call("GET", link_path(table["id"]), token=ROLE_TOKEN[role]),
                     403, "forbidden", "table links")
    assert_error(await api.call("GET", link_path(table["id"]), token=None), 401, "unauthorized")
    assert_error(await api.call("GET", link_path(table["id"]), token="no-such-token-12345678"),
                 401, "unauthorized")
    for unknown in ("999", "abc", "-1", "99999999999999999999999"):
        assert_error(await api.call("GET", link_path(unknown)), 404, "not_found")
    assert_error(await api.call("GET", link_path(999), token=ROLE_TOKEN["floor"]), 404,
                 "not_found")


async def test_only_an_admin_rotates_a_link_and_a_refusal_changes_nothing(api: Api) -> None:
    table = await api.table()
    code = (await api.ok("GET", link_path(table["id"])))["code"]
    for role in ("floor", "kitchen", "maintenance", "robot"):
        assert_error(await api.call("POST", link_path(table["id"]), token=ROLE_TOKEN[role]),
                     403, "forbidden", "table_links")
    assert_error(await api.call("POST", link_path(table["id"]), token=None), 401,
                 "unauthorized")
    assert_error(await api.call("POST", link_path(999)), 404, "not_found")
    assert (await api.ok("GET", link_path(table["id"])))["code"] == code
    assert await opened(api.server, code) == table["id"]


async def test_a_rotation_answers_the_new_link_and_the_old_code_opens_nothing_at_once(
    api: Api
) -> None:
    table = await api.table()
    old = (await api.ok("GET", link_path(table["id"])))["code"]
    reply = await api.call("POST", link_path(table["id"]))
    assert reply.status == 200
    new = reply.body["code"]
    assert new != old and reply.body == {"code": new, "url": f"{base(api.server)}/t/{new}"}
    assert await rotated_away(api.server, old)
    assert await opened(api.server, new) == table["id"]
    assert (await api.ok("GET", link_path(table["id"])))["code"] == new
    assert (await api.ok("GET", link_path(table["id"]), token=ROLE_TOKEN["floor"]))["code"] == new
    async with api.session.get(api.server.make_url(link_path(table["id"])),
                               headers={"Authorization": f"Bearer {ADMIN}"}) as response:
        assert response.headers["Cache-Control"] == "no-store"


async def test_a_browser_rotation_from_another_site_is_refused(api: Api) -> None:
    table = await api.table()
    code = (await api.ok("GET", link_path(table["id"])))["code"]
    assert_error(await api.call("POST", link_path(table["id"]),
                                headers={"Origin": "https://elsewhere.example"}), 403,
                 "forbidden")
    assert (await api.ok("GET", link_path(table["id"])))["code"] == code


async def test_a_rotation_retried_with_its_key_answers_the_same_code_and_rotates_once(
    api: Api
) -> None:
    first, second = await api.table("T1"), await api.table("T2")
    old = (await api.ok("GET", link_path(first["id"])))["code"]
    key = {"Idempotency-Key": "rotate-T1-once"}
    made = await api.call("POST", link_path(first["id"]), headers=key)
    again = await api.call("POST", link_path(first["id"]), headers=key)
    assert made.status == again.status == 200 and again.body == made.body
    assert made.headers["Cache-Control"] == again.headers["Cache-Control"] == "no-store"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await api.ok("GET", link_path(first["id"])))["code"] == made.body["code"]
    assert await rotated_away(api.server, old)
    # The same key for another table's link is another request.
    assert_error(await api.call("POST", link_path(second["id"]), headers=key), 409, "conflict")
    # A new key is a new rotation.
    other = await api.ok("POST", link_path(first["id"]), headers={"Idempotency-Key": "rotate-2"})
    assert other["code"] != made.body["code"]
    assert await rotated_away(api.server, made.body["code"])


async def test_the_url_is_public_url_when_it_is_set(make_server: MakeServer,
                                                    session: aiohttp.ClientSession) -> None:
    server = await make_server(server={"public_url": "https://robodyne.example/guests/"})
    api = Api(session, server)
    table = await api.table()
    link = await api.ok("GET", link_path(table["id"]), headers={"Host": "other.example"})
    assert link["url"] == f"https://robodyne.example/guests/t/{link['code']}"
    rotated = await api.ok("POST", link_path(table["id"]))
    assert rotated["url"] == f"https://robodyne.example/guests/t/{rotated['code']}"


async def test_without_public_url_the_url_is_the_requests_own_host(api: Api) -> None:
    table = await api.table()
    link = await api.ok("GET", link_path(table["id"]), headers={"Host": "tablet.local:8080"})
    assert link["url"] == f"http://tablet.local:8080/t/{link['code']}"


async def raw_frames(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    """Every frame the socket has been sent by now, as its text."""
    frames = []
    while True:
        try:
            message = await ws.receive(timeout=0.3)
        except asyncio.TimeoutError:
            return frames
        assert message.type is aiohttp.WSMsgType.TEXT, message
        frames.append(message.data)


async def test_no_topic_and_no_table_read_ever_carries_a_code(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # Every line of ours, and the server's own level for the libraries' (aiosqlite's DEBUG
    # lines show each statement's values, codes included: docs/guests.md says so).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="robodyne")
    server = api.server
    codes = []
    async with subscribed(api.session, server, "tables", "events", "status") as sockets:
        table = await api.table("T7")
        codes.append((await api.ok("GET", link_path(table["id"])))["code"])
        codes.append((await api.ok("POST", link_path(table["id"])))["code"])
        await api.ok("PATCH", f"/api/tables/{table['id']}", {"label": "T7b"})
        codes.append((await api.ok("POST", link_path(table["id"])))["code"])
        # Another program changes the table: polling republishes it from the database.
        db_write(server, "UPDATE dining_tables SET label = 'T7c' WHERE id = ?", table["id"])
        parts = parts_of(server)
        assert "tables" in await poll_once(parts.store, parts.hub, parts.status, parts.fleet)
        sent = [frame for ws in sockets for frame in await raw_frames(ws)]
    assert any("T7c" in frame for frame in sent)  # the updates did arrive
    async with api.session.ws_connect(str(server.make_url("/ws/tables").with_query(
            token=ADMIN))) as ws:
        sent += await raw_frames(ws)  # a fresh snapshot
    reads = [await api.call("GET", path) for path in (
        "/api/tables", "/api/events", "/api/status", "/api/orders")]
    assert all(reply.status == 200 for reply in reads)
    everything = "\n".join(sent + [str(reply.body) for reply in reads] + [caplog.text])
    assert "T7c" in everything
    for code in codes:
        assert code not in everything


async def qr(api: Api, table_id: int | str, token: str | None = ADMIN) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.session.get(api.server.make_url(f"/print/tables/{table_id}/qr.svg"),
                                     headers=headers)
    await response.read()
    return response


def segno_svg(url: str) -> bytes:
    """What segno draws for the url, said here apart from the server's own call."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="svg", border=4, xmldecl=False)
    return out.getvalue()


async def test_a_tables_qr_code_is_an_svg_of_its_url_for_the_admin_only(api: Api) -> None:
    table = await api.table()
    link = await api.ok("GET", link_path(table["id"]))
    response = await qr(api, table["id"])
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.read()
    root = ElementTree.fromstring(body)
    assert root.tag == SVG and int(root.get("width", "0")) > 0
    assert "style" not in body.decode()  # nothing the pages' policy would refuse
    assert body == segno_svg(link["url"])
    # A full QR code of the url (never a Micro QR), whose modules the path draws.
    made = segno.make_qr(link["url"], error="m")
    assert not made.is_micro and made.error == "M"
    assert int(root.get("width", "0")) == made.symbol_size()[0]
    # After a rotation the image is the new url's.
    rotated = await api.ok("POST", link_path(table["id"]))
    assert await (await qr(api, table["id"])).read() == segno_svg(rotated["url"])
    for role in ("floor", "kitchen", "maintenance", "robot"):
        assert (await qr(api, table["id"], ROLE_TOKEN[role])).status == 403
    assert (await qr(api, table["id"], None)).status == 401
    assert (await qr(api, 999)).status == 404
    assert (await qr(api, "x")).status == 404


async def sheet(api: Api, cookie: str | None, query: str = "") -> tuple[int, str, Any]:
    cookies = {TOKEN_COOKIE: cookie} if cookie else {}
    async with api.session.get(api.server.make_url(f"/print/tables{query}"), cookies=cookies,
                               allow_redirects=False) as response:
        return response.status, await response.text(), response.headers


async def test_the_sheet_is_the_admins_and_shows_nobody_else_a_code(api: Api) -> None:
    labelled = await api.table('<b>"T&1"</b>')
    plain = await api.table("T2")
    codes = [(await api.ok("GET", link_path(t["id"])))["code"] for t in (labelled, plain)]
    status, text, headers = await sheet(api, ADMIN)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert text.count('<article class="card"') == 2
    assert "&lt;b&gt;&quot;T&amp;1&quot;&lt;/b&gt;" in text and '<b>"T&1"</b>' not in text
    for table, code in zip((labelled, plain), codes):
        assert f"{base(api.server)}/t/{code}" in text
        assert f'src="/print/tables/{table["id"]}/qr.svg"' in text
    assert 'id="refused-login" class="banner" role="alert" hidden' in text
    for cookie, status_wanted, shown in ((None, 401, "refused-login"),
                                         ("no-such-token-12345678", 401, "refused-login"),
                                         (ROLE_TOKEN["floor"], 403, "refused-role"),
                                         (ROLE_TOKEN["kitchen"], 403, "refused-role")):
        status, text, headers = await sheet(api, cookie)
        assert status == status_wanted and headers["Cache-Control"] == "no-store"
        assert f'id="{shown}" class="banner" role="alert">' in text
        assert 'href="/login?next=%2Fprint%2Ftables"' in text
        assert "<article" not in text and "qr.svg" not in text
        assert not any(code in text for code in codes)
    # A token typed into the address bar becomes the cookie, and leaves the address.
    status, _, headers = await sheet(api, None, f"?token={ADMIN}&lang=ko")
    assert status == 303 and headers["Location"] == "/print/tables?lang=ko"
    assert TOKEN_COOKIE in headers.get("Set-Cookie", "")

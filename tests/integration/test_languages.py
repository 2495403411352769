"""Which language each page speaks: ?lang=, then the cookie, then Accept-Language."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ..support.server import MakeServer


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


async def test_pages_speak_the_language_asked_then_remembered_then_the_browsers(
    server: TestServer, session: aiohttp.ClientSession
) -> None:

    async def lang_of(path: str, **headers: str) -> tuple[str, str | None]:
        async with session.get(server.make_url(path), headers=headers,
                               allow_redirects=False) as response:
            text = await response.text()
            cookie = response.cookies.get("robodyne_lang")
            return text.split('<html lang="')[1].split('"')[0], cookie.value if cookie else None
    assert await lang_of("/kitchen") == ("en", None)
    assert await lang_of("/kitchen?lang=ko") == ("ko", "ko")
    assert await lang_of("/kitchen", Cookie="robodyne_lang=ko") == ("ko", None)
    assert await lang_of("/console", **{"Accept-Language": "ko-KR,ko;q=0.9"}) == ("ko", None)
    assert (await lang_of("/dashboard?lang=xx"))[0] == "en"

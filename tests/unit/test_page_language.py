"""Which language a page is served in, without sockets (web/pages.choose_language)."""

from __future__ import annotations

import pytest

from robodyne.web.pages import choose_language


@pytest.mark.parametrize(("query", "cookie", "accept", "chosen"), [
    ("ko", "en", "en-US", "ko"),          # ?lang= first
    (None, "ko", "en-US,en;q=0.9", "ko"),  # then the cookie
    ("fr", None, "ko-KR,ko;q=0.9,en;q=0.8", "ko"),  # an unknown ?lang= is passed over
    (None, None, "fr-FR,fr;q=0.9,ko;q=0.5,en;q=0.3", "ko"),  # the best language we speak
    (None, None, "en;q=0.2, ko;q=0.8", "ko"),
    (None, None, "ko;q=0", "en"),          # q=0 means not this one
    (None, None, "", "en"),
    (None, None, "garbage;;q=x", "en"),
])
def test_the_language_is_the_query_then_the_cookie_then_accept_language_then_english(
    query: str | None, cookie: str | None, accept: str, chosen: str
) -> None:
    assert choose_language(query, cookie, accept) == chosen

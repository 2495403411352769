"""GET /print/tables (SPEC §11.2, docs/guests.md): the admin's printable sheet, one card per
table with its label, its QR code and its url; and each QR code as an SVG of its own, drawn by
the server (an <img> of this origin: the pages' policy allows no inline style)."""

from __future__ import annotations

import html
import io
from typing import Final

import segno
from aiohttp import web

from ..core.errors import Forbidden, Unauthorized
from ..domain.links import TableLinks
from .api import path_id
from .auth import Auth
from .links import LinkUrls
from .needs import PRINTED_LINKS, Caller
from .pages import LANGUAGES, STATIC_ROOT, Pages, language, page_response

PATH: Final = "/print/tables"
# The sheet and its images carry every table's secret: kept by no cache, not even the browser's.
NO_STORE: Final = "no-store"
# A refused sheet shows one of the two notes, with /login and the way back here.
REFUSED: Final = {401: "{login_hidden}", 403: "{role_hidden}"}


def qr_svg(url: str) -> bytes:
    """The url as a QR code in SVG: a full QR code (a Micro QR, which segno picks for short
    data, is not read by every phone's camera), medium error correction (15% of it may be
    smudged), and the 4-module quiet zone the standard asks for."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="svg", border=4, xmldecl=False)
    return out.getvalue()


def card(table_id: int, label: str, url: str) -> str:
    """One table's card, every value escaped."""
    return (f'<article class="card" data-table-id="{table_id}">'
            f'<h2 class="label">{html.escape(label)}</h2>'
            f'<img class="qr" src="{PATH}/{table_id}/qr.svg"'
            f' data-i18n-aria-label="print.qr" aria-label="QR code">'
            f'<p class="scan" data-i18n="print.scan">Scan to order</p>'
            f'<p class="url">{html.escape(url)}</p></article>')


class PrintSheet:
    """The sheet in its language, filled in per request from the template read once."""

    def __init__(self, links: TableLinks, urls: LinkUrls, auth: Auth, pages: Pages) -> None:
        self._links = links
        self._urls = urls
        self._auth = auth
        self._pages = pages
        template = (STATIC_ROOT / "print_tables.html").read_text(encoding="utf-8")
        self._templates = {lang: template.replace("{lang}", lang) for lang in LANGUAGES}

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(PATH, self.page)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The sheet for an admin; anyone else gets it empty, 401 or 403, with a way to sign
        in (as another)."""
        self._pages.take_token(request)
        lang = language(request)
        try:
            await PRINTED_LINKS.check(request, self._auth)
        except (Unauthorized, Forbidden) as err:
            status = 401 if isinstance(err, Unauthorized) else 403
            return page_response(request, self._fill(lang, "", REFUSED[status]), lang,
                                 status=status, cache=NO_STORE)
        cards = "\n".join(card(table.id, table.label, self._urls.url(request, code))
                          for table, code in await self._links.every())
        return page_response(request, self._fill(lang, cards, None), lang, cache=NO_STORE)

    def _fill(self, lang: str, cards: str, shown: str | None) -> str:
        text = self._templates[lang]
        for note in REFUSED.values():
            text = text.replace(note, "" if note == shown else " hidden")
        text = text.replace("{sheet_hidden}", " hidden" if shown else "")
        # Last, so that nothing a table's label says is read as a placeholder.
        return text.replace("{cards}", cards)

    async def qr(self, request: web.Request, caller: Caller) -> web.Response:
        """One table's QR code (declared in web/routes.py, for the admin)."""
        code = await self._links.code(path_id(request))
        return web.Response(body=qr_svg(self._urls.url(request, code)),
                            content_type="image/svg+xml", headers={"Cache-Control": NO_STORE})

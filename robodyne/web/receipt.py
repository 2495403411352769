"""GET /receipt/{visit_id} (SPEC §12.3, docs/pages.md "Receipt"): a visit's receipt, drawn by
the server in the page's language, one narrow column that prints on 80 mm thermal paper and
on A4 alike; its refusals (401, 403) and an unknown visit (404) are pages too."""

from __future__ import annotations

import html
import re
from datetime import datetime, tzinfo
from fractions import Fraction
from typing import Final
from urllib.parse import quote

import orjson
from aiohttp import web

from ..core.errors import Forbidden, NotFound, Unauthorized
from ..core.money import CheckLine, exact, format_amount
from ..core.models import Payment, Visit, VisitStatus
from ..core.topics import Topic
from ..domain.visits import Visits
from ..settings import RestaurantSettings
from ..store.store import Store
from .api import path_id
from .auth import Auth
from .needs import Read
from .pages import LANGUAGES, STATIC_ROOT, Pages, language, page_response

PATH: Final = "/receipt/{id}"
# Whoever may read the visits topic (admin, floor) may see what a party ordered and paid.
RECEIPTS: Final = Read(Topic.VISITS)
# A receipt says what a party paid: kept by no cache, not even the browser's.
NO_STORE: Final = "no-store"
# A page that shows no receipt shows one of these notes instead.
NOTES: Final = {401: "{login_hidden}", 403: "{role_hidden}", 404: "{missing_hidden}"}
# An element's text in the template, in English, that the catalogue says in the page's language.
TRANSLATED: Final = re.compile(r'(data-i18n="([\w.]+)"[^>]*>)[^<]*(<)')


def catalogue(lang: str) -> dict[str, str]:
    """The staff pages' words in `lang` (web/static/i18n), English where it has none."""
    def read(code: str) -> dict[str, str]:
        words: dict[str, str] = orjson.loads((STATIC_ROOT / "i18n" / f"{code}.json").read_bytes())
        return words
    return read("en") | read(lang)


def decimal(number: Fraction) -> str:
    """A setting's number as it was written: 10, 7.5 (a percentage never needs more digits)."""
    return f"{float(number):g}"


class Words:
    """A receipt's words and numbers in one language."""

    def __init__(self, lang: str, words: dict[str, str], currency: str, zone: tzinfo) -> None:
        self.lang = lang
        self._words = words
        self._currency = currency
        self._zone = zone

    def __call__(self, key: str, **values: str) -> str:
        """The catalogue's text for `key`, escaped for HTML, its {placeholders} filled with
        `values` (HTML already)."""
        text = html.escape(self._words[key])
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    def money(self, amount: int) -> str:
        return html.escape(format_amount(amount, self._currency, self.lang))

    def time(self, stamp: str) -> str:
        """A stored UTC stamp as the restaurant's wall-clock date and time, in a <time>."""
        local = datetime.fromisoformat(stamp).astimezone(self._zone)
        return (f'<time datetime="{html.escape(local.isoformat(timespec="seconds"))}">'
                f'{local:%Y-%m-%d %H:%M}</time>')


def _row(words: Words, row_id: str, label: str, amount: int, extra: str = "") -> str:
    return (f'<tr id="{row_id}" class="sum{extra}" data-amount="{amount}">'
            f'<th scope="row">{label}</th><td class="amount">{words.money(amount)}</td></tr>')


def _line(words: Words, line: CheckLine) -> str:
    each = words("receipt.each", qty=str(line.qty), price=words.money(line.price))
    return (f'<tr class="line" data-order-id="{line.order_id}" data-index="{line.index}"'
            f' data-qty="{line.qty}" data-price="{line.price}" data-amount="{line.amount}">'
            f'<th scope="row"><span class="name">{html.escape(line.name)}</span>'
            f'<span class="each">{each}</span></th>'
            f'<td class="amount">{words.money(line.amount)}</td></tr>')


def _payment(words: Words, payment: Payment) -> str:
    method = words(f"receipt.method.{payment.method.value}")
    reference = (f' <span class="reference">{html.escape(payment.reference)}</span>'
                 if payment.reference else "")
    return (f'<tr class="payment" data-id="{payment.id}" data-method="{payment.method.value}"'
            f' data-amount="{payment.amount}"><th scope="row"><span class="method">{method}</span>'
            f'{reference} <span class="when">{words.time(payment.created_at)}</span></th>'
            f'<td class="amount">{words.money(payment.amount)}</td></tr>')


def receipt(words: Words, restaurant: RestaurantSettings, visit: Visit, table: str) -> str:
    """The receipt of `visit` at the table labelled `table`: every value escaped."""
    check = visit.check
    lines = "".join(_line(words, line) for line in check.lines) or (
        f'<tr class="empty"><td colspan="2">{words("receipt.no_lines")}</td></tr>')
    rate = decimal(exact(restaurant.tax_rate) * 100)
    sums = [_row(words, "subtotal", words("receipt.subtotal"), check.subtotal)]
    if check.service_charge:
        sums.append(_row(words, "service-charge", words(
            "receipt.service_charge", pct=decimal(exact(restaurant.service_charge_pct))),
            check.service_charge))
    if restaurant.prices_include_tax:
        # The tax is part of the total: said under it, as Korean receipts do.
        sums.append(_row(words, "total", words("receipt.total"), check.total, " total"))
        sums.append(_row(words, "tax", words("receipt.tax_included", rate=rate), check.tax,
                         " included"))
    else:
        sums.append(_row(words, "tax", words("receipt.tax_added", rate=rate), check.tax))
        sums.append(_row(words, "total", words("receipt.total"), check.total, " total"))
    payments = "".join(_payment(words, p) for p in visit.payments) or (
        f'<tr class="empty"><td colspan="2">{words("receipt.no_payments")}</td></tr>')
    closed = visit.status is VisitStatus.CLOSED
    times = [f'<dt>{words("receipt.opened")}</dt><dd id="opened">'
             f'{words.time(visit.opened_at)}</dd>']
    if visit.closed_at is not None:
        times.append(f'<dt>{words("receipt.closed")}</dt><dd id="closed">'
                     f'{words.time(visit.closed_at)}</dd>')
    if visit.party_size is not None:
        times.append(f'<dt>{words("receipt.party")}</dt><dd id="party">{visit.party_size}</dd>')
    state = (f'<p id="state" class="state closed">{words("receipt.thanks")}</p>' if closed else
             f'<p id="state" class="state open" role="status">{words("receipt.open")}</p>')
    return (
        f'<article class="receipt" data-visit-id="{visit.id}" data-status="{visit.status.value}"'
        f' data-currency="{html.escape(check.currency)}">'
        f'<h2 id="restaurant" class="restaurant">{html.escape(restaurant.name)}</h2>'
        f'<p class="table">{words("receipt.table")} <strong id="table">{html.escape(table)}'
        f'</strong> · {words("receipt.number", id=str(visit.id))}</p>'
        f'<dl class="times">{"".join(times)}</dl>'
        f'<table class="lines"><thead><tr><th scope="col">{words("receipt.item")}</th>'
        f'<th scope="col" class="amount">{words("receipt.amount")}</th></tr></thead>'
        f'<tbody>{lines}</tbody></table>'
        f'<table class="sums"><tbody>{"".join(sums)}</tbody></table>'
        f'<h3>{words("receipt.payments")}</h3>'
        f'<table class="payments"><tbody>{payments}</tbody></table>'
        f'<table class="sums"><tbody>{_row(words, "paid", words("receipt.paid"), check.paid)}'
        f'{_row(words, "due", words("receipt.due"), check.due, " due")}</tbody></table>'
        f'{state}</article>')


class Receipts:
    """The receipt page in its language, filled in per request from the template read once."""

    def __init__(self, visits: Visits, store: Store, restaurant: RestaurantSettings,
                 zone: tzinfo, auth: Auth, pages: Pages) -> None:
        self._visits = visits
        self._store = store
        self._restaurant = restaurant
        self._zone = zone
        self._auth = auth
        self._pages = pages
        template = (STATIC_ROOT / "receipt.html").read_text(encoding="utf-8")
        self._catalogues = {lang: catalogue(lang) for lang in LANGUAGES}
        self._templates = {lang: self._translated(template, lang) for lang in LANGUAGES}

    def _translated(self, template: str, lang: str) -> str:
        """The template with every data-i18n element's text in `lang`, so that the receipt
        prints in its language with no script run."""
        words = self._catalogues[lang]
        text = TRANSLATED.sub(lambda m: m[1] + html.escape(words[m[2]]) + m[3], template)
        return text.replace("{lang}", lang)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get(PATH, self.page)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The receipt for admin and floor; anyone else a page without it, 401 or 403, with
        a way to sign in (as another); an unknown visit 404."""
        self._pages.take_token(request)
        lang = language(request)
        try:
            await RECEIPTS.check(request, self._auth)
            visit = await self._visits.get(path_id(request))
        except (Unauthorized, Forbidden, NotFound) as err:
            status = (401 if isinstance(err, Unauthorized) else
                      403 if isinstance(err, Forbidden) else 404)
            return page_response(request, self._fill(request, lang, "", NOTES[status]), lang,
                                 status=status, cache=NO_STORE)
        table = await self._store.table(visit.table_id)
        label = table.label if table is not None else f"#{visit.table_id}"
        # In the check's own currency: the one it was computed in.
        words = Words(lang, self._catalogues[lang], visit.check.currency, self._zone)
        shown = receipt(words, self._restaurant, visit, label)
        return page_response(request, self._fill(request, lang, shown, None), lang,
                             cache=NO_STORE)

    def _fill(self, request: web.Request, lang: str, shown: str, note: str | None) -> str:
        text = self._templates[lang]
        for each in NOTES.values():
            text = text.replace(each, "" if each == note else " hidden")
        text = text.replace("{receipt_hidden}", " hidden" if note else "")
        text = text.replace("{next}", html.escape(quote(request.path, safe="")))
        # Last, so that nothing a dish's name or a reference says is read as a placeholder.
        return text.replace("{receipt}", shown)

"""The demo's guests on their phones: each party opens its table's link and orders over HTTP
from this very server, through the guest API as a real guest's phone does (SPEC §11.3, §11.5),
so a newcomer who opens the same link from the dashboard watches a real guest's view.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import ssl
import uuid
from typing import Any, Final, Protocol, Required, TypedDict

import aiohttp

from ..core.calls import CallKind
from ..domain.links import TableLinks
from .seed import MENU

log = logging.getLogger(__name__)

# One request of a party; a server slower than this loses the party, never the demo.
REQUEST_TIMEOUT_S: Final = 10.0
# The answers a guest's phone expects now and then: the table taken or out of service, a dish
# sold out (409), the visit closed meanwhile (403), too many orders (429). Logged at DEBUG.
REFUSALS: Final = frozenset({403, 409, 429})
# What the demo's guests call for once they have ordered (never a robot: those are staff's).
CALL_KINDS: Final = (CallKind.WATER, CallKind.STAFF, CallKind.BILL)
# The notes a guest writes on a dish: what the kitchen hears from them besides its options.
NOTES: Final = {dish.name: dish.modifiers for dish in MENU}


class GuestLine(TypedDict, total=False):
    """A line of a guest order as POST /api/guest/orders takes it."""

    menu_id: Required[int]
    qty: Required[int]
    options: list[str]
    note: str


class Phones(Protocol):
    """How a seated party orders: True once its order is placed."""

    async def order(self, table_id: int, lines: list[GuestLine],
                    call: CallKind | None) -> bool: ...


def pick_lines(menu: list[dict[str, Any]], rng: random.Random) -> list[GuestLine]:
    """One to four dishes the guests can order now, each with some of its options and now and
    then a note; none when nothing on the menu is available."""
    dishes = [dish for dish in menu if dish["available"]]
    lines: list[GuestLine] = []
    for dish in rng.sample(dishes, k=min(len(dishes), rng.randint(1, 4))):
        line = GuestLine(menu_id=dish["id"], qty=rng.randint(1, 2),
                         options=[o["name"] for o in dish["options"] if rng.random() < 0.3])
        notes = NOTES.get(dish["name"], [])
        if notes and rng.random() < 0.5:
            line["note"] = rng.choice(notes)
        lines.append(line)
    return lines


def own_url(host: str, port: int, tls: bool) -> str:
    """This server's HTTP site as this process reaches it: the configured host and port, a
    wildcard host through loopback (asyncio binds "::" for IPv6 only, so "::" is "::1")."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name, not an address
    return f"{'https' if tls else 'http'}://{host}:{port}"


class GuestPhones:
    """Each party's phone: a guest session from its table's link (the robodyne_guest cookie in
    a cookie jar of its own), its order, and perhaps a call, over HTTP to this server."""

    def __init__(self, base_url: str, links: TableLinks,
                 tls: ssl.SSLContext | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._links = links
        # Under TLS: the context that checks no certificate (tls.unverified_client_context).
        self._tls = tls

    async def order(self, table_id: int, lines: list[GuestLine],
                    call: CallKind | None) -> bool:
        """Open the table's link, order, then make the call if any: True once the order is
        placed. A refusal, a server too slow or gone is one DEBUG line and False; the link's
        code is read from the domain, whose errors (no such table) are the caller's."""
        code = await self._links.code(table_id)
        # A jar that keeps cookies of an IP address (127.0.0.1), as a browser's does.
        async with aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True),
                connector=aiohttp.TCPConnector(ssl=self._tls if self._tls is not None else True),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                # The guest page's own origin, as its script's writes carry it (SPEC §5).
                headers={"Origin": self._base}) as session:
            try:
                async with session.get(f"{self._base}/t/{code}") as page:
                    if page.status != 200:
                        log.debug("demo guest at table %d: the link answered %d", table_id,
                                  page.status)
                        return False
                # The key makes a retry the same order, as a phone on a bad network retries.
                key = {"Idempotency-Key": uuid.uuid4().hex}
                try:
                    placed = await self._post(session, table_id, "/api/guest/orders",
                                              {"items": lines}, key)
                except (aiohttp.ClientConnectionError, TimeoutError):
                    placed = await self._post(session, table_id, "/api/guest/orders",
                                              {"items": lines}, key)
                if placed and call is not None:
                    await self._post(session, table_id, "/api/guest/calls", {"kind": call})
                return placed
            except (aiohttp.ClientError, TimeoutError) as err:
                log.debug("demo guest at table %d: %s", table_id, str(err) or repr(err))
                return False

    async def _post(self, session: aiohttp.ClientSession, table_id: int, path: str,
                    body: dict[str, Any], headers: dict[str, str] | None = None) -> bool:
        """True for a 2xx; a refusal is logged and False."""
        async with session.post(f"{self._base}{path}", json=body, headers=headers) as answer:
            if answer.status < 300:
                return True
            said = (await answer.text())[:200]
        level = logging.DEBUG if answer.status in REFUSALS else logging.INFO
        log.log(level, "demo guest at table %d: %s answered %d %s", table_id, path,
                answer.status, said)
        return False

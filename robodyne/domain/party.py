"""A waiting party's own page session (SPEC §12.4, docs/api.md, "Waitlist"): the cookie
`robodyne_party` holds the party's link code, the secret its page's URL already is, so a
session is nothing but the party as it stands now — a restart forgets none, and nothing of
its own is stored.

A session ends when its party is `left` or `no_show` (at once), is deleted, or was `seated`
SEATED_KEPT ago: checked on every read (the cookie's need, the socket's handshake), and for
open sockets by the party views' sweep (domain/party_views.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from ..core.links import CODE_PATTERN
from ..core.models import CustomerStatus
from ..store.store import Store

# A seated party's page keeps showing its table this long (then the session ends).
SEATED_KEPT: Final = timedelta(minutes=10)
GONE: Final = frozenset({CustomerStatus.LEFT, CustomerStatus.NO_SHOW})


@dataclass(frozen=True)
class PartySession:
    """The party a page's cookie opens, as it is now."""

    customer_id: int
    code: str
    status: CustomerStatus
    seated_at: str | None
    joined_at: str  # when the party joined the line: its page counts the wait from it

    def ended(self, now: datetime | None = None) -> str | None:
        """Why the session is over, if it is: the party left, never came, or sat down
        SEATED_KEPT ago."""
        return ended(self.status, self.seated_at, now)


def ended(status: CustomerStatus, seated_at: str | None, now: datetime | None = None
          ) -> str | None:
    """Why a party's session is over (its status), or None while it lasts."""
    if status in GONE:
        return str(status)
    if status is CustomerStatus.SEATED and seated_at is not None:
        now = now or datetime.now(timezone.utc)
        if now - datetime.fromisoformat(seated_at) >= SEATED_KEPT:
            return "seated"
    return None


class PartySessions:
    """Parties looked up by their page's code."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def session(self, code: str | None) -> PartySession | None:
        """The party the code opens; None for none (an unknown or malformed code, a party
        deleted)."""
        if not code or not CODE_PATTERN.fullmatch(code):
            return None
        customer_id = await self._store.waitlist.party_of(code)
        party = await self._store.customer(customer_id) if customer_id is not None else None
        if party is None:
            return None
        return PartySession(customer_id=party.id, code=code, status=party.status,
                            seated_at=party.seated_at, joined_at=party.created_at)

"""Guest sessions (SPEC §11.3, docs/guests.md): what a table link's cookie is bound to — its
table, the visit it belongs to, whether it has ended — and what a guest may do with it:
order, cancel an order nobody has started, call.

A session's row never changes (store/guests.py): its visit is the table's first visit from
the one open when it was made (or the next one opened there), and it has ended when that
visit is closed or its link code was rotated away. So a session is ended by what ends visits
and links, with nothing of its own to update, and a restart forgets none.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final, Literal

from ..core.calls import Call, CallKind
from ..core.errors import Conflict, Invalid, NotFound
from ..core.models import Order, OrderLine, OrderStatus, VisitStatus, iso
from ..settings import GuestSettings
from ..store.store import Store
from .calls import Calls
from .links import TableLinks
from .restaurant import Restaurant

# 32 random bytes: the cookie is a bearer secret like a token.
TOKEN_BYTES: Final = 32
# Sessions are forgotten this long after they were made (a visit lasts hours, not days).
SESSION_KEPT: Final = timedelta(days=2)

Ended = Literal["link_rotated", "visit_closed"]


def token_hash(token: str) -> str:
    """What the database keeps of a session's cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class GuestSession:
    """A guest session as it stands now."""

    token_hash: str
    table_id: int
    code: str
    first_visit_id: int
    # Whether its code still opens its table (a rotation ends it).
    link_valid: bool
    # Its visit, once it has one.
    visit_id: int | None
    visit_open: bool

    @property
    def ended(self) -> Ended | None:
        """Why the session is over, if it is: its link rotated away, or its visit closed."""
        if not self.link_valid:
            return "link_rotated"
        if self.visit_id is not None and not self.visit_open:
            return "visit_closed"
        return None

    def belongs_to(self, table_id: int, visit_id: int) -> bool:
        """Whether the session is one of this closing visit's: of its table, and made before
        it closed (a session's visit is the first from first_visit_id on, so one made while
        it was open or before it opened has first_visit_id at most its id)."""
        return self.table_id == table_id and self.first_visit_id <= visit_id


class GuestSessions:
    """Sessions made from table links, and looked up by their cookie."""

    def __init__(self, store: Store, links: TableLinks) -> None:
        self._store = store
        self._links = links

    async def start(self, code: str) -> tuple[str, GuestSession] | None:
        """A new session of the table the code opens, and its cookie; None for a code that
        opens nothing."""
        table = await self._links.table_for(code)
        if table is None:
            return None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self._store.guests.add(token_hash(token), table.id, code)
        session = await self.session(token)
        assert session is not None  # just written
        return token, session

    async def session(self, token: str | None) -> GuestSession | None:
        """The session a cookie holds, as it stands now; None for none or an unknown one."""
        if not token or len(token) > 128:
            return None
        hashed = token_hash(token)
        row = await self._store.guests.resolved(hashed)
        if row is None:
            return None
        return GuestSession(
            token_hash=hashed, table_id=row["table_id"], code=row["code"],
            first_visit_id=row["first_visit_id"], link_valid=bool(row["link_valid"]),
            visit_id=row["visit_id"], visit_open=row["visit_status"] == VisitStatus.OPEN)

    async def table_label(self, table_id: int) -> str:
        table = await self._store.table(table_id)
        return table.label if table is not None else str(table_id)

    async def prune(self) -> int:
        """Forget sessions older than SESSION_KEPT."""
        return await self._store.guests.prune(iso(datetime.now(timezone.utc) - SESSION_KEPT))


class GuestDesk:
    """What a guest session may write (SPEC §11.5): the rules, on the restaurant's own."""

    def __init__(self, restaurant: Restaurant, calls: Calls, guest: GuestSettings) -> None:
        self._restaurant = restaurant
        self._calls = calls
        self._max_items = guest.max_items

    async def order(self, session: GuestSession, lines: list[OrderLine], note: str) -> Order:
        """Placed for the session's table and visit as staff's would be (domain/visits.py's
        add_guest_order says which visit, and refuses past the visit's rate); at most
        guest.max_items lines."""
        if len(lines) > self._max_items:
            raise Invalid(f"items: at most {self._max_items} lines in one order")
        return await self._restaurant.place_order(session.table_id, lines, note,
                                                  guest_from=session.first_visit_id)

    async def cancel(self, session: GuestSession, order_id: int) -> Order:
        """Cancelled, if it is the visit's and the kitchen has not started it."""
        def untouched(order: Order) -> None:
            if session.visit_id is None or order.visit_id != session.visit_id:
                raise NotFound(f"order {order_id} not found")
            if order.status is not OrderStatus.PLACED or any(item.done for item in order.items):
                raise Conflict(f"order {order_id} is already being prepared: ask the staff")
        return await self._restaurant.change_order(order_id, status=OrderStatus.CANCELLED,
                                                   only_if=untouched)

    async def call(self, session: GuestSession, kind: CallKind) -> tuple[Call, bool]:
        return await self._calls.call(session.table_id, session.visit_id, kind)

"""What a REST route needs of its caller, and the check of each kind of need: the one place
where a request's token meets the roles of core/roles.py.

Each route names its need once, in the table of web/routes.py; the table's one wrapper
(web/routing.py) runs the need's check before the handler and hands the handler the Caller the
check proved, so no handler checks anything itself. A caller is a token's Grant, a guest
session (cookie robodyne_guest, bound to one table, SPEC §11.3) or a waiting party's session
(cookie robodyne_party, SPEC §12.4): GUEST routes take only a guest, PARTY routes only a party,
the menu's read a guest or a token; every other need asks for a token, so a guest or a party
gets 401 there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

from aiohttp import web

from ..core.errors import Forbidden, NotFound, Unauthorized, VisitClosed
from ..core.roles import (
    LINK_ROLES,
    METRICS_ROLES,
    PRINT_ROLES,
    REPORT_ROLES,
    TOKEN_ROLES,
    Role,
    Scope,
    may_read,
    may_write,
)
from ..core.tokens import Grant
from ..core.topics import TOPIC_NAMES, Topic
from ..domain.guests import GuestSession
from ..domain.party import PartySession
from .auth import Auth
from .bodies import Body, read_body

Caller: TypeAlias = Grant | GuestSession | PartySession
# The topics a guest session may read besides its own table's stream.
GUEST_TOPICS: Final = frozenset({Topic.MENU})


class Need(Protocol):
    """What a caller must be to use a route."""

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        """The caller, or Unauthorized / Forbidden / NotFound before the handler runs."""
        ...


def _may_write(grant: Grant, scope: Scope) -> Grant:
    if not may_write(grant.role, scope):
        raise Forbidden(f"role {grant.role} may not write {scope}")
    return grant


@dataclass(frozen=True)
class Guest:
    """A guest session that has not ended: 401 without one or after its link was rotated,
    403 visit_closed once its visit closed."""

    async def check(self, request: web.Request, auth: Auth) -> GuestSession:
        session = await auth.guest(request)
        if session is None:
            raise Unauthorized("no guest session: open the table's link")
        if session.ended == "link_rotated":
            raise Unauthorized("this table's link has changed: scan the code on the table")
        if session.ended == "visit_closed":
            raise VisitClosed("this visit has ended: thank you")
        return session


GUEST = Guest()


@dataclass(frozen=True)
class Party:
    """A waiting party's page session that has not ended (cookie robodyne_party, SPEC §12.4):
    401 without one, or once its party left, never came, or sat down 10 minutes ago."""

    async def check(self, request: web.Request, auth: Auth) -> PartySession:
        session = await auth.party(request)
        if session is None:
            raise Unauthorized("no party session: open your waitlist link")
        why = session.ended()
        if why is not None:
            raise Unauthorized(f"this waitlist link has ended ({why})")
        return session


PARTY = Party()


def party_of(caller: Caller) -> PartySession:
    """The session a PARTY route's need proved (the route table pairs them)."""
    if not isinstance(caller, PartySession):
        raise Unauthorized("a party session only")
    return caller


def guest_of(caller: Caller) -> GuestSession:
    """The session a GUEST route's need proved (the route table pairs them)."""
    if not isinstance(caller, GuestSession):
        raise Unauthorized("a guest session only")
    return caller


def grant_of(caller: Caller) -> Grant:
    """The grant a token's need proved (every need but GUEST and the menu's read)."""
    if not isinstance(caller, Grant):
        raise Unauthorized("a token only")
    return caller


@dataclass(frozen=True)
class AnyToken:
    """Any token the server knows, whatever its role."""

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        return auth.require_grant(request)


@dataclass(frozen=True)
class Read:
    """A role that may read `topic`, or else the topic the path names: an unknown one is 404
    before the token is looked at."""

    topic: Topic | None = None

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        topic = self.topic or request.match_info["topic"]
        if topic not in TOPIC_NAMES:
            raise NotFound(f"unknown topic {topic!r}")
        if topic in GUEST_TOPICS and auth.grant(request) is None and (
                await auth.guest(request)) is not None:
            return await GUEST.check(request, auth)
        grant = auth.require_grant(request)
        if not may_read(grant.role, topic):
            raise Forbidden(f"role {grant.role} may not read {topic}")
        return grant


@dataclass(frozen=True)
class Write:
    """A role that may write `scope`."""

    scope: Scope

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        return _may_write(auth.require_grant(request), self.scope)


@dataclass(frozen=True)
class WriteFields:
    """A role that may write `scope` to send only `fields` of the `body`; a body with any other
    field needs `wider` too. The body is read after the first role check, as for any write."""

    scope: Scope
    body: type[Body]
    fields: frozenset[str]
    wider: Scope

    def widens(self, sent: frozenset[str]) -> bool:
        """Whether a body that sent these fields needs `wider`."""
        return bool(sent - self.fields)

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        grant = _may_write(auth.require_grant(request), self.scope)
        sent = (await read_body(request, self.body)).sent()
        return _may_write(grant, self.wider) if self.widens(sent) else grant


@dataclass(frozen=True)
class WriteWithout(WriteFields):
    """A role that may write `scope` to send the `body` without any of `fields` (paths such as
    "items.price", web/bodies.Body.sent); a body with one of them needs `wider` too."""

    def widens(self, sent: frozenset[str]) -> bool:
        return bool(sent & self.fields)


@dataclass(frozen=True)
class OneOf:
    """A role among `roles`, for what the roles' tables do not cover (`what` names it)."""

    roles: frozenset[Role]
    what: str

    async def check(self, request: web.Request, auth: Auth) -> Caller:
        grant = auth.require_grant(request)
        if grant.role not in self.roles:
            raise Forbidden(f"role {grant.role} may not read {self.what}")
        return grant


ANY_TOKEN = AnyToken()
READ_NAMED_TOPIC = Read()
REPORTS = OneOf(REPORT_ROLES, "reports")
METRICS = OneOf(METRICS_ROLES, "metrics")
TABLE_LINKS = OneOf(LINK_ROLES, "table links")
PRINTED_LINKS = OneOf(PRINT_ROLES, "the printed table links")
TOKENS = OneOf(TOKEN_ROLES, "the tokens")

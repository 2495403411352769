"""/ws/{topic} (docs/protocol.md, "WebSocket topics"): the handshake checks, one Connection
per client, the watchdog for pings and stalls, and closing everyone at shutdown."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from typing import Final

from aiohttp import web

from ..core.errors import DomainError, Forbidden, NotFound, Unauthorized, VisitClosed
from ..core.roles import Role
from ..core.stats import Stats
from ..core.topics import GUEST_STREAM, PARTY_STREAM
from ..domain.guest_views import GuestViews
from ..domain.party_views import PartyViews
from ..domain.guests import GuestSession
from ..domain.links import TableLinks
from ..core.text import ascii_int
from ..live.hub import Hub, Stream
from ..settings import WebsocketSettings
from ..wire import frames
from ..wire.frames import Close
from .auth import Auth, request_token
from .connection import CLOSE_TIMEOUT_S, Connection, count_close
from .needs import READ_NAMED_TOPIC, grant_of

log = logging.getLogger(__name__)

# Clients are told to wait this long, plus jitter, before reconnecting after a shutdown.
RECONNECT_AFTER_MS: Final = (1000, 5000)
# A read need's refusal (web/needs.py) as a handshake's close code.
# The first entry the error is an instance of: a guest whose visit closed (a Forbidden to
# REST, 403 visit_closed) has no session any more here.
REFUSED_AS: Final[dict[type[DomainError], Close]] = {
    NotFound: Close.UNSUPPORTED, Unauthorized: Close.UNAUTHORIZED,
    VisitClosed: Close.UNAUTHORIZED, Forbidden: Close.FORBIDDEN}
# A table's guests may hold this many sockets together (their stream and the menu, two per
# phone), however many sessions they make; they never count against a topic's staff limit.
GUEST_SOCKETS_PER_TABLE: Final = 40


def _resume_point(request: web.Request) -> tuple[int | None, str | None]:
    # Anything but ASCII digits is an unusable resume point: that just means a fresh snapshot.
    return ascii_int(request.query.get("since", "")), request.query.get("epoch")


class WebSockets:
    """Every WebSocket client: accepted, watched, and closed at shutdown."""

    def __init__(self, settings: WebsocketSettings, auth: Auth, hub: Hub, stats: Stats,
                 guest_views: GuestViews, links: TableLinks, party_views: PartyViews, *,
                 max_per_token: int) -> None:
        self._settings = settings
        self._auth = auth
        self._hub = hub
        self._guest_views = guest_views
        self._party_views = party_views
        self._links = links
        self._stats = stats
        self._max_per_token = max_per_token
        self.connections: set[Connection] = set()
        # Open sockets per non-admin token: one tablet's token cannot take every slot.
        self._per_token: Counter[str] = Counter()
        # Guests' sockets per topic (the menu's): not counted against its staff limit.
        self._guests_on: Counter[str] = Counter()
        self.shutting_down = False

    def _revoked(self, tokens: frozenset[str]) -> None:
        for conn in list(self.connections):
            if conn.token in tokens:
                conn.close(Close.UNAUTHORIZED, "token revoked")

    def _ended(self, table_id: int, visit_id: int) -> None:
        """A visit closed: its guests' sockets get the view that says so, then 4401."""
        for conn in list(self.connections):
            if conn.guest is not None and conn.guest.belongs_to(table_id, visit_id):
                conn.close(Close.UNAUTHORIZED, "visit_closed", drain=True)

    def _party_ended(self, customer_id: int) -> None:
        """A party's session is over: its sockets get the final view, then 4401."""
        holder = _party_holder(customer_id)
        for conn in list(self.connections):
            if conn.token == holder:
                conn.close(Close.UNAUTHORIZED, "party_ended", drain=True)

    async def _party(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        """/ws/party: a waiting party's own stream; only its cookie opens it (4401 for any
        other caller, and once its session has ended, saying why)."""
        session = await self._auth.party(request)
        why = "no party session" if session is None else session.ended()
        if session is None or why is not None:
            await self.refuse(ws, (Close.UNAUTHORIZED, why or "no party session"))
            return
        stream = self._party_views.stream_of(session.customer_id)
        holder = _party_holder(session.customer_id)
        refusal = self.crowded(stream, holder)
        if refusal is not None:
            await self.refuse(ws, refusal)
            return
        await self.serve(ws, request, stream, token=holder)

    async def _rotated(self, table_id: int, old_code: str) -> None:
        for conn in list(self.connections):
            if conn.guest is not None and conn.guest.table_id == table_id \
                    and conn.guest.code == old_code:
                conn.close(Close.UNAUTHORIZED, "link_rotated")

    async def _admit(self, request: web.Request, topic: str
                     ) -> tuple[Close, str] | GuestSession | None:
        """The first handshake check this one fails, in the order of docs/protocol.md: who may
        read the topic is the REST read's need (web/needs.py), its refusals as close codes.
        Admitted: a guest's session (a guest reading the menu), else None."""
        try:
            caller = await READ_NAMED_TOPIC.check(request, self._auth)
        except (NotFound, Unauthorized, Forbidden) as err:
            return next(code for kind, code in REFUSED_AS.items()
                        if isinstance(err, kind)), str(err)
        if isinstance(caller, GuestSession):
            return self.guests_crowded(caller) or caller
        holder = None if grant_of(caller).role is Role.ADMIN else request_token(request)
        return self.crowded(self._hub.topics[topic], holder)

    async def _guest(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        """/ws/guest: a live guest session's table stream, or 4401 saying why not (the page
        tells an ended visit from a link that no longer opens anything)."""
        session = await self._auth.guest(request)
        if session is None:
            await self.refuse(ws, (Close.UNAUTHORIZED, "no guest session"))
            return
        if session.ended is not None:
            await self.refuse(ws, (Close.UNAUTHORIZED, session.ended))
            return
        refusal = self.guests_crowded(session)
        if refusal is not None:
            await self.refuse(ws, refusal)
            return
        await self.serve(ws, request, self._guest_views.stream(session.table_id),
                         token=_table_holder(session), guest=session)

    def guests_crowded(self, session: GuestSession) -> tuple[Close, str] | None:
        """A guest's socket: shutdown, and the sockets its table's guests hold together."""
        if self.shutting_down:
            return Close.GOING_AWAY, "server is shutting down"
        if self._per_token[_table_holder(session)] >= GUEST_SOCKETS_PER_TABLE:
            return Close.POLICY, f"this table's guests already hold {GUEST_SOCKETS_PER_TABLE}" \
                " sockets"
        return None

    def crowded(self, stream: Stream, holder: str | None) -> tuple[Close, str] | None:
        """The checks every stream shares once its reader may read it: shutdown, the stream's
        client limit, and the sockets one `holder` (a non-admin token) may hold."""
        if self.shutting_down:
            return Close.GOING_AWAY, "server is shutting down"
        limit = self._settings.max_connections_per_topic
        if len(stream.subscribers) - self._guests_on[stream.name] >= limit:
            return Close.POLICY, f"topic {stream.name} is full ({limit} clients)"
        if holder and self._per_token[holder] >= self._max_per_token:
            return Close.POLICY, f"this token already holds {self._max_per_token} sockets"
        return None

    async def accept(self, request: web.Request) -> web.WebSocketResponse:
        """Complete the handshake (the checks come after it, as close codes)."""
        if not self._auth.origin_allowed(request):
            raise web.HTTPForbidden(text="origin not allowed")
        ws = web.WebSocketResponse(
            autoping=False,
            max_msg_size=self._settings.max_message_bytes,
            timeout=CLOSE_TIMEOUT_S,
            # Compressing per client would undo serialise-once; updates are small anyway.
            compress=False,
            # A larger drain threshold keeps small stalls from blocking the writer (HA's lesson).
            writer_limit=1 << 20,
        )
        await ws.prepare(request)
        return ws

    async def refuse(self, ws: web.WebSocketResponse, refusal: tuple[Close, str]) -> None:
        code, reason = refusal
        count_close(self._stats, code)
        await ws.close(code=code, message=frames.close_reason(reason))

    async def handler(self, request: web.Request) -> web.StreamResponse:
        ws = await self.accept(request)
        topic = request.match_info["topic"]
        if topic == GUEST_STREAM:
            await self._guest(ws, request)
            return ws
        if topic == PARTY_STREAM:
            await self._party(ws, request)
            return ws
        admitted = await self._admit(request, topic)
        if isinstance(admitted, tuple):
            await self.refuse(ws, admitted)
        elif admitted is not None:  # a guest: counted by their table, ended with their session
            await self.serve(ws, request, self._hub.topics[topic],
                             token=_table_holder(admitted), guest=admitted)
        else:
            await self.serve(ws, request, self._hub.topics[topic], token=request_token(request))
        return ws

    async def serve(self, ws: web.WebSocketResponse, request: web.Request, stream: Stream, *,
                    token: str | None, guest: GuestSession | None = None) -> None:
        """Subscribe an admitted client to `stream` (a topic or a family's key) and serve it
        until it closes: the same frames, resume and slow-client rules for every stream.
        `token`: what its sockets are counted by (a guest's: their session)."""
        conn = Connection(ws, request, stream.name, hub=self._hub, stats=self._stats)
        conn.token = token
        conn.guest = guest
        since, epoch = _resume_point(request)
        with stream.subscription(lambda: conn.close(Close.SLOW, "send queue full"),
                                 since=since, epoch=epoch) as subscriber:
            conn.start(subscriber)
            self.connections.add(conn)
            self._per_token[token or ""] += 1
            if guest is not None:
                self._guests_on[stream.name] += 1
            conn.log.info("open (%d on topic)", len(stream.subscribers))
            try:
                await conn.read_loop()
            finally:
                self.connections.discard(conn)
                self._per_token[token or ""] -= 1
                if guest is not None:
                    self._guests_on[stream.name] -= 1
                if self._per_token[token or ""] <= 0:
                    del self._per_token[token or ""]
                await conn.finish()
                conn.log.info("closed %s (%s)", conn.close_code or ws.close_code,
                              conn.close_reason)

    async def watchdog(self) -> None:
        """While the app runs: revoked tokens' sockets closed (4401), and guests' sockets
        when their visit closes or their link is rotated (4401); and the ticks of _watch."""
        self._auth.tokens.on_revoke.append(self._revoked)
        self._guest_views.on_visit_end.append(self._ended)
        self._party_views.on_end.append(self._party_ended)
        try:
            with self._links.on_rotation(self._rotated):
                await self._watch()
        finally:
            self._auth.tokens.on_revoke.remove(self._revoked)
            self._guest_views.on_visit_end.remove(self._ended)
            self._party_views.on_end.remove(self._party_ended)

    async def _watch(self) -> None:
        """Pings, pong timeouts (4000) and send timeouts (4008) for every connection, once a
        tick."""
        settings = self._settings
        tick = min(1.0, settings.pong_timeout_s / 4, settings.send_timeout_s / 4,
                   settings.ping_interval_s / 2)
        loop = asyncio.get_running_loop()
        while True:
            asleep_at = loop.time()
            await asyncio.sleep(tick)
            now = loop.time()
            # How late the loop woke us: the event-loop lag every other task suffers too.
            self._stats.loop_lag = max(0.0, now - asleep_at - tick)
            pings: dict[str, bytes] = {}
            for conn in list(self.connections):
                if conn.stalled_for(now) > settings.send_timeout_s:
                    conn.close(Close.SLOW, "socket accepted nothing for send_timeout_s")
                    continue
                if conn.ping_sent_at is not None:
                    if conn.last_heard >= conn.ping_sent_at:
                        conn.ping_sent_at = None
                    elif now - conn.ping_sent_at > settings.pong_timeout_s:
                        conn.close(Close.PONG_TIMEOUT, "no pong within pong_timeout_s")
                        continue
                if conn.ping_sent_at is None and now - conn.last_ping >= settings.ping_interval_s:
                    if conn.topic not in pings:
                        pings[conn.topic] = frames.ping(conn.topic, loop.time())
                    conn.ping_sent_at = conn.last_ping = now
                    conn.ping_due = True  # the writer follows the JSON ping with a protocol ping
                    conn.send(pings[conn.topic])

    async def close_all(self) -> None:
        """Refuse new handshakes, tell every client and close it with 1001."""
        self.shutting_down = True
        connections = list(self.connections)
        for conn in connections:
            conn.close(Close.GOING_AWAY, "server shutting down",
                       frames.shutdown(conn.topic, random.randint(*RECONNECT_AFTER_MS)))
        if connections:
            log.info("closing %d WebSocket clients", len(connections))
        await asyncio.gather(*(conn.finish() for conn in connections), return_exceptions=True)


def _table_holder(session: GuestSession) -> str:
    """What a guest's sockets are counted by: their table (sessions cost nothing to make)."""
    return f"guest-table:{session.table_id}"


def _party_holder(customer_id: int) -> str:
    """What a party's sockets are counted and found by (never a token: too short)."""
    return f"party:{customer_id}"

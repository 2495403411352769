"""The robot TCP server: accepts connections, holds their sessions, watches for silence."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, Final

from ..core.rates import SlidingRate
from ..core.tokens import Refusals, TokenBook
from ..core.stats import Stats
from ..domain.cameras import Cameras
from ..domain.fleet import Fleet
from ..domain.notify import Notifier
from ..domain.robot_reports import RobotReports
from ..settings import TcpSettings
from .protocol import SILENT_HEARTBEATS, RobotProtocol
from .session import READ_CHUNK, RobotSession

log = logging.getLogger(__name__)

# A connection that has not finished its TLS handshake by then is dropped (asyncio's default
# is 60 s); asyncio drops a failed handshake without a line or a session.
TLS_HANDSHAKE_TIMEOUT_S: Final = 10.0


class RobotServer:
    """The asyncio TCP server robots connect to, and the sessions it holds."""

    def __init__(self, settings: TcpSettings, tokens: TokenBook, refusals: Refusals,
                 fleet: Fleet, reports: RobotReports, notifier: Notifier, cameras: Cameras,
                 stats: Stats, *, tls: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._tls = tls
        self._tokens = tokens
        self._refusals = refusals
        self._fleet = fleet
        self._reports = reports
        self._notifier = notifier
        self._cameras = cameras
        self._stats = stats
        self.sessions: dict[RobotSession, asyncio.Task[Any]] = {}
        self.rates = SlidingRate(settings.max_lines_per_min)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        tcp = self.settings
        tls = self._tls
        self._server = await asyncio.start_server(
            self._accept, tcp.host, tcp.port, limit=READ_CHUNK, ssl=tls,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_S if tls else None)
        self._tokens.on_revoke.append(self._revoked)
        log.info("robots connect on %s://%s:%d", "tls" if tls else "tcp", tcp.host, self.port)

    def pending(self) -> int:
        """Connections that have not been welcomed yet."""
        return sum(1 for session in self.sessions if not session.protocol.greeted)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.pending() >= self.settings.max_pending:
            # Past tcp.max_pending strangers: dropped before a byte is read, with no session,
            # no line and no log (a flood must cost nothing); counted on /metrics.
            self._stats.tcp_pending_refused += 1
            writer.transport.abort()
            return
        protocol = RobotProtocol(self.settings.max_line_bytes, self.settings.heartbeat_s,
                                 asyncio.get_running_loop().time())
        session = RobotSession(reader, writer, protocol=protocol, tokens=self._tokens,
                               refusals=self._refusals, max_robots=self.settings.max_robots,
                               fleet=self._fleet, reports=self._reports,
                               notifier=self._notifier, cameras=self._cameras,
                               stats=self._stats, rates=self.rates)
        task = asyncio.current_task()
        assert task is not None
        self.sessions[session] = task
        try:
            await session.run()
        finally:
            del self.sessions[session]

    def _revoked(self, tokens: frozenset[str]) -> None:
        for session in list(self.sessions):
            if session.token in tokens:
                session.end("revoked")

    async def watch(self) -> None:
        """End sessions that never said hello, or went silent for 3 heartbeats."""
        silent_after = SILENT_HEARTBEATS * self.settings.heartbeat_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, silent_after / 6))
            now = loop.time()
            for session in list(self.sessions):
                reason = session.protocol.overdue(now)
                if reason is not None:
                    session.end(reason)
            self.rates.forget_idle(now)

    async def stop(self) -> None:
        """Stop listening, tell every robot we are going, and wait for the sessions to end."""
        if self._server is not None:
            self._server.close()
            self._tokens.on_revoke.remove(self._revoked)
        for session in list(self.sessions):
            session.end("shutdown")
        if self.sessions:
            await asyncio.wait(list(self.sessions.values()), timeout=3)
        for session in list(self.sessions):  # a robot that reads nothing: drop it under itself
            session.abort()
        if self.sessions:
            await asyncio.wait(list(self.sessions.values()), timeout=1)

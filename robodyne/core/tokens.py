"""Tokens and what each grants (docs/operations.md, "Tokens"): the one lookup from a token to
its role, the rules a token must meet, and robot ids a token may speak as. No I/O."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from .roles import Role

MIN_TOKEN_CHARS: Final = 16
# A robot id is a name in logs, URLs and the map: no spaces, no newline to forge a log line.
ROBOT_ID_PATTERN: Final = r"^[A-Za-z0-9._:-]{1,64}$"
_ROBOT_ID = re.compile(ROBOT_ID_PATTERN)
_BOUND_PREFIX: Final = "robot:"
# How much of a token a log line or `tokens list` may show: enough to tell tokens apart.
SHOWN_CHARS: Final = 4
# How the API names a token (GET /api/tokens): this many hex digits of its SHA-256, 48 bits, so
# that two tokens of one restaurant never share an id, and nothing of the token itself.
ID_CHARS: Final = 12


def shown(token: str) -> str:
    """A token as logs and listings name it: its first 4 characters, never more."""
    return token[:SHOWN_CHARS] + "…"


def token_id(token: str) -> str:
    """A token as the API names it: the first 12 hex digits of its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:ID_CHARS]


def token_problem(token: str) -> str | None:
    """Why this token may not be used, or None."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"is shorter than {MIN_TOKEN_CHARS} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        return "holds whitespace or control characters"
    return None


def valid_robot_id(robot_id: str) -> bool:
    return _ROBOT_ID.match(robot_id) is not None


@dataclass(frozen=True)
class Grant:
    """What one token grants: a role, for a robot token perhaps one robot id, a label, and when
    it was made (None where nobody knows: the config's tokens, those of older files)."""

    role: Role
    robot_id: str | None = None
    label: str = ""
    # When a token was made is no part of what it grants: two grants differing only here are
    # equal (a reload that reads it does not revoke the token).
    created_at: datetime | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, value: str, label: str = "", created_at: datetime | None = None) -> Grant:
        """`admin`, `kitchen`… or `robot:<id>`; ValueError for anything else."""
        if value.startswith(_BOUND_PREFIX):
            robot_id = value[len(_BOUND_PREFIX):]
            if not valid_robot_id(robot_id):
                raise ValueError(f"{value!r}: a robot id is 1-64 of A-Z a-z 0-9 . _ : -")
            return cls(Role.ROBOT, robot_id, label, created_at)
        try:
            return cls(Role(value), None, label, created_at)
        except ValueError:
            roles = ", ".join(role.value for role in Role)
            raise ValueError(f"{value!r} is not a role ({roles}, or robot:<id>)") from None

    def __str__(self) -> str:
        return f"{_BOUND_PREFIX}{self.robot_id}" if self.robot_id else self.role.value


class TokenBook:
    """The tokens the server knows right now. Replaced whole when tokens.toml changes; those
    who hold a connection per token hear which tokens were revoked. It also remembers, in
    memory only, when each token was last used to open a request or a socket."""

    def __init__(self, grants: Mapping[str, Grant],
                 clock: Callable[[], float] = time.time) -> None:
        self._grants: dict[str, Grant] = {}
        self._bound: frozenset[str] = frozenset()
        self._clock = clock
        self._seen: dict[str, float] = {}
        self.on_revoke: list[Callable[[frozenset[str]], None]] = []
        self.replace(grants)

    def grant(self, token: str | None) -> Grant | None:
        """What a token grants, or None; no lookup ever matches an empty token."""
        if not token:
            return None
        return self._grants.get(token)

    def use(self, token: str | None) -> Grant | None:
        """What a token opening a request or a socket grants, noting when it was used: one
        dict store, nothing written and nothing logged (this runs on every request)."""
        grant = self.grant(token)
        if grant is not None and token:
            self._seen[token] = self._clock()
        return grant

    def last_seen(self, token: str) -> float | None:
        """When the token was last used (a time.time() stamp) since the server started."""
        return self._seen.get(token)

    def role(self, token: str | None) -> Role | None:
        grant = self.grant(token)
        return grant.role if grant is not None else None

    def may_speak_as(self, grant: Grant, robot_id: str) -> bool:
        """A bound token speaks for its robot only; a plain robot token (or an integration
        peer's admin token) for any robot that no bound token names."""
        if grant.robot_id is not None:
            return grant.robot_id == robot_id
        return robot_id not in self._bound

    def items(self) -> Iterable[tuple[str, Grant]]:
        return self._grants.items()

    def replace(self, grants: Mapping[str, Grant]) -> frozenset[str]:
        """Know exactly these tokens from now on; returns (and announces) the revoked ones."""
        # A token whose role or robot changed is revoked too: its sockets were opened, and its
        # sessions greeted, under what it granted before. A new label changes nothing.
        revoked = frozenset(t for t, g in self._grants.items()
                            if t not in grants or grants[t].role is not g.role
                            or grants[t].robot_id != g.robot_id)
        self._grants = dict(grants)
        # Only the known tokens' stamps are kept: the dict never outgrows the book.
        self._seen = {t: at for t, at in self._seen.items() if t in self._grants}
        self._bound = frozenset(g.robot_id for g in grants.values() if g.robot_id is not None)
        if revoked:
            for listener in self.on_revoke:
                listener(revoked)
        return revoked

    def add(self, token: str, grant: Grant) -> None:
        self.replace({**self._grants, token: grant})


class Refusals:
    """Logs refused tokens at WARNING: the first refusal of a minute with its address, the
    rest of that minute as one count with the next refusal after it. A stranger guessing
    tokens leaves a trace, but neither one address nor a thousand can flood the log (and so
    systemlogs), nor learn a token from it: only its first 4 characters are written."""

    EVERY_S: Final = 60.0
    # The addresses counted in a minute, at most: memory stays bounded.
    MAX_PEERS: Final = 10_000

    def __init__(self, log: logging.Logger, clock: Callable[[], float]) -> None:
        self._log = log
        self._clock = clock
        # When the minute of the last logged refusal began, and who was refused since then.
        self._since: float | None = None
        self._more = 0
        self._peers: set[str] = set()
        self.count = 0

    def refused(self, peer: str | None, token: str | None, where: str) -> None:
        self.count += 1
        now, peer = self._clock(), peer or "?"
        if self._since is not None and now - self._since < self.EVERY_S:
            self._more += 1
            if len(self._peers) < self.MAX_PEERS:
                self._peers.add(peer)
            return
        if self._more:
            self._log.warning("refused %d more request(s) from %s address(es) in the minute"
                              " after the last one logged", self._more,
                              len(self._peers) if len(self._peers) < self.MAX_PEERS
                              else f"{self.MAX_PEERS} or more")
        self._since, self._more = now, 0
        self._peers.clear()
        self._log.warning("refused %s from %s: %s", where, peer,
                          f"unknown token {shown(token)}" if token else "no token")

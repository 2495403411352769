"""tokens.toml beside the database: the tokens the first start made, those `robodyne tokens`
added and the tablets paired from the dashboard (docs/operations.md, "Tokens")."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from .core.devices import TokenRow, token_rows
from .core.errors import ConfigToken, NotFound
from .core.models import iso
from .core.roles import Role
from .core.tokens import Grant, TokenBook, shown, token_id, token_problem
from .settings import SettingsError

log = logging.getLogger(__name__)

TOKENS_FILE: Final = "tokens.toml"
# A running server sees an edit of tokens.toml within this (docs/operations.md promises 5 s).
WATCH_EVERY_S: Final = 2.0
_HEADER: Final = ("# Robodyne's tokens. Keep this file private (mode 0600): each token grants"
                  " its role.\n# Edit with `robodyne tokens list|add|revoke`; a running server"
                  " picks changes up within 5 s.\n")


def tokens_path(db_path: Path) -> Path:
    return db_path.parent / TOKENS_FILE


def new_token() -> str:
    """32 URL-safe characters; never one that starts with "-", which a command line would read
    as an option (`robodyne tokens revoke -abc…`)."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def read_tokens(path: Path) -> dict[str, Grant]:
    """The tokens in the file ({} when there is none); SettingsError naming what is wrong,
    never the whole token."""
    try:
        with path.open("rb") as file:
            stored = tomllib.load(file).get("tokens", {})
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{path} cannot be used: {err}") from err
    if not isinstance(stored, dict):
        raise SettingsError(f"{path}: [tokens] must be a table")
    grants: dict[str, Grant] = {}
    for token, value in stored.items():
        try:
            grants[token] = _grant(token, value)
        except ValueError as err:
            raise SettingsError(f"{path}: token {shown(token)!r}: {err}") from None
    return grants


def _grant(token: str, value: object) -> Grant:
    problem = token_problem(token)
    if problem is not None:
        raise ValueError(problem)
    if isinstance(value, str):
        return Grant.parse(value)
    if isinstance(value, dict) and isinstance(value.get("role"), str):
        return Grant.parse(value["role"], str(value.get("label", "")),
                           _created_at(value.get("created_at")))
    raise ValueError("must be a role, or a table with role, label and created_at")


def _created_at(value: object) -> datetime | None:
    """A token's created_at: a TOML date-time with its offset, or absent (an older file)."""
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    raise ValueError("created_at must be a date-time with its offset, e.g. 2026-12-01T09:00:00Z")


def _line(token: str, grant: Grant) -> str:
    # JSON strings are TOML basic strings: quotes, backslashes and controls escaped.
    key, role = json.dumps(token), json.dumps(str(grant))
    fields = [f"role = {role}"]
    if grant.label:
        fields.append(f"label = {json.dumps(grant.label, ensure_ascii=False)}")
    if grant.created_at is not None:
        fields.append(f"created_at = {iso(grant.created_at)}")  # a TOML date-time, unquoted
    return f"{key} = {role}" if len(fields) == 1 else f"{key} = {{ {', '.join(fields)} }}"


def write_tokens(path: Path, grants: Mapping[str, Grant]) -> None:
    """Replace the file at once (a reader sees the old file or the new, never half), 0600."""
    lines = [_HEADER, "[tokens]", *(_line(token, grant) for token, grant in grants.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise SettingsError(f"cannot write {path}: {err.strerror or err}") from err


def _made_now(grant: Grant) -> Grant:
    return replace(grant, created_at=datetime.now(timezone.utc))


def first_tokens(path: Path) -> dict[str, Grant]:
    """An admin and a kitchen token, written to a new tokens file."""
    grants = {new_token(): _made_now(Grant(role)) for role in (Role.ADMIN, Role.KITCHEN)}
    write_tokens(path, grants)
    return grants


# The one read-modify-write of tokens.toml for each change: the server (pairing, the API) and
# `robodyne tokens` alike add and revoke through these two.

def add_token(path: Path, token: str, grant: Grant) -> None:
    """Store a new token in the file, made now."""
    write_tokens(path, {**read_tokens(path), token: _made_now(grant)})


def revoke_token(path: Path, pick: Callable[[Mapping[str, Grant]], str]) -> tuple[str, Grant]:
    """Remove from the file the token `pick` chooses among those it holds (pick raises to
    refuse); returns it and what it granted."""
    stored = read_tokens(path)
    token = pick(stored)
    write_tokens(path, {t: g for t, g in stored.items() if t != token})
    return token, stored[token]


class TokenFile:
    """Keeps the server's TokenBook equal to the configured tokens plus tokens.toml.

    The file is a few hundred bytes on local disk, read only when its stamp changes: a stat
    every 2 s, not worth a thread.
    """

    def __init__(self, path: Path, configured: Mapping[str, Grant], book: TokenBook) -> None:
        self.path = path
        self._configured = dict(configured)
        self.book = book
        self._stamp = self._read_stamp()

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def load(self) -> None:
        """Read the file now; the configured tokens win where both name one."""
        self._stamp = self._read_stamp()
        self.book.replace({**read_tokens(self.path), **self._configured})

    def add(self, token: str, grant: Grant) -> None:
        """Store a new token (a paired tablet) in the file and know it at once."""
        add_token(self.path, token, grant)
        self.load()

    def rows(self) -> list[TokenRow]:
        """Every token the server accepts now, as GET /api/tokens lists them."""
        return token_rows(self.book, self._configured)

    def revoke(self, wanted: str) -> tuple[str, Grant]:
        """Revoke the file's token of this id as `robodyne tokens revoke` does, and drop it
        here at once (its sockets and robot sessions end); ConfigToken for a config token."""
        def pick(stored: Mapping[str, Grant]) -> str:
            if any(token_id(token) == wanted for token in self._configured):
                raise ConfigToken(f"token {wanted} is in the config file's [auth.tokens]:"
                                  " remove it there")
            # 48 bits of id: two of one restaurant's tokens sharing one is a 1 in 5 million
            # chance even for ten thousand tokens; the first would be revoked.
            found = next((token for token in stored if token_id(token) == wanted), None)
            if found is None:
                raise NotFound(f"no token in {self.path.name} has the id {wanted!r}")
            return found
        revoked = revoke_token(self.path, pick)
        self.load()
        return revoked

    async def watch(self) -> None:
        """Pick up edits of tokens.toml; a file that cannot be used keeps the last tokens."""
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            if self._read_stamp() == self._stamp:
                continue
            try:
                self.load()
            except SettingsError as err:
                log.error("kept the tokens in use: %s", err)
            else:
                log.info("tokens reloaded from %s", self.path)

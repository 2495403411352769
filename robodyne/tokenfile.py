"""tokens.toml beside the database: the tokens the first start made, those `robodyne tokens`
added and the tablets paired from the dashboard (docs/operations.md, "Tokens")."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import secrets
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
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
# The server never blocks its loop on the lock: it tries it this often, for at most this long
# (the command line holds it for one read and one write, milliseconds).
LOCK_POLL_S: Final = 0.01
LOCK_WAIT_S: Final = 5.0
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


def lock_path(path: Path) -> Path:
    """The sidecar file whose flock the server and `robodyne tokens` hold while they change
    tokens.toml (a file of its own: tokens.toml itself is replaced on every write)."""
    return path.with_name(path.name + ".lock")


def _open_lock(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise SettingsError(f"cannot lock {path}: {err.strerror or err}") from err


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the file's lock, waiting for it: the command line's way."""
    fd = _open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock


@asynccontextmanager
async def locked_on_loop(path: Path) -> AsyncIterator[None]:
    """Hold the file's lock without ever blocking the event loop: tried, and slept on while
    another process holds it; SettingsError after LOCK_WAIT_S."""
    fd = _open_lock(path)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SettingsError(f"{lock_path(path)} stayed locked for"
                                        f" {LOCK_WAIT_S:g} s") from None
                await asyncio.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)


def read_tokens(path: Path, missing_ok: bool = True) -> dict[str, Grant]:
    """The tokens in the file ({} when there is none and missing_ok); SettingsError naming
    what is wrong, never the whole token."""
    try:
        return parse_tokens(path, path.read_bytes())
    except FileNotFoundError as err:
        if missing_ok:
            return {}
        raise SettingsError(f"{path} is missing") from err
    except OSError as err:
        raise SettingsError(f"{path} cannot be used: {err.strerror or err}") from err


def parse_tokens(path: Path, content: bytes) -> dict[str, Grant]:
    """The tokens of the file's content. Every file this code writes has a [tokens] table: one
    without (an empty file, one truncated) is refused, never read as "no tokens"."""
    try:
        stored = tomllib.loads(content.decode("utf-8")).get("tokens")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{path} cannot be used: {err}") from err
    if stored is None:
        raise SettingsError(f"{path} has no [tokens] table (is it empty?)")
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
    """Replace the file at once (a reader sees the old file or the new, never half), 0600,
    and durably: the new file's bytes and then its name are on disk before this returns."""
    lines = [_HEADER, "[tokens]", *(_line(token, grant) for token, grant in grants.items())]
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise SettingsError(f"cannot write {path}: {err.strerror or err}") from err


def _made_now(grant: Grant) -> Grant:
    return replace(grant, created_at=datetime.now(timezone.utc))


def first_tokens(path: Path) -> dict[str, Grant]:
    """An admin and a kitchen token, written to a new tokens file."""
    grants = {new_token(): _made_now(Grant(role)) for role in (Role.ADMIN, Role.KITCHEN)}
    with locked(path):
        write_tokens(path, grants)
    return grants


# The one read-modify-write of tokens.toml for each change, always under the lock (the server's
# TokenFile takes it with locked_on_loop, `robodyne tokens` with add_token and revoke_token):
# a change read from the file is never overwritten by another's older read.

def _with_added(path: Path, token: str, grant: Grant, missing_ok: bool) -> None:
    write_tokens(path, {**read_tokens(path, missing_ok), token: _made_now(grant)})


def _without_picked(path: Path, pick: Callable[[Mapping[str, Grant]], str],
                    missing_ok: bool) -> tuple[str, Grant]:
    stored = read_tokens(path, missing_ok)
    token = pick(stored)
    write_tokens(path, {t: g for t, g in stored.items() if t != token})
    return token, stored[token]


def add_token(path: Path, token: str, grant: Grant) -> None:
    """Store a new token in the file, made now (a missing file is a new one)."""
    with locked(path):
        _with_added(path, token, grant, missing_ok=True)


def revoke_token(path: Path, pick: Callable[[Mapping[str, Grant]], str]) -> tuple[str, Grant]:
    """Remove from the file the token `pick` chooses among those it holds (pick raises to
    refuse); returns it and what it granted."""
    with locked(path):
        return _without_picked(path, pick, missing_ok=True)


class TokenFile:
    """Keeps the server's TokenBook equal to the configured tokens plus tokens.toml.

    The file is a few kilobytes on local disk, read whole every 2 s and parsed only when its
    bytes change (a stat's coarse mtime can miss two writes in one tick): not worth a thread.
    """

    def __init__(self, path: Path, configured: Mapping[str, Grant], book: TokenBook) -> None:
        self.path = path
        self._configured = dict(configured)
        self.book = book
        # The bytes of the file last read (None: there was none), good or not: each bad
        # state is said once, not every 2 s.
        self._seen: bytes | None = None
        # Whether tokens came from a file: from then on a missing file is an accident.
        self._had_file = False
        self._said: str | None = None  # the last problem logged

    def _content(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise SettingsError(f"{self.path} cannot be used: {err.strerror or err}") from err

    def load(self) -> None:
        """Read the file now (SettingsError if it cannot be used: nothing changes); the
        configured tokens win where both name one."""
        content = self._content()
        self._seen = content
        if content is None and self._had_file:
            raise SettingsError(f"{self.path} is missing")
        stored = {} if content is None else parse_tokens(self.path, content)
        self._had_file = content is not None
        self.book.replace({**stored, **self._configured})

    async def add(self, token: str, grant: Grant) -> None:
        """Store a new token (a paired tablet) in the file and know it at once; SettingsError
        when the file cannot be read or written (nothing changed)."""
        async with locked_on_loop(self.path):
            _with_added(self.path, token, grant, missing_ok=not self._had_file)
        self.load()

    def rows(self) -> list[TokenRow]:
        """Every token the server accepts now, as GET /api/tokens lists them."""
        return token_rows(self.book, self._configured)

    async def revoke(self, wanted: str) -> tuple[str, Grant]:
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
        async with locked_on_loop(self.path):
            revoked = _without_picked(self.path, pick, missing_ok=not self._had_file)
        self.load()
        return revoked

    async def watch(self) -> None:
        """Pick up edits of tokens.toml; a file found missing, empty or unparsable keeps the
        last good tokens (one ERROR per bad state), never revokes them all."""
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            try:
                if self._content() == self._seen:
                    continue
                self.load()
            except SettingsError as err:
                if str(err) != self._said:
                    log.error("kept the tokens in use: %s", err)
                self._said = str(err)
            else:
                self._said = None
                log.info("tokens reloaded from %s", self.path)

"""tokens.toml beside the database: the tokens the first start made, those `robodyne tokens`
added and the tablets paired from the dashboard (docs/operations.md, "Tokens")."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from .core.roles import Role
from .core.tokens import Grant, TokenBook, shown, token_problem
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
        return Grant.parse(value["role"], str(value.get("label", "")))
    raise ValueError("must be a role, or a table with role and label")


def write_tokens(path: Path, grants: Mapping[str, Grant]) -> None:
    """Replace the file at once (a reader sees the old file or the new, never half), 0600."""
    lines = [_HEADER, "[tokens]"]
    for token, grant in grants.items():
        # JSON strings are TOML basic strings: quotes, backslashes and controls escaped.
        key = json.dumps(token)
        if grant.label:
            lines.append(f"{key} = {{ role = {json.dumps(str(grant))},"
                         f" label = {json.dumps(grant.label, ensure_ascii=False)} }}")
        else:
            lines.append(f"{key} = {json.dumps(str(grant))}")
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


def first_tokens(path: Path) -> dict[str, Grant]:
    """An admin and a kitchen token, written to a new tokens file."""
    grants = {new_token(): Grant(Role.ADMIN), new_token(): Grant(Role.KITCHEN)}
    write_tokens(path, grants)
    return grants


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
        stored = read_tokens(self.path)
        stored[token] = grant
        write_tokens(self.path, stored)
        self.load()

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

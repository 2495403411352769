"""Tokens, roles and the browser Origin check."""

from __future__ import annotations

import logging
import os
import secrets
import tomllib
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from .const import TOKEN_COOKIE, TOPICS
from .models import Role
from .settings import SettingsError

log = logging.getLogger(__name__)

ALL_TOPICS: Final = frozenset(TOPICS)

# SPEC §6, the one table every read check consults.
READABLE: Final[dict[Role, frozenset[str]]] = {
    Role.ADMIN: ALL_TOPICS,
    Role.KITCHEN: frozenset({"orders", "tables", "inventory", "events", "status"}),
    Role.FLOOR: frozenset(
        {"robots", "tables", "orders", "customers", "events", "status", "video_streams"}
    ),
    Role.MAINTENANCE: frozenset({"robots", "events", "status", "systemlogs", "video_streams"}),
    Role.ROBOT: frozenset(),
}

# What each role may change over REST; the names are the API's write scopes.
WRITE_SCOPES: Final = frozenset({"orders", "tables", "customers", "inventory", "video_streams",
                                 "event_ack", "robot_commands"})
WRITABLE: Final[dict[Role, frozenset[str]]] = {
    Role.ADMIN: WRITE_SCOPES,
    Role.KITCHEN: frozenset({"orders", "inventory", "event_ack"}),
    Role.FLOOR: frozenset({"orders", "tables", "customers", "event_ack", "robot_commands"}),
    Role.MAINTENANCE: frozenset({"video_streams", "event_ack"}),
    Role.ROBOT: frozenset(),
}
METRICS_ROLES: Final = frozenset({Role.ADMIN, Role.MAINTENANCE})

TOKENS_FILE: Final = "tokens.toml"


def may_read(role: Role, topic: str) -> bool:
    return topic in READABLE[role]


def may_write(role: Role, scope: str) -> bool:
    return scope in WRITABLE[role]


def request_token(request: web.Request) -> str | None:
    """The token from ?token=, an Authorization: Bearer header, or the page cookie."""
    token = request.query.get("token")
    if token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def origin_allowed(request: web.Request, allowed_origins: list[str]) -> bool:
    """A browser may open a WebSocket from the server's own host or a listed origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: robots, integrations, tests
    if origin.rstrip("/") in (o.rstrip("/") for o in allowed_origins):
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


def load_or_create_tokens(db_path: Path) -> tuple[dict[str, Role], bool]:
    """The tokens of tokens.toml beside the database, made on first start (mode 0600).

    Returns the tokens and whether they were created just now. A file that cannot be used
    is a SettingsError (one line, exit 2), never a server that nobody can log in to.
    """
    path = db_path.parent / TOKENS_FILE
    if path.exists():
        try:
            with path.open("rb") as file:
                stored = tomllib.load(file).get("tokens", {})
            tokens = {str(token): Role(role) for token, role in stored.items()}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError,
                AttributeError) as err:
            raise SettingsError(f"{path} cannot be used: {err}") from err
        if not tokens:
            raise SettingsError(f"{path} holds no [tokens]; delete it to generate new ones")
        return tokens, False
    tokens = {secrets.token_urlsafe(24): Role.ADMIN, secrets.token_urlsafe(24): Role.KITCHEN}
    lines = ["# Generated on first start. Keep private: each token grants its role.", "[tokens]"]
    lines += [f'"{token}" = "{role}"' for token, role in tokens.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write("\n".join(lines) + "\n")
    except OSError as err:
        raise SettingsError(f"cannot create {path}: {err.strerror or err}") from err
    return tokens, True

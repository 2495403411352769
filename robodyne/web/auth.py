"""Who is asking (token from query, header or cookie), what their role may do, and the
browser Origin check: every role check of the HTTP side lives here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from ..core.errors import Forbidden, Unauthorized
from ..core.roles import METRICS_ROLES, Role, Scope, may_read, may_write, role_for

TOKEN_COOKIE: Final = "robodyne_token"


def request_token(request: web.Request) -> str | None:
    """The token from ?token=, an Authorization: Bearer header, or the page cookie."""
    token = request.query.get("token")
    if token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


class Auth:
    """The tokens the server knows, and the checks every handler makes with them."""

    def __init__(self, tokens: Mapping[str, Role], allowed_origins: list[str]) -> None:
        self.tokens = tokens
        self._allowed_origins = [origin.rstrip("/") for origin in allowed_origins]

    def role(self, request: web.Request) -> Role | None:
        return role_for(self.tokens, request_token(request))

    def known(self, token: str) -> bool:
        return role_for(self.tokens, token) is not None

    def require_role(self, request: web.Request) -> Role:
        role = self.role(request)
        if role is None:
            raise Unauthorized("missing or unknown token")
        return role

    def require_read(self, request: web.Request, topic: str) -> None:
        role = self.require_role(request)
        if not may_read(role, topic):
            raise Forbidden(f"role {role} may not read {topic}")

    def require_write(self, request: web.Request, scope: Scope) -> None:
        role = self.require_role(request)
        if not may_write(role, scope):
            raise Forbidden(f"role {role} may not write {scope}")

    def require_metrics(self, request: web.Request) -> None:
        role = self.require_role(request)
        if role not in METRICS_ROLES:
            raise Forbidden(f"role {role} may not read metrics")

    def origin_allowed(self, request: web.Request) -> bool:
        """A browser may open a WebSocket from the server's own host or a listed origin."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: robots, integrations, tests
        if origin.rstrip("/") in self._allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == request.host.lower()

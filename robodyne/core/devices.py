"""The devices' tokens as the API lists them (GET /api/tokens, SPEC §13 "Devices"): each by
its id, role, label and robot, where it is kept, when it was made and last used; never the
token itself. No I/O."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timezone
from enum import StrEnum

from pydantic import BaseModel

from .models import iso
from .roles import Role
from .tokens import TokenBook, token_id


class Source(StrEnum):
    """Where a token is kept, hence where it is changed."""

    CONFIG = "config"  # the config file's [auth.tokens]: changed only there
    FILE = "file"  # tokens.toml: `robodyne tokens`, pairing, DELETE /api/tokens/{id}


class TokenRow(BaseModel):
    id: str
    role: Role
    label: str
    robot_id: str | None
    source: Source
    created_at: str | None
    last_seen_at: str | None


def _stamp(moment: float | None) -> str | None:
    return None if moment is None else iso(datetime.fromtimestamp(moment, timezone.utc))


def token_rows(book: TokenBook, configured: Collection[str]) -> list[TokenRow]:
    """Every token the server accepts now: the config's first, then the file's in its order."""
    rows = [TokenRow(id=token_id(token), role=grant.role, label=grant.label,
                     robot_id=grant.robot_id,
                     source=Source.CONFIG if token in configured else Source.FILE,
                     created_at=None if grant.created_at is None else iso(grant.created_at),
                     last_seen_at=_stamp(book.last_seen(token)))
            for token, grant in book.items()]
    return sorted(rows, key=lambda row: row.source is not Source.CONFIG)

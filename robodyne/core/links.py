"""Table links (SPEC §11.2): the secret code that opens a table's guest page, and its url."""

from __future__ import annotations

import re
import secrets
from typing import Final

# 16 random bytes: 128 bits, written as 22 URL-safe base64 characters (short, so the QR code
# stays coarse enough for a phone's camera across a table).
CODE_BYTES: Final = 16
# What a code can look like: anything else is unknown without asking the database.
CODE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_code() -> str:
    """A new secret link code."""
    return secrets.token_urlsafe(CODE_BYTES)


def link_url(base: str, code: str) -> str:
    """The address a code opens, under `base` (scheme, host and any path, no trailing /)."""
    return f"{base}/t/{code}"

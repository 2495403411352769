"""Camera streams' URLs (SPEC §13 "Cameras"): which a stream may have, which a page shows in an
image, and the origin a page's Content-Security-Policy must allow for one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Annotated, Final
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator, Field

from .text import plain

# The schemes a camera or a robot streams video over; each needs a host.
STREAM_SCHEMES: Final = frozenset({"http", "https", "rtsp", "rtsps"})
# Those a browser shows in an <img> (an MJPEG stream or a JPEG alike); the others are links.
IMAGE_SCHEMES: Final = frozenset({"http", "https"})
MAX_URL_CHARS: Final = 2000
# A host name as DNS spells it (letters, digits and hyphens between dots: the only characters
# a Content-Security-Policy source may hold, so nothing a stream says can add a directive).
_LABEL: Final = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_HOST_NAME: Final = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")


def _parts(value: str) -> SplitResult:
    """`value` split, or ValueError saying what about it is not a stream's URL."""
    plain(value)
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # reading it refuses a port that is not a number
    except ValueError as err:
        raise ValueError(f"not a URL: {err}") from None
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise ValueError(f"the scheme must be one of {', '.join(sorted(STREAM_SCHEMES))}")
    if not host:
        raise ValueError("must name a host")
    # Every staff tablet receives and shows a stream's URL, and backups keep it: a camera's
    # password does not belong in it (give the player the password, or proxy the camera).
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password")
    if not _HOST_NAME.fullmatch(host) and not _ip(host):
        raise ValueError("the host must be a host name or an IP address")
    return parts


def _ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return "%" not in host  # a zone (fe80::1%eth0) names this machine's interface, not a camera


def stream_url(value: str) -> str:
    """A URL a browser or player can open: one of STREAM_SCHEMES, a host, no credentials."""
    _parts(value)
    return value


def image_origin(url: str) -> str | None:
    """The origin (scheme://host[:port]) a page must allow to show `url` in an image, or None
    for a URL not shown in one. Checked again here: a row another program wrote is unchecked."""
    try:
        parts = _parts(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in IMAGE_SCHEMES:
        return None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{parts.port}" if parts.port is not None else "")


def image_origins(urls: Iterable[str]) -> list[str]:
    """The origins of every URL in `urls` shown in an image, each once, sorted."""
    return sorted({origin for origin in map(image_origin, urls) if origin is not None})


StreamUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS),
                      AfterValidator(stream_url)]

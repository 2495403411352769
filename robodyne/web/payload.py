"""A request's body read once, at most a route's limit of it: 413 by its Content-Length before
a byte is read, and 413 while reading one that says nothing (chunked) as soon as it passes the
limit, never holding more than the limit and one byte. Kept on the request, so the Idempotency
check (which hashes it) and the handler read it once between them."""

from __future__ import annotations

from typing import Final

from aiohttp import web

# A route's limit unless its declaration (web/routing.py) says another: a JSON body's.
MAX_BODY_BYTES: Final = 64 * 1024
# Where a request keeps its body once read.
_READ: Final = web.RequestKey("robodyne.payload", bytes)
CHUNK_BYTES: Final = 64 * 1024


async def read_payload(request: web.Request, limit: int) -> bytes:
    """The whole body, or 413 if it is longer than `limit`."""
    if _READ in request:
        return request[_READ]
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit, declared)
    body = bytearray()
    while chunk := await request.content.read(min(CHUNK_BYTES, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise _too_large(limit, len(body))
    read = bytes(body)
    request[_READ] = read
    return read


def _too_large(limit: int, size: int) -> web.HTTPRequestEntityTooLarge:
    most = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit >> 10} KiB"
    return web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size,
                                         reason=f"body: at most {most}")

"""How the API answers: JSON bodies, and every error as {"error": {"code", "message"}}, with
domain and HTTP errors mapped to their status and code here and nowhere else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from aiohttp import web
from pydantic import BaseModel

from ..core.codes import Code
from ..core.errors import (
    CheckOpen,
    ConfigToken,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Overpaid,
    RateLimited,
    SoldOut,
    StorageUnavailable,
    TableClosed,
    Unauthorized,
    VisitClosed,
)
from ..live.hub import Stream

# The first entry an error is an instance of answers it: a specific Conflict before Conflict.
ERRORS: Final[dict[type[DomainError], tuple[int, Code]]] = {
    TableClosed: (409, Code.TABLE_CLOSED),
    ConfigToken: (409, Code.CONFIG_TOKEN),
    Overpaid: (409, Code.OVERPAID),
    CheckOpen: (409, Code.CHECK_OPEN),
    SoldOut: (409, Code.SOLD_OUT),
    VisitClosed: (403, Code.VISIT_CLOSED),
    RateLimited: (429, Code.RATE_LIMITED),
    Invalid: (400, Code.VALIDATION_ERROR),
    Unauthorized: (401, Code.UNAUTHORIZED),
    Forbidden: (403, Code.FORBIDDEN),
    NotFound: (404, Code.NOT_FOUND),
    Conflict: (409, Code.CONFLICT),
    StorageUnavailable: (503, Code.UNAVAILABLE),
}
HTTP_CODES: Final = {400: Code.VALIDATION_ERROR, 404: Code.NOT_FOUND,
                     405: Code.METHOD_NOT_ALLOWED, 413: Code.TOO_LARGE,
                     415: Code.UNSUPPORTED_MEDIA_TYPE}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_response(item: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    body = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
    return web.json_response(body, status=status, dumps=_dumps)


def stream_response(stream: Stream) -> web.Response:
    """A topic's or a keyed stream's read, as its snapshot would give it: {items, seq, epoch}."""
    return json_response({"items": stream.view.items(), "seq": stream.seq,
                          "epoch": stream.epoch})


def error_response(status: int, code: Code, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status)


@web.middleware
async def api_errors(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
    """Every API error, domain or HTTP, leaves as {"error": {"code", "message"}}."""
    try:
        return await handler(request)
    except DomainError as err:
        status, code = next(v for k, v in ERRORS.items() if isinstance(err, k))
        return error_response(status, code, str(err))
    except web.HTTPException as err:
        if not request.path.startswith("/api/") or err.status not in HTTP_CODES:
            raise
        response = error_response(err.status, HTTP_CODES[err.status], err.reason)
        if "Allow" in err.headers:  # a 405 says which methods the URL takes (RFC 9110)
            response.headers["Allow"] = err.headers["Allow"]
        return response

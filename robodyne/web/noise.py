"""aiohttp's complaints about requests it could not parse: the client's fault, not the server's.

aiohttp logs every malformed request ("Error handling request", a BadHttpMessage, LineTooLong,
BadStatusLine…) at ERROR on `aiohttp.server`, with a traceback: a scanner or a confused client
then fills journald and, through the bridge, systemlogs. This filter turns each into one DEBUG
line without the traceback, and says how many there were in one INFO line at most a minute.
An exception a request handler raised is not a parse error and passes as it came.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError

LOGGER: Final = "aiohttp.server"
REPORT_EVERY_S: Final = 60.0


def _reason(err: HttpProcessingError) -> str:
    """aiohttp's message on one line, cut short: it quotes the client's bytes."""
    return " ".join(str(err.message).split())[:200]


class ClientProtocolErrors(logging.Filter):
    """On aiohttp.server: a request refused by the parser is a DEBUG line, counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._reported_at: float | None = None
        self._unreported = 0

    def filter(self, record: logging.LogRecord) -> bool:
        err = record.exc_info[1] if record.exc_info else None
        if not isinstance(err, HttpProcessingError):
            return True
        detail = f"{record.getMessage()}: {type(err).__name__}: {_reason(err)}"
        record.msg, record.args = "%s", (detail,)
        record.exc_info = record.exc_text = None
        self._unreported += 1
        now = self._clock()
        if self._reported_at is None or now - self._reported_at >= REPORT_EVERY_S:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = (
                "%d malformed HTTP request(s) refused with 400 since the last report; the"
                " latest: %s", (self._unreported, detail))
            self._reported_at, self._unreported = now, 0
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)

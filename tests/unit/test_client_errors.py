"""The filter on aiohttp.server (web/noise.py): parse errors are DEBUG, counted once a minute."""

from __future__ import annotations

import logging
import sys

from aiohttp.http_exceptions import BadStatusLine, LineTooLong

from robodyne.web.noise import REPORT_EVERY_S, ClientProtocolErrors


def record(err: BaseException) -> logging.LogRecord:
    try:
        raise err
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1,
                             "Error handling request from %s", ("10.0.0.7",), exc_info)


def test_a_parse_error_is_counted_in_one_info_line_a_minute_without_a_traceback() -> None:
    now = [100.0]
    errors = ClientProtocolErrors(clock=lambda: now[0])
    first = record(BadStatusLine("GET / HTTP/9.9\r\n\x00"))
    assert errors.filter(first)
    assert (first.levelname, first.exc_info, first.exc_text) == ("INFO", None, None)
    assert first.getMessage() == (
        "1 malformed HTTP request(s) refused with 400 since the last report; the latest: Error"
        " handling request from 10.0.0.7: BadStatusLine: Bad status line"
        " 'GET / HTTP/9.9\\r\\n\\x00'")
    quiet = [record(LineTooLong("x" * 9000, "8190")) for _ in range(500)]
    assert not any(errors.filter(r) for r in quiet)  # DEBUG, and DEBUG is off
    assert {r.levelname for r in quiet} == {"DEBUG"}
    now[0] += REPORT_EVERY_S
    report = record(BadStatusLine("x"))
    assert errors.filter(report) and report.levelname == "INFO"
    assert report.getMessage().startswith("501 malformed HTTP request(s)")


def test_a_handler_exception_passes_as_an_error_with_its_traceback() -> None:
    errors = ClientProtocolErrors(clock=lambda: 0.0)
    bug = record(RuntimeError("a bug"))
    assert errors.filter(bug)
    assert bug.levelname == "ERROR" and bug.exc_info is not None
    assert bug.getMessage() == "Error handling request from 10.0.0.7"

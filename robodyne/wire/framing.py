"""Sans-I/O newline-delimited JSON framing: bytes in, lines and errors out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line went past the limit; it was discarded up to its newline."""

    limit: int


class LineFramer:
    """Splits a byte stream on \\n (or \\r\\n) and drops lines longer than `max_line_bytes`.

    An over-long line costs only itself: its bytes are skipped until the next newline and
    framing resumes there, unlike asyncio's readline which fails the whole stream.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        """Take the next bytes from the socket; return every complete line (without \\r\\n)."""
        out: list[bytes | LineTooLong] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._keep(data[start:], out)
                return out
            chunk = data[start:end]
            start = end + 1
            if self._discarding:
                self._discarding = False
                continue
            if len(self._buffer) + len(chunk) > self.max_line_bytes:
                self._buffer.clear()
                out.append(LineTooLong(self.max_line_bytes))
                continue
            if self._buffer:
                self._buffer += chunk
                line = bytes(self._buffer)
                self._buffer.clear()
            else:
                line = chunk
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.strip():
                out.append(line)

    def _keep(self, rest: bytes, out: list[bytes | LineTooLong]) -> None:
        """Hold an unfinished line, unless it is already too long or being skipped."""
        if self._discarding or not rest:
            return
        if len(self._buffer) + len(rest) > self.max_line_bytes:
            self._buffer.clear()
            self._discarding = True
            out.append(LineTooLong(self.max_line_bytes))
            return
        self._buffer += rest

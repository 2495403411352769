"""A logger that starts every line with its connection, e.g. `[ws#12 robots 10.0.0.7] closed`."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any


class PrefixedLog(logging.LoggerAdapter[logging.Logger]):
    def __init__(self, logger: logging.Logger, prefix: str) -> None:
        super().__init__(logger, {"prefix": prefix})

    @property
    def prefix(self) -> str:
        return str(self.extra["prefix"]) if self.extra else ""

    @prefix.setter
    def prefix(self, value: str) -> None:
        self.extra = {"prefix": value}

    def process(self, msg: str, kwargs: MutableMapping[str, Any]
                ) -> tuple[str, MutableMapping[str, Any]]:
        return f"[{self.prefix}] {msg}", kwargs

"""Numbers as a request or a robot writes them: in JSON `true` and `false` are no numbers,
though Python (and so pydantic, left to itself) takes them for 1 and 0."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Number = Annotated[float, BeforeValidator(_not_bool)]

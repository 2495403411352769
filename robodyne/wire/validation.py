"""The one way a pydantic ValidationError becomes the line a client or an operator reads."""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import ValidationError


class Problem(NamedTuple):
    """The first thing wrong with an input: where, what, and the value that was there."""

    where: str
    message: str
    value: Any

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def first_problem(err: ValidationError, *, skip: int = 0, whole: str = "message") -> Problem:
    """The first error of `err`; `skip` drops leading location parts (a union's tag)."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"][skip:]) or whole
    return Problem(where, first["msg"], first.get("input"))

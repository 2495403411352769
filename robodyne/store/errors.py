"""sqlite3's errors as the domain's (core/errors.py): nothing above the store sees sqlite3."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from ..core.errors import ConstraintFailed, DomainError, StorageUnavailable

READ_FAILED: Final = "the database could not be read"


def ours(err: sqlite3.Error, failed: str) -> DomainError:
    """The domain error for `err`; `failed` says what could not be done."""
    if isinstance(err, sqlite3.IntegrityError):
        return ConstraintFailed(f"{failed}: {err}")
    return StorageUnavailable(f"{failed} ({err})")


@contextmanager
def translated(failed: str) -> Iterator[None]:
    """Raise a sqlite3 error from inside as ours (see `ours`)."""
    try:
        yield
    except sqlite3.Error as err:
        raise ours(err, failed) from err

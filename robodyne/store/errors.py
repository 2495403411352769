"""sqlite3's errors as the domain's (core/errors.py): nothing above the store sees sqlite3."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from ..core.errors import ConstraintFailed, DomainError, StorageUnavailable

READ_FAILED: Final = "the database could not be read"
UNIQUE: Final = "UNIQUE constraint failed"


def failing(err: sqlite3.Error) -> bool:
    """Locked, read-only, full, corrupt or gone: the database, not the statement."""
    return isinstance(err, sqlite3.OperationalError) or type(err) is sqlite3.DatabaseError


def _ours(err: sqlite3.Error, failed: str) -> DomainError | None:
    """The domain error for `err` (`failed` says what could not be done), or None for a bug of
    ours (a wrong statement, a bad parameter, a NOT NULL broken), which must surface as one."""
    if isinstance(err, sqlite3.IntegrityError):
        # A duplicate of a unique key is the caller's conflict; any other constraint is ours.
        return ConstraintFailed(f"{failed}: {err}") if UNIQUE in str(err) else None
    if failing(err):
        return StorageUnavailable(f"{failed} ({err})")
    return None


@contextmanager
def translated(failed: str) -> Iterator[None]:
    """Raise a sqlite3 error from inside as ours (see `_ours`); a bug of ours as it is."""
    try:
        yield
    except sqlite3.Error as err:
        translation = _ours(err, failed)
        if translation is None:
            raise
        raise translation from err

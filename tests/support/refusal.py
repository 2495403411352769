"""The database refusing writes for real, from a chosen write of the store on: SQLite's
query_only ("attempt to write a readonly database"), so the store goes unhealthy as on a full
disk, and a decision can be cut short between two of its writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from robodyne.store.store import Store


@asynccontextmanager
async def refused_from(store: Store, monkeypatch: pytest.MonkeyPatch, write: str
                       ) -> AsyncIterator[None]:
    """Every write refused from the store's method `write` on, until the block ends (a
    journal's storage watch, running meanwhile, then stores storage_recovered)."""
    real = getattr(store, write)

    async def refused(*args: Any, **kwargs: Any) -> Any:
        await store.database.rows("PRAGMA query_only = ON")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, write, refused)
    try:
        yield
    finally:
        monkeypatch.setattr(store, write, real)
        await store.database.rows("PRAGMA query_only = OFF")

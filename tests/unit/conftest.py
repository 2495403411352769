"""The unit tests' one domain (app.build's) and one store, on a real SQLite file in tmp_path,
no sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from robodyne.store.store import Store

from ..support.domain import Domain, open_domain


@pytest.fixture
async def domain(tmp_path: Path) -> AsyncIterator[Domain]:
    async with open_domain(tmp_path) as opened:
        yield opened


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "store.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()

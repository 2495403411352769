"""The reliability tests' server: `python run.py` in tmp_path, to kill and start again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ..support.reliability import CONFIG, RestartableServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RestartableServer]:
    """On CONFIG, its database in tmp_path/data; not started (a test may prepare the disk
    first); killed at the end."""
    made = RestartableServer(tmp_path, CONFIG)
    yield made
    made.kill()

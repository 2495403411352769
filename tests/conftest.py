"""Fixtures: a real server on a free port with a real SQLite file, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from robodyne.app import create_app

from .support.api_client import Api
from .support.process import ServerProcess
from .support.server import MakeServer, make_settings


@pytest.fixture
async def make_server(aiohttp_server: Any, tmp_path: Path) -> MakeServer:
    """Start the whole app on a free port; keyword arguments override settings sections."""
    async def make(**sections: dict[str, Any]) -> TestServer:
        app = create_app(make_settings(tmp_path / "robodyne.db", **sections))
        server: TestServer = await aiohttp_server(app)
        return server
    return make


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Callable[..., ServerProcess]]:
    """Make `python run.py` processes in tmp_path; any still running at the end is killed."""
    made: list[ServerProcess] = []

    def make(config_text: str = "", **kwargs: object) -> ServerProcess:
        server = ServerProcess(tmp_path, config_text, name=f"server{len(made)}", **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.kill()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session; limit=0: a WebSocket holds its connection, and the default pool of 100
    would make the 101st client (or a request beside 100 tablets) wait forever."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client_session:
        yield client_session


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    """One server for the test, for tests that need only one."""
    return await make_server()


@pytest.fixture
def api(session: aiohttp.ClientSession, server: TestServer) -> Api:
    """The REST client of tests/support/api_client.py on that server."""
    return Api(session, server)

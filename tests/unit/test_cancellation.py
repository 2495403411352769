"""The server's long-running tasks end when cancelled, even when woken at that very moment.

Python 3.11's asyncio.wait_for returns the inner result instead of raising when the outer task
is cancelled just as the inner one finishes (CPython gh-86296, fixed in 3.12): a loop around it
then runs on after its cancel, and the app's cleanup waits on it forever. A warning logged
right before a test ended (its systemlog publish woke the status task) hung the suite so.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from robodyne.core.topics import Topic
from robodyne.domain.status import StatusReporter

from ..support.domain import Domain, open_domain


async def _ends_when_cancelled_as_woken(run: Callable[[], Coroutine[Any, Any, None]],
                                        wake: Callable[[], None], yields: int) -> None:
    task = asyncio.create_task(run())
    await asyncio.sleep(0.05)  # parked in its wait
    wake()
    for _ in range(yields):  # the wakeup travels through wait_for's inner task meanwhile
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert done, f"still running 2 s after its cancel ({yields} loop turns after the wake)"


def _publish(domain: Domain) -> Callable[[], None]:
    def wake() -> None:
        domain.hub.publish(Topic.SYSTEMLOGS, "append", [
            {"id": 1, "ts": "2026-12-02T00:00:00.000Z", "level": "WARNING",
             "source": "server", "message": "a refused token", "repeats": 1}])
    return wake


@pytest.mark.parametrize("yields", range(6))
async def test_the_status_task_ends_when_cancelled_as_a_publish_wakes_it(
    tmp_path: Path, yields: int
) -> None:
    async with open_domain(tmp_path) as domain:
        status = StatusReporter(domain.hub, domain.store)
        await _ends_when_cancelled_as_woken(status.run, _publish(domain), yields)


@pytest.mark.parametrize("yields", range(6))
async def test_the_storage_watch_ends_when_cancelled_as_health_flips(
    tmp_path: Path, yields: int
) -> None:
    async with open_domain(tmp_path) as domain:
        store = domain.store
        store.database.healthy = False  # failing: the watch probes with a timed wait for a flip

        def flip() -> None:
            for callback in store.on_health:
                callback(True)
        await _ends_when_cancelled_as_woken(domain.journal.watch_storage, flip, yields)


def test_no_module_uses_wait_for() -> None:
    """asyncio.timeout instead, everywhere: the 3.11 wait_for bug above hides in any loop."""
    package = Path(__file__).resolve().parents[2] / "robodyne"
    calls = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "wait_for":
                calls.append(f"{path.relative_to(package)}:{node.lineno}")
    assert calls == []

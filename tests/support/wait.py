"""The one wait of the tests: poll a condition until it holds, or fail saying what did not."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(condition: Callable[[], Any | Awaitable[Any]], timeout: float = 5.0,
                what: str = "condition", every: float = 0.05) -> Any:
    """Check `condition()` (awaited if it returns an awaitable) every `every` seconds until it
    is truthy and return that value; fail after `timeout` s with `what` and its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s; last value {result!r}")
        await asyncio.sleep(every)

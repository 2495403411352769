"""kill -9 between an order's commit and its answer: a client that retries with the same
Idempotency-Key gets the committed order, and no order is ever made twice (docs/api.md,
"Idempotency")."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import aiohttp
import pytest

from ..support.reliability import (
    AUTH, RestartableServer, db_rows, integrity, restartable_server,
)

pytestmark = pytest.mark.slow
__all__ = ["restartable_server"]  # the `server` fixture, imported so pytest finds it

WRITERS = 4
ROUNDS = 3
LOAD_S = 1.5


async def post_order(session: aiohttp.ClientSession, server: RestartableServer, key: str,
                     body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
    async with session.post(f"{server.base_url}/api/orders", json=body,
                            headers={**AUTH, "Idempotency-Key": key}) as resp:
        return (resp.status, await resp.json(),
                resp.headers.get("Idempotent-Replayed") == "true")


async def place_orders(session: aiohttp.ClientSession, server: RestartableServer, table_id: int,
                       writer: int, round_: int, answered: dict[str, dict[str, Any]],
                       unanswered: dict[str, dict[str, Any]]) -> None:
    """POST keyed orders back to back until the server is gone; the one in flight then is
    left for the retry."""
    n = 0
    while True:
        n += 1
        key = f"r{round_}-w{writer}-n{n}"
        body = {"table_id": table_id, "note": key, "items": [{"name": "Soup", "qty": 1}]}
        try:
            status, order, _ = await post_order(session, server, key, body)
        except (aiohttp.ClientError, OSError):
            unanswered[key] = body
            return
        assert status == 201, order
        answered[key] = order


async def test_retried_posts_after_kill_9_never_duplicate_an_order(
        server: RestartableServer) -> None:
    await server.start()
    answered: dict[str, dict[str, Any]] = {}
    recovered = replayed_total = 0
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/api/tables", headers=AUTH,
                                json={"label": "T1", "seats": 4}) as resp:
            table_id = (await resp.json())["id"]
        for round_ in range(1, ROUNDS + 1):
            unanswered: dict[str, dict[str, Any]] = {}
            writers = [asyncio.create_task(place_orders(session, server, table_id, w, round_,
                                                        answered, unanswered))
                       for w in range(WRITERS)]
            await asyncio.sleep(LOAD_S)
            server.signal(signal.SIGKILL)
            assert await server.wait(10) == -signal.SIGKILL
            await asyncio.gather(*writers)
            committed_unanswered = {r["note"] for r in db_rows(
                server.db, "SELECT note FROM orders")} & set(unanswered)
            await server.start()
            # Each client retries its unanswered POST with the same key and body.
            for key, body in unanswered.items():
                status, order, replayed = await post_order(session, server, key, body)
                assert status == 201, order
                assert order["note"] == key
                if key in committed_unanswered:
                    assert replayed, key  # the committed order, not a second one
                    recovered += 1
                replayed_total += replayed
                answered[key] = order
            print(f"[crash-idempotency] round {round_}: {len(unanswered)} POSTs unanswered at "
                  f"kill -9, {len(committed_unanswered)} of them committed; retried with their "
                  f"keys: {len(committed_unanswered)} got the committed order")
    notes = Counter(r["note"] for r in db_rows(server.db, "SELECT note FROM orders"))
    duplicates = {note: n for note, n in notes.items() if n > 1}
    assert integrity(server.db) == "ok"
    assert not duplicates, duplicates
    assert set(notes) == set(answered)
    assert all(answered[key]["id"] == row["id"] for key, row in (
        (r["note"], r) for r in db_rows(server.db, "SELECT id, note FROM orders")))
    print(f"[crash-idempotency] {ROUNDS} kill -9s, {len(notes)} orders posted, {recovered} "
          f"recovered after a crash between commit and answer, {replayed_total} replayed, "
          f"0 duplicates")

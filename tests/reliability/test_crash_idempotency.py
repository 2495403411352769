"""kill -9 between an order's commit and its answer: a client that retries with the same
Idempotency-Key gets the committed order, and no order is ever made twice (docs/api.md,
"Idempotency")."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from ..support.reliability import AUTH, RestartableServer, integrity, order_until_gone
from ..support.server import db_rows

WRITERS = 4
ROUNDS = 3
LOAD_S = 1.5


async def post_order(session: aiohttp.ClientSession, server: RestartableServer, key: str,
                     body: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
    async with session.post(f"{server.base_url}/api/orders", json=body,
                            headers={**AUTH, "Idempotency-Key": key}) as resp:
        return (resp.status, await resp.json(),
                resp.headers.get("Idempotent-Replayed") == "true")


def keyed_body(table_id: int, writer: str) -> Callable[[int], dict[str, Any]]:
    """The writer's n-th order; its note is its Idempotency-Key."""
    def body(n: int) -> dict[str, Any]:
        return {"table_id": table_id, "note": f"{writer}-n{n}",
                "items": [{"name": "Soup", "qty": 1}]}
    return body


async def test_retried_posts_after_kill_9_never_duplicate_an_order(
        server: RestartableServer) -> None:
    await server.start()
    answered: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/api/tables", headers=AUTH,
                                json={"label": "T1", "seats": 4}) as resp:
            table_id = (await resp.json())["id"]
        for round_ in range(1, ROUNDS + 1):
            writers = [asyncio.create_task(order_until_gone(
                session, server, keyed_body(table_id, f"r{round_}-w{w}"), keyed=True))
                for w in range(WRITERS)]
            await asyncio.sleep(LOAD_S)
            await server.kill_9()
            unanswered: dict[str, dict[str, Any]] = {}
            for done, in_flight in await asyncio.gather(*writers):
                answered.update((body["note"], order) for body, order in done)
                unanswered[in_flight["note"]] = in_flight
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
                answered[key] = order
    notes = Counter(r["note"] for r in db_rows(server.db, "SELECT note FROM orders"))
    duplicates = {note: n for note, n in notes.items() if n > 1}
    assert integrity(server.db) == "ok"
    assert not duplicates, duplicates
    assert set(notes) == set(answered)
    assert all(answered[key]["id"] == row["id"] for key, row in (
        (r["note"], r) for r in db_rows(server.db, "SELECT id, note FROM orders")))

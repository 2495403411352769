"""Restart: tablets and robots ride through a server restart and end with the server's state.

The server is the real `python run.py`; it is stopped with SIGTERM, as systemd does, and
started again on the same ports and database. The robots are the simulator's (run_fleet, with
its own reconnect and re-hello); the tablets are WebSocket clients that keep a mirror of their
topic, check every seq and resume with since/epoch after a drop, as web/js/client.js does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from robodyne.demo.client import run_fleet

from ..support.reliability import (
    AUTH,
    ROBOT,
    RestartableServer,
    Tablet,
    api_items,
    mirror_matches_api,
)
from ..support.wait import until

ROBOTS = 4
MIRRORED = ("orders", "tables", "robots")


async def post(session: aiohttp.ClientSession, server: RestartableServer, path: str,
               body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
    async with session.request(method, f"{server.base_url}{path}", json=body,
                               headers=AUTH) as resp:
        assert resp.status in (200, 201, 202), await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


async def staff(session: aiohttp.ClientSession, server: RestartableServer, table_ids: list[int],
                stop: asyncio.Event, answered: dict[int, dict[str, Any]]) -> None:
    """Place and bump orders until stopped, through the restart (refused while it is down)."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            order = await post(session, server, "/api/orders", {
                "table_id": table_ids[n % len(table_ids)], "items": [{"name": f"dish {n}"}]})
            answered[order["id"]] = order
            if n % 2:
                order = await post(session, server, f"/api/orders/{order['id']}",
                                   {"status": "preparing"}, method="PATCH")
                answered[order["id"]] = order
        except (aiohttp.ClientError, OSError):
            pass  # down for the restart
        await asyncio.sleep(0.02)


async def connected_robots(session: aiohttp.ClientSession, server: RestartableServer) -> set[str]:
    try:
        robots = (await api_items(session, server, "robots"))["items"]
    except (aiohttp.ClientError, OSError):
        return set()
    return {r["id"] for r in robots if r["connected"]}


async def test_robots_and_tablets_ride_through_a_restart_and_end_equal_to_the_server(
    server: RestartableServer, session: aiohttp.ClientSession
) -> None:
    await server.start()
    tables = [await post(session, server, "/api/tables", {"label": f"T{n}", "seats": 4})
              for n in range(1, 4)]
    stop_robots, stop_tablets, stop_staff = asyncio.Event(), asyncio.Event(), asyncio.Event()
    fleet = asyncio.create_task(run_fleet("127.0.0.1", server.tcp_port, ROBOT, ROBOTS, 10,
                                          stop=stop_robots, seed=7, prefix="sim"))
    tablets = [Tablet(session, server, topic) for topic in MIRRORED]
    reading = [asyncio.create_task(t.run(stop_tablets)) for t in tablets]
    answered: dict[int, dict[str, Any]] = {}
    writing = asyncio.create_task(staff(session, server, [t["id"] for t in tables], stop_staff,
                                        answered))
    try:
        everyone = {f"sim-{n}" for n in range(1, ROBOTS + 1)}

        async def all_connected() -> bool:
            return await connected_robots(session, server) == everyone
        await until(all_connected, 10, "robots connected")
        for n, robot_id in enumerate(sorted(everyone)):  # send them driving: poses move
            await post(session, server, f"/api/robots/{robot_id}/commands",
                       {"command": "go_to", "table_id": tables[n % len(tables)]["id"]})
        await asyncio.sleep(1)  # telemetry, orders and bumps flowing
        first_epochs = {t.topic: t.mirror.epoch for t in tablets}

        await server.restart()
        await until(all_connected, 20, "robots reconnected after the restart")

        async def fresh_snapshots() -> bool:
            return all(t.mirror.epoch not in (None, first_epochs[t.topic]) for t in tablets)
        await until(fresh_snapshots, 10, "tablets resnapshotted on the new epoch")
        await asyncio.sleep(1)  # the staff goes on writing on the new server
        stop_staff.set()
        await writing

        for tablet in tablets:
            if tablet.topic != "robots":
                await mirror_matches_api(session, server, tablet)

        async def robots_agree() -> bool:
            truth = (await api_items(session, server, "robots"))["items"]
            mirror = tablets[2].mirror.items
            return {r["id"]: r["connected"] for r in truth} == {
                rid: r["connected"] for rid, r in mirror.items()}
        await until(robots_agree, 5, "the robots mirror agrees on ids and connected")

        served = {o["id"]: o for o in (await api_items(session, server, "orders"))["items"]}
        assert all(served[i]["status"] == o["status"] for i, o in answered.items())
        for tablet in tablets:
            assert not tablet.problems, tablet.problems
            assert tablet.snapshots >= 2 and len(set(tablet.epochs)) == 2, (
                tablet.topic, tablet.snapshots, tablet.epochs)
    finally:
        stop_staff.set()
        stop_tablets.set()
        stop_robots.set()
        await asyncio.gather(writing, *reading, return_exceptions=True)
        await asyncio.wait_for(fleet, 10)


async def test_a_tablet_that_resumes_in_the_same_run_gets_exactly_the_missed_updates(
    server: RestartableServer, session: aiohttp.ClientSession
) -> None:
    await server.start()
    table = await post(session, server, "/api/tables", {"label": "T1", "seats": 4})
    tablet = Tablet(session, server, "orders")
    stop = asyncio.Event()
    reading = asyncio.create_task(tablet.connect_once(stop))
    await until(lambda: tablet.snapshots, 5, "snapshot")
    first = await post(session, server, "/api/orders", {"table_id": table["id"],
                                                        "items": [{"name": "soup"}]})
    await until(lambda: first["id"] in tablet.mirror.items, 5, "live update")
    stop.set()  # the tablet drops its socket ...
    await reading
    since = tablet.mirror.seq
    assert since is not None

    missed = [await post(session, server, "/api/orders", {"table_id": table["id"],
                                                          "items": [{"name": f"dish {n}"}]})
              for n in range(5)]
    missed.append(await post(session, server, f"/api/orders/{first['id']}",
                             {"status": "preparing"}, method="PATCH"))

    before = len(tablet.received)
    stop = asyncio.Event()
    reading = asyncio.create_task(tablet.connect_once(stop))  # ... and resumes with since/epoch
    try:
        await until(lambda: len(tablet.received) - before >= len(missed), 5, "missed updates")
        await asyncio.sleep(0.3)  # and nothing more arrives
        frames = tablet.received[before:]
        assert [f["seq"] for f in frames] == list(range(since + 1, since + len(missed) + 1))
        assert [f["data"]["kind"] for f in frames] == ["upsert"] * len(missed)
        assert [f["data"]["items"] for f in frames] == [[order] for order in missed]
        assert (tablet.snapshots, tablet.resumed) == (1, 1)
        await mirror_matches_api(session, server, tablet)
        assert not tablet.problems, tablet.problems
    finally:
        stop.set()
        await reading

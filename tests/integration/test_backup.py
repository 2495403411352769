"""Backups and restores (docs/operations.md, "Backups") on the real `python run.py` and the
real `python -m robodyne backup|restore`, with real SQLite files."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import aiohttp
import aiosqlite
import pytest
from aiohttp import WSMsgType

from robodyne.store.store import Store

from ..support.process import ServerProcess, clean_env
from ..support.wait import until

ADMIN = "backup-test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
BACKUP_NAME = re.compile(r"robodyne-\d{8}-\d{6}(-\d+)?\.db")


def config(**backup: object) -> str:
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in backup.items())
    return (f"[websocket]\nping_interval_s = 300\n[backup]\n{lines}"
            f'[auth.tokens]\n"{ADMIN}" = "admin"\n')


async def robodyne(server: ServerProcess, *args: str) -> tuple[int, str, str]:
    """`python -m robodyne --config … --db … ARGS` with the server's settings, awaited without
    blocking the loop (writers run beside it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robodyne", "--config", str(server.config), "--db",
        str(server.db), *args, cwd=server.workdir, env=clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def integrity(path: Path) -> str:
    async with aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as db:
        async with db.execute("PRAGMA integrity_check") as cur:
            row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def order_ids(path: Path) -> set[int]:
    async with aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as db:
        async with db.execute("SELECT id FROM orders") as cur:
            return {int(row[0]) for row in await cur.fetchall()}


async def seed(db: Path, log_rows: int = 0) -> int:
    """A database with one table (its id returned) and `log_rows` system logs to give it size."""
    store = Store(db)
    await store.open()
    table = await store.add_table("T1", 4)
    async with store.transaction() as conn:
        await conn.executemany(
            "INSERT INTO systemlogs (ts, level, source, message) VALUES (?, ?, ?, ?)",
            [("2026-01-01T00:00:00Z", "INFO", "seed", f"line {i} " + "x" * 300)
             for i in range(log_rows)])
    await store.close()
    return table.id


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def post_order(session: aiohttp.ClientSession, server: ServerProcess, table: int) -> int:
    async with session.post(f"{server.base_url}/api/orders", headers=AUTH,
                            json={"table_id": table, "items": [{"name": "Soup"}]}) as resp:
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])


async def test_a_backup_taken_while_four_writers_post_orders_holds_every_order_answered_before(
        servers, session, tmp_path: Path) -> None:
    server = servers(config(interval_h=0))
    table = await seed(server.db, log_rows=30_000)
    await server.start()
    answered: list[tuple[float, float, int]] = []  # (sent, answered, id), monotonic
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            order = await post_order(session, server, table)
            answered.append((sent, time.monotonic(), order))

    writers = [asyncio.create_task(writer()) for _ in range(4)]
    await until(lambda: len(answered) >= 40, 30, "40 orders answered")
    before = {order for _, _, order in answered}
    began = time.monotonic()
    status, _, err = await robodyne(server, "backup", "--to", str(tmp_path / "b.db"))
    ended = time.monotonic()
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*writers)

    assert status == 0, err
    backup = tmp_path / "b.db"
    assert await integrity(backup) == "ok"
    assert before and before <= await order_ids(backup)
    during = [done - sent for sent, done, _ in answered if done >= began and sent <= ended]
    assert len(during) >= 10, "the server stopped answering during the backup"
    worst = max(during)
    assert worst < 2.0, f"a write waited {worst:.3f} s during the backup"


async def test_a_restored_backup_brings_its_orders_back_and_keeps_the_old_database(
        servers, session, tmp_path: Path) -> None:
    server = servers(config(interval_h=0))
    table = await seed(server.db)
    await server.start()
    kept = {await post_order(session, server, table) for _ in range(3)}
    status, _, err = await robodyne(server, "backup", "--to", str(tmp_path / "b.db"))
    assert status == 0, err
    later = await post_order(session, server, table)
    assert await server.stop() == 0

    status, out, err = await robodyne(server, "restore", str(tmp_path / "b.db"))
    assert status == 0, err
    assert "restored" in out and "before-restore" in out
    [old] = server.db.parent.glob("robodyne.db.before-restore-*")
    assert await order_ids(old) == kept | {later}
    assert not server.db.with_name("robodyne.db-wal").exists()

    again = servers(config(interval_h=0), db=server.db)
    await again.start()
    async with session.get(f"{again.base_url}/api/orders", headers=AUTH) as resp:
        assert resp.status == 200
        assert {order["id"] for order in (await resp.json())["items"]} == kept


async def test_scheduled_backups_keep_the_newest_and_leave_other_files_alone(
        servers, session, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    strangers = [backups / "notes.txt", backups / "robodyne-manual.db"]
    for path in strangers:
        path.write_text("not ours")
    # 0.0002 h = 0.72 s between backups.
    server = servers(config(dir=str(backups), interval_h=0.0002, keep=2))
    await server.start()
    await until(lambda: server.stderr().count("backup written to") >= 4, 15, "four backups",
                every=0.1)
    ours = sorted(p.name for p in backups.iterdir() if BACKUP_NAME.fullmatch(p.name))
    assert len(ours) == 2, ours
    assert all(path.read_text() == "not ours" for path in strangers)
    assert not list(backups.glob("*.partial"))
    for name in ours:
        assert await integrity(backups / name) == "ok"

    async with session.get(f"{server.base_url}/metrics", headers=AUTH) as resp:
        metrics = await resp.text()
    values = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
              if line.startswith("robodyne_backup")}
    assert values["robodyne_backups_total"] >= 4
    assert values["robodyne_backup_failures_total"] == 0
    assert abs(values["robodyne_backup_last_success_timestamp_seconds"] - time.time()) < 10
    assert 0 < values["robodyne_backup_last_duration_seconds"] < 5
    assert values["robodyne_backup_last_size_bytes"] > 0


async def test_a_backup_that_cannot_be_written_raises_backup_failed_and_serving_goes_on(
        servers, session, tmp_path: Path) -> None:
    # A directory under a regular file cannot be made, even by root (chmod would not stop root).
    (tmp_path / "afile").write_text("")
    server = servers(config(dir=str(tmp_path / "afile" / "sub"), interval_h=0.0002))
    table = await seed(server.db)
    await server.start()
    async with session.ws_connect(server.ws_url("events", ADMIN)) as ws:
        while True:
            msg = await ws.receive(timeout=10)
            assert msg.type is WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            failed = [e for e in frame["data"].get("items", []) if e["type"] == "backup_failed"]
            if failed:
                break
    [event] = failed
    assert event["severity"] == "error" and "afile" in event["message"]
    async with session.get(f"{server.base_url}/healthz") as resp:
        assert resp.status == 200
    await post_order(session, server, table)
    async with aiosqlite.connect(f"file:{server.db}?mode=ro", uri=True) as db:
        async with db.execute("SELECT count(*) FROM events WHERE type = 'backup_failed'") as cur:
            row = await cur.fetchone()
    assert row is not None and row[0] >= 1
    async with session.get(f"{server.base_url}/metrics", headers=AUTH) as resp:
        assert re.search(r"^robodyne_backup_failures_total [1-9]", await resp.text(), re.M)
    assert "ERROR robodyne.domain.backups: backup into" in server.stderr()


async def _not_ours(path: Path) -> None:
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE TABLE notes (body TEXT)")
        await db.commit()


async def _newer(path: Path) -> None:
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE TABLE schema_version (version INTEGER)")
        await db.execute("INSERT INTO schema_version VALUES (999)")
        await db.commit()


async def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database at all" * 100)


@pytest.mark.parametrize(("make", "says"), [
    (_garbage, "not a usable SQLite database"),
    (_not_ours, "not a Robodyne database"),
    (_newer, "schema version 999"),
])
async def test_restore_refuses_a_file_it_cannot_use_and_leaves_the_database_alone(
        servers, tmp_path: Path, make, says: str) -> None:
    server = servers(config(interval_h=0))
    await seed(server.db)
    before = digest(server.db)
    candidate = tmp_path / "candidate.db"
    await make(candidate)
    status, out, err = await robodyne(server, "restore", str(candidate))
    assert status == 2, (out, err)
    assert len(err.splitlines()) == 1 and says in err and "Traceback" not in err, err
    assert digest(server.db) == before
    assert not list(server.db.parent.glob("*before-restore*"))


async def test_restore_refuses_while_the_server_runs(servers, session, tmp_path: Path) -> None:
    server = servers(config(interval_h=0))
    table = await seed(server.db)
    await server.start()
    await post_order(session, server, table)
    status, _, err = await robodyne(server, "backup", "--to", str(tmp_path / "b.db"))
    assert status == 0, err
    status, _, err = await robodyne(server, "restore", str(tmp_path / "b.db"))
    assert status == 2
    assert len(err.splitlines()) == 1 and "server is running" in err, err
    assert not list(server.db.parent.glob("*before-restore*"))
    await post_order(session, server, table)
    assert len(await order_ids(server.db)) == 2

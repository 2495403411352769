"""A database made by the last release opens with today's code and loses nothing
(tests/fixtures/README.md): migrated in place, served by `python run.py`, and restored from a
backup taken before the migration."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from robodyne.store.schema import MIGRATIONS
from robodyne.store.store import Store

from ..support.process import ServerProcess
from .test_backup import robodyne

RELEASE_DB = Path(__file__).resolve().parents[1] / "fixtures" / "release-32f839c.db"
RELEASE_SCHEMA = 3
ADMIN = "upgrade-test-admin-token-0123456789"
CONFIG = (f'[server]\ntimezone = "UTC"\n[backup]\ninterval_h = 0\n'
          f'[auth.tokens]\n"{ADMIN}" = "admin"\n')
AUTH = {"Authorization": f"Bearer {ADMIN}"}
TABLES = ("robots", "dining_tables", "orders", "customers", "inventory", "events",
          "systemlogs", "video_streams", "tasks", "menu")


def _copy(to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RELEASE_DB, to)
    return to


@contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    # Closed at once: an open connection would hold the file that restore must fold.
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        yield db


def _rows(path: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    with _reading(path) as db:
        return db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()


def _columns(path: Path, table: str) -> list[str]:
    with _reading(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _version(path: Path) -> int:
    with _reading(path) as db:
        return int(db.execute("SELECT max(version) FROM schema_version").fetchone()[0])


async def test_the_release_database_migrates_with_every_row_and_value_kept(
    tmp_path: Path
) -> None:
    assert _version(RELEASE_DB) == RELEASE_SCHEMA
    migrated = _copy(tmp_path / "robodyne.db")
    store = Store(migrated)
    await store.open()
    await store.close()
    assert _version(migrated) == len(MIGRATIONS)
    for table in TABLES:
        old = _columns(RELEASE_DB, table)
        assert set(old) <= set(_columns(migrated, table)), table
        before = _rows(RELEASE_DB, table, old)
        assert before, f"the fixture has no {table}: it would prove nothing"
        assert _rows(migrated, table, old) == before, table
    with _reading(migrated) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # The release's dishes cost 0 and say nothing more to guests; its orders were staff's,
        # and cost 0 (their items had no price).
        assert db.execute("SELECT DISTINCT price, names, allergens, options, image, position"
                          " FROM menu").fetchall() == [(0, "{}", "[]", "[]", None, 0)]
        assert db.execute("SELECT DISTINCT source, visit_id, total FROM orders"
                          ).fetchall() == [("staff", None, 0)]
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master"
                                                " WHERE type = 'index'")}
        # Visits (SPEC §12.1) start empty: the release's orders belong to none.
        assert db.execute("SELECT count(*) FROM visits").fetchone() == (0,)
        # The release's parties have no page (no code) and no quote; a seated one was seated
        # when it joined, as far as anyone knows (SPEC §12.4).
        assert db.execute("SELECT DISTINCT code, quoted_wait_s, called_at, visit_id, note"
                          " FROM customers").fetchall() == [(None, None, None, None, "")]
        assert db.execute("SELECT count(*) FROM customers WHERE status = 'seated'"
                          " AND seated_at IS NOT created_at").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM customers WHERE status != 'seated'"
                          " AND seated_at IS NOT NULL").fetchone() == (0,)
    assert {"orders_by_created", "tasks_by_created", "events_by_type", "visits_open_per_table",
            "orders_by_visit"} <= indexes


async def _served(session: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    """What the running server says of the release's day: its report and its export."""
    async with session.get(f"{server.base_url}/api/reports/daily?date=2026-12-02",
                           headers=AUTH) as response:
        assert response.status == 200, await response.text()
        report = await response.json()
    async with session.get(f"{server.base_url}/api/export/orders.csv?from=2026-12-02",
                           headers=AUTH) as response:
        assert response.status == 200
        lines = (await response.text()).count("\r\n")
    async with session.get(f"{server.base_url}/api/menu", headers=AUTH) as response:
        menu = (await response.json())["items"]
    async with session.get(f"{server.base_url}/api/orders", headers=AUTH) as response:
        orders = (await response.json())["items"]
    return {"orders": report["orders"]["total"], "served": report["orders"]["by_status"],
            "csv_rows": lines - 1, "menu": len(menu),
            "prices": {(dish["price"], dish["options"] == []) for dish in menu}
            | {(item["price"], item["menu_id"]) for order in orders for item in order["items"]},
            "totals": {(order["source"], order["total"]) for order in orders}}


async def test_run_py_serves_the_release_database_and_a_pre_migration_backup_restores(
    servers: Any, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    items = sum(len(row[0].split('"name"')) - 1
                for row in _rows(RELEASE_DB, "orders", ["items"]))
    server = servers(CONFIG, db=_copy(tmp_path / "data" / "robodyne.db"))
    await server.start()
    first = await _served(session, server)
    assert first["orders"] == 12 and first["csv_rows"] == items and first["menu"] == 13
    assert first["served"]["served"] == 8
    assert (0, True) in first["prices"] and first["prices"] <= {(0, True), (0, None)}
    assert first["totals"] <= {("staff", 0)}
    assert await server.stop() == 0
    assert _version(server.db) == len(MIGRATIONS)
    # The first start gave every table of the release its own link code (SPEC §11.2).
    with _reading(server.db) as db:
        tables = db.execute("SELECT count(*) FROM dining_tables").fetchone()[0]
        codes = db.execute("SELECT count(DISTINCT code) FROM table_links WHERE table_id IN"
                           " (SELECT id FROM dining_tables)").fetchone()[0]
    assert tables > 0 and codes == tables

    # The release's file is a backup taken before the migration: restore puts it back, and
    # the next start migrates it again with the same result.
    status, out, err = await robodyne(server, "restore", str(RELEASE_DB))
    assert status == 0, err
    assert _version(server.db) == RELEASE_SCHEMA
    again = servers(CONFIG, db=server.db)
    await again.start()
    assert await _served(session, again) == first

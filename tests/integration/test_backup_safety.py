"""Backups and restores that a planted link cannot turn against the box, that never overwrite
a kept database, and that restore only the schema this code makes (SPEC §10; store/backup.py,
store/files.py), on real SQLite files; the database, its WAL and the backups 0600 under a
umask of 022."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from robodyne.store.backup import BackupError, restore, write_backup
from robodyne.store.schema import MIGRATIONS, VERSION_TABLE
from robodyne.store.store import Store

NOW = datetime(2026, 12, 1, 3, 15, tzinfo=timezone.utc)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run_sql(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


def labels(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT label FROM dining_tables ORDER BY id")]


async def database(path: Path, *tables: str) -> Path:
    """A Robodyne database at `path` holding these tables."""
    store = Store(path)
    await store.open()
    for label in tables:
        await store.add_table(label, 4)
    await store.close()
    return path


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The default umask, under which SQLite alone would make files 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# ---- links planted where a file is to be made ---------------------------------------------

async def test_a_backup_refuses_a_link_planted_at_its_partial_name(tmp_path: Path) -> None:
    source = await database(tmp_path / "robodyne.db", "T1")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "backups" / "b.db"
    target.parent.mkdir()
    partial = target.with_name("b.db.partial")
    for planted in (victim, tmp_path / "nowhere"):  # a link to a file, and a dangling one
        partial.symlink_to(planted)
        with pytest.raises(BackupError, match="exists already"):
            await write_backup(source, target)
        assert partial.is_symlink() and not target.exists()
        partial.unlink()
    assert victim.read_text() == "precious"
    assert not (tmp_path / "nowhere").exists()


async def test_a_backup_refuses_a_link_at_its_own_name_and_never_replaces_it(
        tmp_path: Path) -> None:
    source = await database(tmp_path / "robodyne.db", "T1")
    target = tmp_path / "b.db"
    target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(BackupError, match="exists already"):
        await write_backup(source, target)
    assert target.is_symlink() and not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "b.db.partial").exists()


async def test_a_restore_refuses_a_link_planted_at_its_copy_and_leaves_the_database(
        tmp_path: Path) -> None:
    db = await database(tmp_path / "robodyne.db", "now")
    backup = await database(tmp_path / "backup.db", "then")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    # The copy's name is removed first (a link is removed, not followed), then made anew:
    # the victim is never written.
    (tmp_path / "robodyne.db.restoring").symlink_to(victim)
    done = await restore(backup, db, NOW)
    assert victim.read_text() == "precious"
    assert labels(db) == ["then"] and done.kept is not None and labels(done.kept) == ["now"]


# ---- restores never overwrite what they keep ----------------------------------------------

async def test_two_restores_in_one_second_keep_both_originals(tmp_path: Path) -> None:
    db = await database(tmp_path / "robodyne.db", "first")
    second = await database(tmp_path / "second.db", "second")
    third = await database(tmp_path / "third.db", "third")
    (tmp_path / "robodyne.db.before-restore-20261201-031500-1").write_text("someone's file")
    one = await restore(second, db, NOW)
    two = await restore(third, db, NOW)
    assert one.kept is not None and two.kept is not None and one.kept != two.kept
    assert one.kept.name == "robodyne.db.before-restore-20261201-031500"
    assert two.kept.name == "robodyne.db.before-restore-20261201-031500-2"
    assert labels(one.kept) == ["first"] and labels(two.kept) == ["second"]
    assert labels(db) == ["third"]
    assert (tmp_path / "robodyne.db.before-restore-20261201-031500-1").read_text() == \
        "someone's file"


# ---- the schema a restore takes -----------------------------------------------------------

@pytest.mark.parametrize(("change", "says"), [
    ("CREATE TRIGGER spy AFTER INSERT ON orders BEGIN DELETE FROM payments; END",
     "its own trigger spy"),
    ("CREATE TABLE extra (x)", "its own table extra"),
    ("CREATE INDEX sneaky ON orders (note)", "its own index sneaky"),
    ("CREATE VIEW seen AS SELECT * FROM orders", "its own view seen"),
    ("DROP TRIGGER inventory_never_below_zero", "no trigger inventory_never_below_zero"),
    ("DROP INDEX orders_by_status", "no index orders_by_status"),
])
async def test_a_restore_refuses_a_schema_this_code_does_not_make(
        tmp_path: Path, change: str, says: str) -> None:
    db = await database(tmp_path / "robodyne.db", "now")
    backup = await database(tmp_path / "backup.db", "then")
    run_sql(backup, change)
    with pytest.raises(BackupError, match=f"not the schema Robodyne makes.*{says}"):
        await restore(backup, db, NOW)
    assert labels(db) == ["now"]
    assert not list(tmp_path.glob("*before-restore*"))
    assert not (tmp_path / "robodyne.db.restoring").exists()


async def test_a_restore_refuses_a_table_made_otherwise(tmp_path: Path) -> None:
    db = await database(tmp_path / "robodyne.db", "now")
    backup = await database(tmp_path / "backup.db", "then")
    run_sql(backup, "ALTER TABLE orders ADD COLUMN hook TEXT DEFAULT 'x'")
    with pytest.raises(BackupError, match="table orders made otherwise"):
        await restore(backup, db, NOW)


async def test_a_backup_of_an_older_schema_is_restored_and_migrated_on_open(
        tmp_path: Path) -> None:
    db = await database(tmp_path / "robodyne.db", "now")
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old)) as conn:
        conn.execute(VERSION_TABLE)
        for script in MIGRATIONS[:3]:
            conn.executescript(script)
        conn.execute("INSERT INTO schema_version VALUES (3)")
        conn.commit()
    assert (await restore(old, db, NOW)).version == 3
    await database(db)  # opening it migrates it to this code's version
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == \
            len(MIGRATIONS)


# ---- modes --------------------------------------------------------------------------------

@pytest.mark.usefixtures("umask_022")
async def test_the_database_its_wal_backups_and_restores_are_0600_under_umask_022(
        tmp_path: Path) -> None:
    path = tmp_path / "robodyne.db"
    store = Store(path)
    await store.open()
    await store.add_table("T1", 4)
    wal, shm = tmp_path / "robodyne.db-wal", tmp_path / "robodyne.db-shm"
    assert wal.exists() and shm.exists()
    assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    written = await store.backup(tmp_path / "backups" / "b.db")
    await store.close()
    assert mode(written.path) == 0o600
    done = await restore(written.path, path, NOW)
    assert mode(path) == 0o600 and done.kept is not None and mode(done.kept) == 0o600


@pytest.mark.usefixtures("umask_022")
async def test_a_database_left_readable_by_everyone_is_0640_once_opened(
        tmp_path: Path) -> None:
    path = tmp_path / "robodyne.db"
    run_sql(path, "CREATE TABLE t (x)")
    os.chmod(path, 0o664)
    assert mode(path) == 0o664
    await database(path)
    assert mode(path) == 0o640

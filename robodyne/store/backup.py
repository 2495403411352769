"""Backups of the SQLite file: SQLite's online backup into a checked file, pruning, and the
checks and swap of a restore (docs/operations.md, "Backups")."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

import aiosqlite

from .errors import translated
from .files import PlantedFile, create_private, link_new, still_ours
from .schema import MIGRATIONS, VERSION_TABLE

# robodyne-20261201-031500.db, in UTC; -1, -2 … when two land in the same second.
NAME_FORMAT: Final = "robodyne-%Y%m%d-%H%M%S"
NAME_PATTERN: Final = re.compile(r"robodyne-(\d{8}-\d{6})(?:-(\d+))?\.db")
PARTIAL_SUFFIX: Final = ".partial"
COPY_FAILED: Final = "SQLite could not make the copy"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class Written:
    """One finished backup file."""

    path: Path
    size: int


def lock_path(database: Path) -> Path:
    """The file a running server holds a shared flock on, beside the database."""
    return database.with_name(database.name + ".lock")


def hold_lock(database: Path, *, exclusive: bool) -> int:
    """Take the database's flock without waiting and return its descriptor (close it to let go).

    The server holds it shared for as long as its store is open; a restore needs it exclusive.
    The kernel drops a flock with its process, even on kill -9, so no stale lock outlives a
    crash (unlike a pid file), and unlike SQLite's own locks it is held while the server is idle.
    """
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def backup_stamp(path: Path) -> tuple[datetime, int] | None:
    """When a backup of ours was taken (and its same-second number), from its name; else None."""
    found = NAME_PATTERN.fullmatch(path.name)
    if found is None:
        return None
    when = datetime.strptime(found[1], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    return when, int(found[2] or 0)


def backups_in(directory: Path) -> list[Path]:
    """The backups of ours in `directory`, oldest first; any other file is not ours."""
    if not directory.is_dir():
        return []
    stamped = [(stamp, path) for path in directory.iterdir()
               if path.is_file() and (stamp := backup_stamp(path)) is not None]
    return [path for _, path in sorted(stamped)]


def new_name(directory: Path, now: datetime) -> Path:
    """A backup name for `now` (UTC) that no file in `directory` has yet."""
    base = now.astimezone(timezone.utc).strftime(NAME_FORMAT)
    path, n = directory / f"{base}.db", 0
    while os.path.lexists(path) or os.path.lexists(path.with_name(path.name + PARTIAL_SUFFIX)):
        n += 1
        path = directory / f"{base}-{n}.db"
    return path


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of ours in `directory`; returns the deleted."""
    doomed = backups_in(directory)[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


async def _integrity(db: aiosqlite.Connection) -> str:
    """'ok', or the first problem PRAGMA integrity_check found."""
    async with db.execute("PRAGMA integrity_check") as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else "no answer"


async def write_backup(database: Path, target: Path) -> Written:
    """Copy `database` into `target` with SQLite's online backup, check it, then name it.

    The copy is read on a connection of its own, in one step: in WAL mode a reader blocks no
    writer, so the server's connection goes on serving throughout, while a backup in several
    steps would start over after every commit the server makes meanwhile. The file is written
    as `<target>.partial` and named only once PRAGMA integrity_check says ok, so a half
    written or failed copy never looks like a backup. Both are new files of mode 0600: a
    file or a link planted at either name is refused, never written through or replaced.
    """
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    if os.path.lexists(target):
        raise BackupError(f"{target} exists already: give another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    made = _create(partial)
    try:
        with translated(COPY_FAILED):
            async with aiosqlite.connect(database) as source, \
                    aiosqlite.connect(partial) as copy:
                await source.backup(copy, pages=-1)
                # One self-contained file: the copy would otherwise keep the source's WAL mode.
                await copy.execute("PRAGMA journal_mode=DELETE")
                problem = await _integrity(copy)
        if problem != "ok":
            raise BackupError(f"the copy failed PRAGMA integrity_check: {problem}")
        _name(partial, made, target)
    finally:
        _remove_ours(partial, made)
    return Written(target, target.stat().st_size)


def _create(path: Path) -> os.stat_result:
    try:
        return create_private(path)
    except PlantedFile as err:
        raise BackupError(str(err)) from None


def _name(made_at: Path, made: os.stat_result, target: Path) -> None:
    """Give the checked file made at `made_at` its new name `target`."""
    try:
        still_ours(made_at, made)
        link_new(made_at, target)
    except PlantedFile as err:
        raise BackupError(str(err)) from None


def _remove_ours(path: Path, made: os.stat_result) -> None:
    """Remove the file we made at `path`, and nothing put there in its place."""
    try:
        still_ours(path, made)
    except PlantedFile:
        return
    path.unlink(missing_ok=True)


async def check_restorable(path: Path) -> int:
    """The schema version of a backup fit to restore; BackupError says why one is not."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        async with aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as db:
            problem = await _integrity(db)
            if problem != "ok":
                raise BackupError(f"{path} fails PRAGMA integrity_check: {problem}")
            try:
                async with db.execute("SELECT max(version) FROM schema_version") as cur:
                    row = await cur.fetchone()
            except sqlite3.OperationalError:
                raise BackupError(f"{path} is not a Robodyne database"
                                  " (it has no schema_version table)") from None
            version = row[0] if row else None
            if not isinstance(version, int) or version < 1:
                raise BackupError(f"{path} is not a Robodyne database (no schema version in it)")
            if version > len(MIGRATIONS):
                raise BackupError(f"{path} has schema version {version}, newer than this"
                                  f" Robodyne's {len(MIGRATIONS)}: install the version that"
                                  " wrote it")
            unexpected = _differences(await _schema(db), await expected_schema(version))
            if unexpected:
                raise BackupError(f"{path} is not the schema Robodyne makes at version"
                                  f" {version}: {unexpected}")
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} is not a usable SQLite database ({err})") from None
    return version


# What the schema of a file is: each table, index, trigger and view, by kind and name, with
# the SQL that made it (SQLite's own sqlite_* objects aside: they hold no code).
Schema = dict[tuple[str, str], str]


async def _schema(db: aiosqlite.Connection) -> Schema:
    async with db.execute("SELECT type, name, sql FROM sqlite_master"
                          " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'") as cur:
        return {(kind, name): " ".join((sql or "").split())
                for kind, name, sql in await cur.fetchall()}


async def expected_schema(version: int) -> Schema:
    """The schema this code makes at `version`: its migrations run on an empty database."""
    async with aiosqlite.connect(":memory:") as db:
        await db.execute(VERSION_TABLE)
        for script in MIGRATIONS[:version]:
            await db.executescript(script)
        return await _schema(db)


def _differences(found: Schema, expected: Schema) -> str:
    """The first few objects one schema has and the other has not (or has otherwise)."""
    extra = [f"its own {kind} {name}" for (kind, name) in found if (kind, name) not in expected]
    missing = [f"no {kind} {name}" for (kind, name) in expected if (kind, name) not in found]
    changed = [f"{kind} {name} made otherwise" for (kind, name), sql in found.items()
               if (kind, name) in expected and expected[kind, name] != sql]
    return "; ".join((extra + missing + changed)[:3])


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    version: int
    kept: Path | None


async def restore(backup: Path, database: Path, now: datetime) -> Restored:
    """Put a checked backup in place of the (stopped) server's database.

    The current database is checkpointed (its WAL folded in, then its -wal and -shm gone)
    and kept as `<name>.before-restore-<time>` (`-1`, `-2` … after a restore in the same
    second, never over an older one); the backup is copied in beside it first, with SQLite's
    backup API, into a new file of mode 0600, so the database is never a half copied file.
    """
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold_lock(database, exclusive=True)
    except BlockingIOError:
        raise BackupError(f"the server is running on {database} (it holds"
                          f" {lock_path(database).name}): stop it first") from None
    try:
        version = await check_restorable(backup)
        incoming = database.with_name(database.name + ".restoring")
        incoming.unlink(missing_ok=True)  # a link is removed, not followed
        made = _create(incoming)
        try:
            with translated(COPY_FAILED):
                async with aiosqlite.connect(f"file:{backup}?mode=ro", uri=True) as source, \
                        aiosqlite.connect(incoming) as copy:
                    await source.backup(copy, pages=-1)
                    await copy.execute("PRAGMA journal_mode=DELETE")
            kept = None
            if database.exists():
                with translated(f"{database} could not be checkpointed"):
                    await _fold_wal(database)
                kept = _keep(database, now)
            still_ours(incoming, made)
            incoming.rename(database)
        except PlantedFile as err:
            raise BackupError(str(err)) from None
        finally:
            _remove_ours(incoming, made)
        return Restored(version, kept)
    finally:
        os.close(lock)


def _keep(database: Path, now: datetime) -> Path:
    """Move the database aside under a name no file has: `<name>.before-restore-<time>`."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"{database.name}.before-restore-{stamp}"
    n = 0
    while True:
        kept = database.with_name(base if n == 0 else f"{base}-{n}")
        try:
            link_new(database, kept)
        except PlantedFile:
            n += 1
            continue
        database.unlink()
        return kept


async def _fold_wal(database: Path) -> None:
    """Checkpoint the database fully and remove its -wal and -shm files."""
    async with aiosqlite.connect(database) as db:
        async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            row = await cur.fetchone()
        if row is not None and row[0] != 0:
            raise BackupError(f"{database} could not be checkpointed (busy): is a server"
                              " still using it?")
        await db.execute("PRAGMA journal_mode=DELETE")
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)

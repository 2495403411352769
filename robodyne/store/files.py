"""The files the store makes (the database, its WAL, backups, a restore's copies): owner-only
whatever the umask, and never through a link someone planted where one is to be made."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

# A new file: read and written by its owner only.
PRIVATE: Final = 0o600
# What a file the store keeps may grant beyond that: group read (an operator's backup group).
KEPT_MAX: Final = 0o640
# The beside-files SQLite makes with the database's own mode.
SIDE_SUFFIXES: Final = ("-wal", "-shm", "-journal")


class PlantedFile(Exception):
    """A file or link was found where a new file was to be made, or put there meanwhile."""


def create_private(path: Path) -> os.stat_result:
    """Make `path` a new empty file of mode 0600, and return what it is (to check it later
    with `still_ours`). Refuses (PlantedFile) anything already there, a link above all:
    O_EXCL with O_CREAT follows no symbolic link, not even a dangling one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     PRIVATE)
    except FileExistsError:
        raise PlantedFile(f"{path} exists already (a file or a link): remove it first") from None
    try:
        os.fchmod(fd, PRIVATE)  # the umask only ever takes bits away; this says them all
        return os.fstat(fd)
    finally:
        os.close(fd)


def still_ours(path: Path, made: os.stat_result) -> None:
    """PlantedFile unless `path` is still the regular file `create_private` made."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        raise PlantedFile(f"{path} was removed while it was being written") from None
    if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (made.st_dev, made.st_ino):
        raise PlantedFile(f"{path} was replaced while it was being written")


def link_new(source: Path, target: Path) -> None:
    """Give `source` the name `target`, which must be new: a hard link never replaces a file
    (nor follows a link) that is there, unlike a rename."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise PlantedFile(f"{target} exists already: give another name") from None


def tighten(database: Path) -> None:
    """Take from the database and its beside-files any right beyond 0640 (no one else's read,
    no group write): files an older version made under a umask of 022 were 0644."""
    for path in (database, *(database.with_name(database.name + s) for s in SIDE_SUFFIXES)):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            continue
        if mode & ~KEPT_MAX:
            os.chmod(path, mode & KEPT_MAX)

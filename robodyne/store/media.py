"""The media dir (docs/api.md, "Menu photos"): the files the menu's photos are kept in, each
written at once and found again only by a name of ours.

A file is a few hundred kilobytes on local disk, written or removed once per upload, like
tokens.toml: these are plain blocking calls (microseconds; the fsyncs a few milliseconds)
rather than a thread of our own.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from contextlib import suppress
from pathlib import Path
from typing import Final

from ..core.errors import StorageUnavailable

log = logging.getLogger(__name__)

# A name under the media dir: folders and a file of letters, digits, - and _, and .webp. No
# dot anywhere else, so no "..", no hidden file, no absolute path and no other type.
NAME: Final = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*\.webp")


class MediaFiles:
    """The files under one dir, by their names (menu/12-0123456789abcdef.webp)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, data: bytes) -> None:
        """The file whole or not at all: a temporary file beside it, synced, renamed over it
        and the folder synced, so a database row naming it never finds it half written."""
        path = self._path(name)
        if path is None:
            raise ValueError(f"{name!r} is not a media name")
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
            _sync_dir(path.parent)
        except OSError as err:
            with suppress(OSError):  # its folder may be what failed
                temporary.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot write {name}: {err.strerror or err}") from err

    def remove(self, name: str) -> None:
        """Remove the file if it is there; a failure leaves it behind, said in the log (the
        row that named it has already changed)."""
        path = self.find(name)
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("cannot remove %s: %s", path, err.strerror or err)

    def find(self, name: str) -> Path | None:
        """The regular file the name is under the media dir, or None: any other name, a file
        that is not there, and a symbolic link anywhere under the dir (which could lead out of
        it) are all None."""
        path = self._path(name)
        if path is None:
            return None
        step = self.root
        try:
            for part in path.relative_to(self.root).parts:
                step = step / part
                mode = os.lstat(step).st_mode
                if stat.S_ISLNK(mode):
                    return None
        except OSError:
            return None
        return path if stat.S_ISREG(mode) else None

    def _path(self, name: str) -> Path | None:
        return self.root / name if NAME.fullmatch(name) else None


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""tokens.toml without a server (SPEC §10 "Tokens"): the lock every change holds, the atomic
private write, and a reload that keeps the last good tokens when the file is found missing,
empty or unparsable."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from robodyne import tokenfile
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, TokenBook
from robodyne.settings import SettingsError
from robodyne.tokenfile import TokenFile, lock_path, locked_on_loop, read_tokens, write_tokens

CONFIGURED = "config-admin-token-0123"
TABLET = "file-kitchen-token-0123"
OTHER = "file-floor-token-012345"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    made = tmp_path / "tokens.toml"
    write_tokens(made, {TABLET: Grant(Role.KITCHEN)})
    return made


@pytest.fixture
async def watched(path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TokenFile]:
    """A loaded TokenFile whose watch runs every 10 ms."""
    monkeypatch.setattr(tokenfile, "WATCH_EVERY_S", 0.01)
    tokens = TokenFile(path, {CONFIGURED: Grant(Role.ADMIN)}, TokenBook({}))
    tokens.load()
    task = asyncio.create_task(tokens.watch())
    yield tokens
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
def held(path: Path) -> Iterator[int]:
    """The lock, held as another process (`robodyne tokens`) would hold it."""
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield fd
    os.close(fd)


async def _ticks(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0.02)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


@pytest.mark.parametrize(("damage", "said"), [
    (lambda p: p.write_bytes(b""), "no [tokens] table"),
    (lambda p: p.write_text("# nothing here\n"), "no [tokens] table"),
    (lambda p: p.unlink(), "is missing"),
    (lambda p: p.write_text("[tokens\n"), "cannot be used"),
    (lambda p: p.write_bytes(b"[tokens]\n\xff = 1\n"), "cannot be used"),
])
async def test_a_file_found_bad_keeps_the_last_good_tokens_with_one_error(
        watched: TokenFile, path: Path, caplog: pytest.LogCaptureFixture,
        damage: Callable[[Path], object], said: str) -> None:
    damage(path)
    await _ticks()
    assert watched.book.grant(TABLET) == Grant(Role.KITCHEN)
    assert watched.book.grant(CONFIGURED) == Grant(Role.ADMIN)
    errors = _errors(caplog)
    assert len(errors) == 1 and said in errors[0], errors
    # A good file again is read at once.
    write_tokens(path, {OTHER: Grant(Role.FLOOR)})
    await _ticks()
    assert watched.book.grant(TABLET) is None and watched.book.grant(OTHER) is not None


async def test_a_file_that_says_no_tokens_revokes_them(watched: TokenFile, path: Path) -> None:
    write_tokens(path, {})
    await _ticks()
    assert watched.book.grant(TABLET) is None and watched.book.grant(CONFIGURED) is not None


async def test_two_edits_within_one_clock_tick_are_both_seen(
        watched: TokenFile, path: Path) -> None:
    write_tokens(path, {OTHER: Grant(Role.FLOOR)})
    stamp = os.stat(path)
    write_tokens(path, {TABLET: Grant(Role.FLOOR)})  # the same size
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    await _ticks()
    assert watched.book.grant(TABLET) == Grant(Role.FLOOR)


async def test_the_server_adds_nothing_to_a_file_gone_missing(
        watched: TokenFile, path: Path) -> None:
    path.unlink()
    with pytest.raises(SettingsError, match="is missing"):
        await watched.add(OTHER, Grant(Role.FLOOR))
    assert not path.exists() and watched.book.grant(TABLET) is not None


async def test_the_first_file_is_made_by_an_add_and_both_files_are_private(
        tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.toml"
    tokens = TokenFile(path, {}, TokenBook({}))
    tokens.load()
    await tokens.add(TABLET, Grant(Role.KITCHEN))
    assert set(read_tokens(path)) == {TABLET} and tokens.book.grant(TABLET) is not None
    for made in (path, lock_path(path)):
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


async def test_the_server_waits_for_a_held_lock_without_blocking_its_loop(
        path: Path, held: int) -> None:
    entered = asyncio.Event()

    async def change() -> None:
        async with locked_on_loop(path):
            entered.set()
    waiting = asyncio.create_task(change())
    await _ticks()  # the loop runs on while the lock is held
    assert not entered.is_set()
    fcntl.flock(held, fcntl.LOCK_UN)
    await asyncio.wait_for(waiting, 2.0)


async def test_a_lock_held_too_long_is_an_error_and_changes_nothing(
        watched: TokenFile, path: Path, held: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenfile, "LOCK_WAIT_S", 0.05)
    before = path.read_bytes()
    with pytest.raises(SettingsError, match="stayed locked"):
        await watched.add(OTHER, Grant(Role.FLOOR))
    with pytest.raises(SettingsError, match="stayed locked"):
        await watched.revoke("0123456789ab")
    assert path.read_bytes() == before

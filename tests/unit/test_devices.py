"""The devices' tokens without sockets: ids, last use in memory, the listing's rows, created_at
in tokens.toml, and one revocation for the API and the command line."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from robodyne.core.devices import Source, token_rows
from robodyne.core.errors import ConfigToken, NotFound
from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, TokenBook, token_id
from robodyne.settings import SettingsError
from robodyne.tokenfile import TokenFile, add_token, read_tokens, revoke_token, write_tokens

from ..support.clock import Clock

CONFIGURED = "config-admin-token-0123"
PAIRED = "paired-kitchen-token-0123"
BOUND = "bound-robot-token-0123"
MADE = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def test_a_token_id_is_the_first_12_hex_digits_of_its_sha256() -> None:
    assert token_id(PAIRED) == hashlib.sha256(PAIRED.encode()).hexdigest()[:12]
    assert len(token_id(PAIRED)) == 12 and token_id(PAIRED) != token_id(BOUND)


def test_a_use_is_noted_a_plain_lookup_or_an_unknown_token_is_not() -> None:
    clock = Clock(1_700_000_000.0)
    book = TokenBook({PAIRED: Grant(Role.KITCHEN)}, clock)
    assert book.grant(PAIRED) is not None and book.last_seen(PAIRED) is None
    assert book.use(PAIRED) == Grant(Role.KITCHEN) and book.last_seen(PAIRED) == clock.now
    clock.now += 5
    book.use(PAIRED)
    assert book.last_seen(PAIRED) == clock.now
    assert book.use("unknown-token-0123456789") is None and book.use(None) is None
    assert book.last_seen("unknown-token-0123456789") is None


def test_a_removed_tokens_last_use_is_forgotten_with_it() -> None:
    book = TokenBook({PAIRED: Grant(Role.KITCHEN), BOUND: Grant(Role.ROBOT, "r1")}, Clock())
    book.use(PAIRED)
    book.use(BOUND)
    book.replace({BOUND: Grant(Role.ROBOT, "r1")})
    assert book.last_seen(PAIRED) is None and book.last_seen(BOUND) is not None
    book.replace({PAIRED: Grant(Role.KITCHEN)})  # back again: a new token, never seen
    assert book.last_seen(PAIRED) is None


def test_the_rows_name_each_token_by_id_config_first_and_hold_no_token() -> None:
    clock = Clock(datetime(2026, 12, 7, 12, 0, 1, 250000, tzinfo=timezone.utc).timestamp())
    book = TokenBook({PAIRED: Grant(Role.KITCHEN, None, "grill tablet", MADE),
                      BOUND: Grant(Role.ROBOT, "bot-1"),
                      CONFIGURED: Grant(Role.ADMIN)}, clock)
    book.use(PAIRED)
    rows = token_rows(book, {CONFIGURED})
    assert [row.model_dump(mode="json") for row in rows] == [
        {"id": token_id(CONFIGURED), "role": "admin", "label": "", "robot_id": None,
         "source": "config", "created_at": None, "last_seen_at": None},
        {"id": token_id(PAIRED), "role": "kitchen", "label": "grill tablet", "robot_id": None,
         "source": "file", "created_at": "2026-12-01T09:30:00.000Z",
         "last_seen_at": "2026-12-07T12:00:01.250Z"},
        {"id": token_id(BOUND), "role": "robot", "label": "", "robot_id": "bot-1",
         "source": "file", "created_at": None, "last_seen_at": None},
    ]
    dumped = str([row.model_dump(mode="json") for row in rows])
    assert not any(token in dumped for token in (PAIRED, BOUND, CONFIGURED))


def test_created_at_is_kept_in_the_file_and_absent_in_an_older_one(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, {PAIRED: Grant(Role.KITCHEN, None, "pass", MADE),
                        BOUND: Grant(Role.ROBOT, "bot-1", "", MADE)})
    assert "created_at = 2026-12-01T09:30:00.000Z" in path.read_text()
    assert {t: g.created_at for t, g in read_tokens(path).items()} == {PAIRED: MADE, BOUND: MADE}
    path.write_text(f'[tokens]\n"{PAIRED}" = {{ role = "kitchen", label = "pass" }}\n'
                    f'"{BOUND}" = "robot:bot-1"\n')
    assert {t: g.created_at for t, g in read_tokens(path).items()} == {PAIRED: None, BOUND: None}


@pytest.mark.parametrize("value", ['"2026-12-01"', "2026-12-01T09:00:00", "2026-12-01", "1"])
def test_a_created_at_that_is_no_moment_names_the_token_and_what_is_wrong(
        tmp_path: Path, value: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(f'[tokens]\n"{PAIRED}" = {{ role = "kitchen", created_at = {value} }}\n')
    with pytest.raises(SettingsError, match="pair….*created_at must be a date-time"):
        read_tokens(path)


def test_a_token_added_is_made_now(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    before = datetime.now(timezone.utc)
    add_token(path, PAIRED, Grant(Role.KITCHEN, None, "bar"))
    made = read_tokens(path)[PAIRED].created_at
    assert made is not None and before.replace(microsecond=0) <= made <= datetime.now(
        timezone.utc)


def test_a_revocation_removes_what_pick_chooses_and_a_refusal_changes_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, {PAIRED: Grant(Role.KITCHEN, None, "pass", MADE),
                        BOUND: Grant(Role.ROBOT, "bot-1")})
    before = path.read_text()

    def refuse(stored: object) -> str:
        raise NotFound("no")
    with pytest.raises(NotFound):
        revoke_token(path, refuse)
    assert path.read_text() == before
    assert revoke_token(path, lambda stored: PAIRED) == (PAIRED, Grant(Role.KITCHEN, None, "pass"))
    assert list(read_tokens(path)) == [BOUND]


def _file(tmp_path: Path) -> tuple[TokenFile, list[frozenset[str]]]:
    path = tmp_path / "tokens.toml"
    write_tokens(path, {PAIRED: Grant(Role.KITCHEN), CONFIGURED: Grant(Role.FLOOR)})
    tokens = TokenFile(path, {CONFIGURED: Grant(Role.ADMIN)}, TokenBook({}))
    tokens.load()
    heard: list[frozenset[str]] = []
    tokens.book.on_revoke.append(heard.append)
    return tokens, heard


async def test_the_server_revokes_a_file_token_by_id_and_drops_it_at_once(
        tmp_path: Path) -> None:
    tokens, heard = _file(tmp_path)
    assert await tokens.revoke(token_id(PAIRED)) == (PAIRED, Grant(Role.KITCHEN))
    assert heard == [{PAIRED}] and tokens.book.grant(PAIRED) is None
    assert PAIRED not in read_tokens(tokens.path)
    assert [row.source for row in tokens.rows()] == [Source.CONFIG]


async def test_a_config_token_is_a_conflict_even_when_the_file_names_it_too(
        tmp_path: Path) -> None:
    tokens, heard = _file(tmp_path)
    with pytest.raises(ConfigToken, match=r"\[auth.tokens\]"):
        await tokens.revoke(token_id(CONFIGURED))
    with pytest.raises(NotFound):
        await tokens.revoke("0123456789ab")
    assert heard == [] and set(read_tokens(tokens.path)) == {PAIRED, CONFIGURED}

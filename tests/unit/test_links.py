"""Table links in the domain (domain/links.py over a real SQLite file, no sockets): a code per
table, the table a code opens, rotation and its listeners; the url's base (settings)."""

from __future__ import annotations

import asyncio
import base64
import re

import pytest
from pydantic import ValidationError

from robodyne.core.errors import NotFound
from robodyne.core.links import link_url, new_code
from robodyne.domain.links import TableLinks
from robodyne.settings import ServerSettings
from robodyne.store.store import Store

from ..support.domain import Domain

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.fixture
async def links(domain: Domain) -> TableLinks:
    return domain.links  # app.build's, loaded as at start


async def table_id(store: Store, label: str = "T1") -> int:
    return (await store.add_table(label, 4)).id


def test_a_code_is_url_safe_and_holds_at_least_128_random_bits() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    for code in codes:
        assert URL_SAFE.fullmatch(code)
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) >= 16


async def test_a_table_gets_its_code_when_it_is_made_and_keeps_it(
    domain: Domain, links: TableLinks
) -> None:
    first, second = await table_id(domain.store, "T1"), await table_id(domain.store, "T2")
    code = await domain.store.table_link(first)
    assert code is not None and await links.code(first) == code == await links.code(first)
    assert await links.code(second) not in (None, code)
    assert [(table.id, found) for table, found in await links.every()] == [
        (first, code), (second, await links.code(second))]


async def test_a_code_opens_its_table_and_nothing_else_does(
    domain: Domain, links: TableLinks
) -> None:
    made = await table_id(domain.store)
    code = await links.code(made)
    opened = await links.table_for(code)
    assert opened is not None and opened.id == made and opened.label == "T1"
    for other in ("", "x", new_code(), code.upper() if code.upper() != code else code.lower(),
                  code + "A", "' OR 1=1 --", code[:-1]):
        assert await links.table_for(other) is None, other


async def test_rotation_makes_a_new_code_and_the_old_one_opens_nothing_at_once(
    domain: Domain, links: TableLinks
) -> None:
    made = await table_id(domain.store)
    old = await links.code(made)
    heard: list[tuple[int, str]] = []

    async def listener(table: int, code: str) -> None:
        heard.append((table, code))
    with links.on_rotation(listener):
        new = await links.rotate(made)
        assert heard == [(made, old)]
        assert new != old and await links.code(made) == new
        assert await links.table_for(old) is None
        opened = await links.table_for(new)
        assert opened is not None and opened.id == made
        newer = await links.rotate(made)
        assert heard == [(made, old), (made, new)]
    # Each rotation is on the events topic, naming the table and no code.
    rotations = domain.events("table_link_rotated")
    assert [event["data"] for event in rotations] == [{"table_id": made}] * 2
    assert "T1" in rotations[0]["message"]
    assert not any(code in str(rotations) for code in (old, new, newer))
    # The registration ended with the block.
    await links.rotate(made)
    assert heard == [(made, old), (made, new)]
    assert await links.table_for(newer) is None


async def test_two_rotations_at_once_each_end_the_code_the_other_replaced(
    domain: Domain, links: TableLinks
) -> None:
    made = await table_id(domain.store)
    old = await links.code(made)
    heard: list[str] = []

    async def listener(table: int, code: str) -> None:
        heard.append(code)
        await asyncio.sleep(0)
    with links.on_rotation(listener):
        first, second = await asyncio.gather(links.rotate(made), links.rotate(made))
    assert heard == [old, first]
    assert await links.code(made) == second
    assert await links.table_for(first) is None and await links.table_for(old) is None


async def test_an_unknown_table_has_no_link_and_cannot_be_rotated(
    domain: Domain, links: TableLinks
) -> None:
    with pytest.raises(NotFound):
        await links.code(999)
    with pytest.raises(NotFound):
        await links.rotate(999)


async def test_tables_made_before_links_or_by_another_program_get_a_code(
    domain: Domain, links: TableLinks
) -> None:
    async with domain.store.transaction() as db:  # as the last release, or a script, made them
        await db.execute("INSERT INTO dining_tables (id, label, seats, updated_at)"
                         " VALUES (40, 'Old', 2, '2026-01-01T00:00:00Z')")
        await db.execute("INSERT INTO dining_tables (id, label, seats, updated_at)"
                         " VALUES (41, 'Script', 2, '2026-01-01T00:00:00Z')")
    await links.load()  # the start: every table without a code gets one
    old = await domain.store.table_link(40)
    assert old is not None and await domain.store.make_table_links() == 0
    assert await links.code(41) not in (None, old)  # every code its own
    async with domain.store.transaction() as db:  # one more, while the server runs
        await db.execute("INSERT INTO dining_tables (id, label, seats, updated_at)"
                         " VALUES (42, 'Later', 2, '2026-01-01T00:00:00Z')")
    code = await links.code(42)  # made when first asked for
    opened = await links.table_for(code)
    assert opened is not None and opened.label == "Later"


async def test_a_deleted_tables_code_opens_nothing(domain: Domain, links: TableLinks) -> None:
    made = await table_id(domain.store)
    code = await links.code(made)
    async with domain.store.transaction() as db:
        await db.execute("DELETE FROM dining_tables WHERE id = ?", (made,))
    assert await links.table_for(code) is None
    with pytest.raises(NotFound):
        await links.code(made)


async def test_a_table_made_in_a_deleted_tables_place_never_gets_its_old_code(
        domain: Domain, links: TableLinks) -> None:
    made = await table_id(domain.store)
    old = await links.code(made)
    async with domain.store.transaction() as db:  # another program deletes it
        await db.execute("DELETE FROM dining_tables WHERE id = ?", (made,))
    successor = await domain.store.add_table("Successor", 2)
    assert successor.id == made  # SQLite hands the id on
    assert await links.code(successor.id) != old
    assert await links.table_for(old) is None


async def test_printing_the_sheet_writes_nothing_once_every_table_has_its_code(
        domain: Domain, links: TableLinks) -> None:
    await table_id(domain.store)
    await links.every()
    commits: list[float] = []
    domain.store.on_commit.append(commits.append)
    try:
        assert len(await links.every()) == 1
    finally:
        domain.store.on_commit.remove(commits.append)
    assert commits == []  # so a read-only or locked database still prints


async def test_no_table_record_carries_its_code(domain: Domain, links: TableLinks) -> None:
    made = await table_id(domain.store)
    code = await links.code(made)
    table = await domain.store.table(made)
    assert table is not None
    assert code not in str(table.model_dump(mode="json"))
    assert code not in str([t.model_dump(mode="json") for t in await domain.store.tables()])


def test_the_url_is_the_base_then_t_then_the_code() -> None:
    assert link_url("https://robodyne.local", "abc") == "https://robodyne.local/t/abc"
    assert link_url("http://10.0.0.5:8000/guests", "abc") == "http://10.0.0.5:8000/guests/t/abc"


@pytest.mark.parametrize(("given", "kept"), [
    ("", ""),
    ("https://robodyne.local", "https://robodyne.local"),
    ("https://robodyne.local/", "https://robodyne.local"),
    ("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
    ("https://example.com/robodyne//", "https://example.com/robodyne"),
    ("HTTPS://Robodyne.local", "HTTPS://Robodyne.local"),
])
def test_public_url_is_an_http_base_with_its_trailing_slash_dropped(given: str, kept: str) -> None:
    assert ServerSettings(public_url=given).public_url == kept


@pytest.mark.parametrize("given", [
    "robodyne.local", "ftp://robodyne.local", "https://", "https://robodyne.local?x=1",
    "https://robodyne.local/#top", "https://user:pw@robodyne.local", "https://robodyne.local:99999",
    "https://robodyne.local:port", "https://robo dyne.local", "https://robodyne.local/\u00e9",
    "javascript:alert(1)", "/t",
])
def test_public_url_refuses_anything_else(given: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        ServerSettings(public_url=given)
